package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/simgate/simgate/doctor"
)

// packagedConfig is the config the .deb installs; doctor reads it when it
// is told of no other, so that a plain "simgate doctor" after installing
// checks what the service will run with.
const packagedConfig = "/etc/simgate/simgate.yaml"

// errChecksFailed makes doctor exit 1 after printing its report.
var errChecksFailed = errors.New("some checks failed")

func runDoctor(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "doctor", "[--config FILE] [--data DIR] [--modem PORT]... [--json]")
	file := fs.String("config", "", "YAML configuration file (default $SIMGATE_CONFIG, else "+packagedConfig+" if present)")
	data := fs.String("data", "", "data directory to check (default: the config's)")
	pin := fs.String("pin", "", "SIM PIN, entered once if a SIM asks (default: the config's, $SIMGATE_PIN)")
	asJSON := fs.Bool("json", false, "print JSON")
	timeout := fs.Duration("timeout", 60*time.Second, "give up on the modems after this long")
	debug := fs.Bool("debug", false, "trace raw AT traffic on stderr")
	var modems stringList
	fs.Var(&modems, "modem", "serial port of a modem (repeatable; default: the config's, else discover)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("doctor: unexpected argument %q", pos[0])
	}
	cfg, cfgResult := doctorConfig(e, *file)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["data"] {
		cfg.Data = *data
	}
	if set["pin"] {
		cfg.PIN = *pin
	}
	if set["modem"] {
		cfg.Modems = modems
	}
	rep := doctor.Run(ctx, doctor.Options{
		Ports:          cfg.Modems,
		PIN:            cfg.PIN,
		DataDir:        cfg.Data,
		ServiceUser:    "simgate",
		GatewayRunning: gatewayRunning(cfg.Data),
		Logger:         traceLogger(e.stderr, *debug),
		Timeout:        *timeout,
	})
	rep = doctor.NewReport(append([]doctor.Result{cfgResult}, rep.Checks...))
	if *asJSON {
		if err := writeJSON(e.stdout, rep); err != nil {
			return err
		}
	} else {
		printDoctor(e.stdout, rep)
	}
	if !rep.OK {
		return errChecksFailed
	}
	return nil
}

// doctorConfig loads the config as serve would (file, then SIMGATE_*
// environment) and says whether it is valid; an invalid one leaves the
// defaults for the other checks.
func doctorConfig(e env, file string) (config, doctor.Result) {
	if file == "" {
		file = e.getenv("SIMGATE_CONFIG")
	}
	if file == "" {
		if _, err := os.Stat(packagedConfig); err == nil {
			file = packagedConfig
		}
	}
	cfg := defaultConfig()
	r := doctor.Result{Check: "config", Target: file, Status: doctor.OK, Detail: "valid"}
	if file == "" {
		r.Detail = "no config file: the defaults and SIMGATE_* environment"
	}
	err := func() error {
		if file != "" {
			if err := loadConfigFile(&cfg, file); err != nil {
				return err
			}
		}
		if err := applyEnv(&cfg, e.getenv); err != nil {
			return err
		}
		return cfg.validate()
	}()
	if err != nil {
		cfg = defaultConfig()
		r.Status, r.Detail, r.Fix = doctor.Fail, err.Error(), "correct the setting named above (the example config lists every key)"
		if problems, _ := checkConfigFile(file); file != "" && len(problems) > 0 {
			r.Detail = strings.Join(problems, "; ") // with lines and columns
		}
	}
	return cfg, r
}

// gatewayRunning reports whether a "simgate serve" holds the data
// directory's lock (lock.go), without creating anything.
func gatewayRunning(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "simgate.lock"))
	if err != nil {
		return false
	}
	defer f.Close()
	return errors.Is(syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB), syscall.EWOULDBLOCK)
}

func printDoctor(w io.Writer, rep doctor.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var failed int
	for _, c := range rep.Checks {
		mark := map[doctor.Status]string{doctor.OK: "ok", doctor.Warn: "warn", doctor.Fail: "FAIL", doctor.Skip: "skip"}[c.Status]
		name := c.Check
		if c.Target != "" {
			name += " " + c.Target
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(tw, "\t\tfix: %s\n", c.Fix)
		}
		if c.Status == doctor.Fail {
			failed++
		}
	}
	tw.Flush()
	if failed == 0 {
		fmt.Fprintln(w, "\nall checks passed")
	} else {
		fmt.Fprintf(w, "\n%d check(s) failed\n", failed)
	}
}
