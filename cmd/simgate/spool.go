package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/hooks"
	"github.com/simgate/simgate/spool"
	"github.com/simgate/simgate/store"
)

// spoolConfig is the spool: section: smstools' spool directories, off
// unless dir or outgoing is set. Under dir: outgoing, checked, sent,
// failed and incoming, as smstools lays out /var/spool/sms; each can be
// set on its own.
type spoolConfig struct {
	Dir      string        `yaml:"dir"`
	Outgoing string        `yaml:"outgoing"`
	Checked  string        `yaml:"checked"`
	Sent     string        `yaml:"sent"`
	Failed   string        `yaml:"failed"`
	Incoming string        `yaml:"incoming"`
	Poll     time.Duration `yaml:"poll"`
	Settle   time.Duration `yaml:"settle"`
}

func (c spoolConfig) enabled() bool { return c.Dir != "" || c.Outgoing != "" }

// spool fills each directory not set from dir.
func (c spoolConfig) spool() spool.Config {
	under := func(v, name string) string {
		if v == "" && c.Dir != "" {
			return filepath.Join(c.Dir, name)
		}
		return v
	}
	return spool.Config{Outgoing: under(c.Outgoing, "outgoing"), Checked: under(c.Checked, "checked"),
		Sent: under(c.Sent, "sent"), Failed: under(c.Failed, "failed"), Incoming: under(c.Incoming, "incoming"),
		Poll: c.Poll, Settle: c.Settle}
}

func (c spoolConfig) validate() error {
	if !c.enabled() {
		return nil
	}
	s := c.spool()
	if s.Checked == "" || s.Sent == "" || s.Failed == "" {
		return &configError{"merged", "spool", fmt.Errorf("without dir, set outgoing, checked, sent and failed")}
	}
	if c.Poll < 0 || c.Poll > time.Hour {
		return &configError{"merged", "spool.poll", fmt.Errorf("must be within 0–1h, got %v", c.Poll)}
	}
	return nil
}

// hooksConfig is the hooks: section: a program, with its arguments, per
// event.
type hooksConfig struct {
	Received    []string      `yaml:"received"`
	Sent        []string      `yaml:"sent"`
	Failed      []string      `yaml:"failed"`
	Report      []string      `yaml:"report"`
	Timeout     time.Duration `yaml:"timeout"`
	Concurrency int           `yaml:"concurrency"`
	// env is what every program starts with: PATH, HOME, LANG and TZ of
	// the gateway's environment (set by loadConfig).
	env []string
}

// hookEnv takes the variables a hook program inherits.
func hookEnv(getenv func(string) string) []string {
	var env []string
	for _, name := range []string{"PATH", "HOME", "LANG", "TZ"} {
		if v := getenv(name); v != "" {
			env = append(env, name+"="+v)
		}
	}
	return env
}

func (c hooksConfig) programs() map[string][]string {
	p := map[string][]string{}
	for kind, argv := range map[string][]string{hooks.Received: c.Received, hooks.Sent: c.Sent, hooks.Failed: c.Failed, hooks.Report: c.Report} {
		if len(argv) > 0 {
			p[kind] = argv
		}
	}
	return p
}

func (c hooksConfig) validate() error {
	for kind, argv := range c.programs() {
		if !filepath.IsAbs(argv[0]) {
			return &configError{"merged", "hooks." + kind, fmt.Errorf("the program must be an absolute path (no shell runs it), got %q", argv[0])}
		}
	}
	if c.Timeout < 0 || c.Concurrency < 0 || c.Concurrency > 64 {
		return &configError{"merged", "hooks", fmt.Errorf("timeout must not be negative and concurrency within 0–64")}
	}
	return nil
}

// buildSpoolAndHooks builds the spool and the hooks when configured. A
// consumer no longer configured has its cursor dropped, so that it does
// not hold back the pruning of the event log.
func (a *app) buildSpoolAndHooks(ctx context.Context, cfg config) error {
	if cfg.Spool.enabled() {
		sp, err := spool.New(cfg.Spool.spool(), a.svc, a.db, gateway.SystemClock{}, a.log.With("component", "spool"))
		if err != nil {
			return err
		}
		a.spool = sp
	} else if err := a.db.DropEventCursor(ctx, spool.Consumer); err != nil {
		return err
	}
	programs := cfg.Hooks.programs()
	if len(programs) == 0 {
		return a.db.DropEventCursor(ctx, hooks.Consumer)
	}
	h, err := hooks.New(hooks.Config{Programs: programs, Timeout: cfg.Hooks.Timeout, Concurrency: cfg.Hooks.Concurrency, Env: cfg.Hooks.env},
		a.db, a.log.With("component", "hooks"))
	if err != nil {
		return err
	}
	a.hooks = h
	registerHookCounts(a.registry, h)
	return nil
}

// registerHookCounts puts the hooks' counts on /metrics as
// simgate_hook_runs_total{result}.
func registerHookCounts(reg *prometheus.Registry, h *hooks.Hooks) {
	results := map[string]func(hooks.Counts) int64{
		"ok": func(c hooks.Counts) int64 { return c.OK }, "failed": func(c hooks.Counts) int64 { return c.Failed },
		"timeout": func(c hooks.Counts) int64 { return c.TimedOut },
	}
	names := make([]string, 0, len(results))
	for n := range results {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		get := results[n]
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "simgate_hook_runs_total", Help: "Hook programs run, by how they ended.", ConstLabels: prometheus.Labels{"result": n},
		}, func() float64 { return float64(get(h.Counts())) }))
	}
}

var _ spool.Store = (*store.Store)(nil)
var _ hooks.Log = (*store.Store)(nil)
