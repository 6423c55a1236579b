package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/dispatch"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/modemdev"
	"github.com/simgate/simgate/otp"
	"github.com/simgate/simgate/session"
	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/web"
	"github.com/simgate/simgate/webhook"
)

// dbFile is the database's name inside the data directory.
const dbFile = "simgate.db"

// simPortPrefix names the in-process virtual modems of --sim among the
// ports: "sim:1" is opened on whatever pty the first virtual modem has now,
// since a replug gives it a new one, like a USB modem re-enumerated.
const simPortPrefix = "sim:"

// demoKeyName is the API key "serve --sim" mints at each start, so that
// "make run" can always print one that works.
const demoKeyName = "sim-demo"

func runServe(ctx context.Context, e env, args []string) error {
	cfg, err := loadConfig(e, args)
	if err != nil {
		return err
	}
	logger := newLogger(e.stderr, cfg.LogLevel)
	return serve(ctx, cfg, logger, e.stdout)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated with the config
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// serve runs the gateway until ctx ends, then shuts it down in order: HTTP,
// dispatcher (the part in flight finishes or its lease is released), modems,
// database (DESIGN.md §1, STYLE.md §6).
func serve(ctx context.Context, cfg config, logger *slog.Logger, stdout io.Writer) error {
	unlock, err := lockDataDir(cfg.Data)
	if err != nil {
		return err
	}
	defer unlock()
	db, err := store.Open(ctx, filepath.Join(cfg.Data, dbFile), logger.With("component", "store"))
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	// Holding the lock, no other gateway is sending: every lease in the
	// database was left by a crash, and its message may go again at once.
	if n, err := db.RecoverLeases(ctx, time.Now()); err != nil {
		return fmt.Errorf("recover leases: %w", err)
	} else if n > 0 {
		logger.Warn("messages were being sent when the gateway stopped; they go again (a part in flight may be sent twice)", "messages", n)
	}

	// OTP texts are sealed in the database under the key file's key; the
	// dispatcher opens them as it claims them (docs/OTP.md).
	otpKey, err := loadOTPKey(cfg.Data)
	if err != nil {
		return err
	}
	sealed := otp.SealedStore(db, otpKey)
	clock := gateway.SystemClock{}
	// Webhooks (DESIGN.md §3): notifier.Run takes the store's event log
	// into the outbox and delivers it.
	notifier := webhook.New(webhook.Config{}, db, clock, logger.With("component", "webhooks"))
	disp := dispatch.New(dispatch.Config{}, sealed, clock, logger.With("component", "dispatcher"))
	svc := gateway.NewService(gateway.ServiceConfig{
		DefaultRegion:   strings.ToUpper(cfg.Region),
		AllowShortCodes: cfg.AllowShortCodes,
		MaxSegments:     cfg.MaxSegments,
		DefaultTTL:      cfg.DefaultTTL,
	}, sealed, disp, clock, logger.With("component", "service"))
	otp, err := newOTP(cfg, otpKey, svc, db, clock, logger.With("component", "otp"))
	if err != nil {
		return err
	}

	modemCfg := modem.Config{PIN: cfg.PIN, Logger: logger.With("component", "modem")}
	open := modemdev.Opener(modemCfg)
	supCfg := session.Config{
		Ports:        cfg.Modems,
		PollInterval: cfg.PollInterval,
		Limits: func(string) gateway.ModemLimits {
			return gateway.ModemLimits{SendInterval: cfg.SendInterval, DailyCap: cfg.DailyCap}
		},
	}
	var sims []*modemsim.Modem
	if cfg.Sim > 0 {
		network := modemsim.NewNetwork(modemsim.WithLogger(logger.With("component", "modemsim")))
		defer network.Close()
		for i := range cfg.Sim {
			m := network.AddModem(modemsim.Config{})
			if _, err := m.OpenPTY(ctx); err != nil {
				return fmt.Errorf("virtual modem %d: %w", i+1, err)
			}
			sims = append(sims, m)
			supCfg.Ports = append(supCfg.Ports, simPortPrefix+strconv.Itoa(i+1))
		}
		open = simOpener(sims, open)
	}
	if len(supCfg.Ports) == 0 {
		supCfg.Discover = func(ctx context.Context, skip func(string) bool) ([]string, error) {
			found, err := modem.DiscoverSkipping(ctx, modemCfg, skip)
			var ports []string
			for _, f := range found {
				ports = append(ports, f.Port)
			}
			return ports, err
		}
	}
	// Status page (issue 5): its password, the registry its modem actions
	// go through, and the page, whose OTP and "Try it" pages use otp.
	devices := session.NewDevices()
	open = devices.Wrap(withUSSD(open))
	ui, err := newStatusPage(ctx, cfg, db, devices, otp, sims, stdout, logger.With("component", "ui"))
	if err != nil {
		return err
	}

	sup := session.New(supCfg, db, disp, open, clock, logger.With("component", "supervisor"))
	srv := web.NewServer(web.Config{MaxBodyBytes: cfg.MaxBodyBytes, UI: ui, OTP: otp, Webhooks: notifier}, svc, logger.With("component", "web"))

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "simgate is listening on %s\n", url)
	if len(sims) > 0 {
		if err := printDemo(ctx, stdout, svc, url, sims); err != nil {
			ln.Close()
			return err
		}
	}
	logger.Info("gateway started", "listen", ln.Addr().String(), "data", cfg.Data, "ports", len(supCfg.Ports), "virtual_modems", len(sims))

	// Modems and dispatcher outlive the HTTP server: they get their own
	// contexts, cancelled in order once it has stopped.
	dispCtx, stopDisp := context.WithCancel(context.WithoutCancel(ctx))
	supCtx, stopSup := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDisp()
	defer stopSup()
	httpCtx, stopHTTP := context.WithCancel(ctx)
	defer stopHTTP()

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	goRun := func(name string, run func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(); err != nil && !errors.Is(err, context.Canceled) {
				errs <- fmt.Errorf("%s: %w", name, err)
				stopHTTP() // one part failing stops the whole gateway
			}
		}()
	}
	dispDone := make(chan struct{})
	supDone := make(chan struct{})
	goRun("dispatcher", func() error { defer close(dispDone); return disp.Run(dispCtx) })
	goRun("supervisor", func() error { defer close(supDone); return sup.Run(supCtx) })
	// The OTP loop watches SMS the dispatcher sends: it lives as long.
	goRun("otp", func() error { return otp.Run(dispCtx) })
	// Webhooks report what the dispatcher does: they live as long too. The
	// events of the final shutdown (modems going offline) stay in the
	// outbox for the next start.
	goRun("webhooks", func() error { return notifier.Run(dispCtx) })
	err = srv.Serve(httpCtx, ln)
	stopHTTP()
	logger.Info("http stopped; stopping the dispatcher")
	stopDisp()
	<-dispDone
	logger.Info("dispatcher stopped; closing the modems")
	stopSup()
	<-supDone
	wg.Wait()
	close(errs)
	for e := range errs {
		err = errors.Join(err, e)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// simOpener opens "sim:N" ports on the current pty of virtual modem N and
// anything else with next.
func simOpener(sims []*modemsim.Modem, next gateway.Opener) gateway.Opener {
	return func(ctx context.Context, port string) (gateway.Device, error) {
		n, ok := strings.CutPrefix(port, simPortPrefix)
		if !ok {
			return next(ctx, port)
		}
		i, err := strconv.Atoi(n)
		if err != nil || i < 1 || i > len(sims) {
			return nil, fmt.Errorf("no virtual modem %q", port)
		}
		path := sims[i-1].Path()
		if path == "" {
			return nil, fmt.Errorf("virtual modem %d is unplugged", i)
		}
		return next(ctx, path)
	}
}

// printDemo tells a newcomer after "make run" how to send a first message:
// a fresh API key (the previous demo key is revoked) and a curl from one
// virtual modem's line to the other's.
func printDemo(ctx context.Context, w io.Writer, svc *gateway.Service, url string, sims []*modemsim.Modem) error {
	keys, err := svc.APIKeys(ctx)
	if err != nil {
		return fmt.Errorf("list api keys: %w", err)
	}
	for _, k := range keys {
		if strings.HasPrefix(k.Name, demoKeyName) && k.RevokedAt.IsZero() {
			if err := svc.RevokeAPIKey(ctx, k.Name); err != nil {
				return fmt.Errorf("revoke old demo key: %w", err)
			}
		}
	}
	name := demoKeyName + "-" + time.Now().UTC().Format("20060102T150405")
	key, _, err := svc.CreateAPIKey(ctx, name, nil)
	if err != nil {
		return fmt.Errorf("create demo key: %w", err)
	}
	from, to := sims[0], sims[len(sims)-1]
	fmt.Fprintf(w, "\nVirtual modems (a message to one of these numbers arrives at that modem):\n")
	for i, m := range sims {
		fmt.Fprintf(w, "  %d. %s  IMEI %s  pty %s\n", i+1, m.Number(), m.IMEI(), m.Path())
	}
	fmt.Fprintf(w, "\nAPI key (shown once, named %q; the next start replaces it):\n  %s\n", name, key)
	fmt.Fprintf(w, "\nSend a message from modem 1's line to modem %d's:\n  curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \\\n    -d '{\"to\":\"%s\",\"modem\":\"%s\",\"text\":\"Hello from simgate\"}' %s/api/v1/messages\n",
		len(sims), key, to.Number(), from.IMEI(), url)
	fmt.Fprintf(w, "Then:\n  curl -s -H 'Authorization: Bearer %s' %s/api/v1/inbox\n  curl -s -H 'Authorization: Bearer %s' %s/api/v1/modems\n\n", key, url, key, url)
	return nil
}

// ensureDataDir is used by the commands that open the database directly.
func ensureDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	return nil
}
