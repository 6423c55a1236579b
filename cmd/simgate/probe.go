package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/simgate/simgate/modem"
)

// probeJSON is "simgate probe --json" output; names follow DESIGN.md §3.
type probeJSON struct {
	Port         string       `json:"port"`
	Manufacturer string       `json:"manufacturer"`
	Model        string       `json:"model"`
	Revision     string       `json:"revision"`
	IMEI         string       `json:"imei"`
	IMSI         string       `json:"imsi"`
	ICCID        string       `json:"iccid"`
	Number       string       `json:"number,omitempty"`
	SMSC         string       `json:"smsc,omitempty"`
	Operator     string       `json:"operator"`
	Tech         string       `json:"tech,omitempty"`
	Registration string       `json:"registration"`
	Roaming      bool         `json:"roaming"`
	Signal       signalJSON   `json:"signal"`
	Errors       []probeError `json:"errors,omitempty"`
}

type signalJSON struct {
	CSQ  int  `json:"csq"`
	DBM  *int `json:"dbm"`
	Bars int  `json:"bars"`
}

// probeError records a query the modem refused; probe goes on with the rest,
// since an admin debugging a modem wants everything that can be learned.
type probeError struct {
	Query string `json:"query"`
	Error string `json:"error"`
}

func runProbe(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "probe", "PORT [--json] [--pin PIN]")
	asJSON := fs.Bool("json", false, "print JSON")
	pin := fs.String("pin", "", "SIM PIN, if the SIM asks for one (default $SIMGATE_PIN)")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long")
	debug := fs.Bool("debug", false, "trace raw AT traffic on stderr")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("probe: want exactly one PORT")
	}
	if *pin == "" {
		*pin = e.getenv("SIMGATE_PIN")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	m, err := modem.Open(ctx, pos[0], modem.Config{PIN: *pin, Logger: traceLogger(e.stderr, *debug)})
	if err != nil {
		return fmt.Errorf("open %s: %w", pos[0], err)
	}
	defer m.Close()
	if err := m.Init(ctx); err != nil {
		if errors.Is(err, modem.ErrPINRequired) {
			return fmt.Errorf("init %s: the SIM asks for a PIN; pass --pin or set SIMGATE_PIN: %w", pos[0], err)
		}
		return fmt.Errorf("init %s: %w", pos[0], err)
	}
	out := probe(ctx, m)
	out.Port = pos[0]
	if *asJSON {
		return writeJSON(e.stdout, out)
	}
	printProbe(e.stdout, out)
	return nil
}

// probe asks an initialised modem everything probe prints.
func probe(ctx context.Context, m *modem.Modem) probeJSON {
	var out probeJSON
	fail := func(query string, err error) {
		out.Errors = append(out.Errors, probeError{Query: query, Error: err.Error()})
	}
	if id, err := m.Identity(ctx); err != nil {
		fail("identity", err)
	} else {
		out.Manufacturer, out.Model, out.Revision = id.Manufacturer, id.Model, id.Revision
		out.IMEI, out.IMSI, out.ICCID, out.Number = id.IMEI, id.IMSI, id.ICCID, id.Number
	}
	if r, err := m.Registration(ctx); err != nil {
		fail("registration", err)
	} else {
		out.Registration, out.Roaming = string(r.State), r.Roaming
	}
	if op, err := m.Operator(ctx); err != nil {
		fail("operator", err)
	} else {
		out.Operator, out.Tech = op.Name, op.Tech
	}
	if s, err := m.Signal(ctx); err != nil {
		fail("signal", err)
	} else {
		out.Signal = signalJSON{CSQ: s.CSQ, Bars: s.Bars}
		if s.Known {
			dbm := s.DBM
			out.Signal.DBM = &dbm
		}
	}
	if smsc, err := m.SMSC(ctx); err != nil {
		fail("smsc", err)
	} else {
		out.SMSC = smsc
	}
	return out
}

func printProbe(w io.Writer, p probeJSON) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\n", k, v)
	}
	row("port", p.Port)
	row("manufacturer", p.Manufacturer)
	row("model", p.Model)
	row("revision", p.Revision)
	row("imei", p.IMEI)
	row("imsi", p.IMSI)
	row("iccid", p.ICCID)
	row("number", p.Number)
	row("smsc", p.SMSC)
	op := p.Operator
	if p.Tech != "" {
		op += " (" + p.Tech + ")"
	}
	row("operator", op)
	reg := p.Registration
	if p.Roaming {
		reg += ", roaming"
	}
	row("registration", reg)
	sig := fmt.Sprintf("%d/4 bars, csq %d", p.Signal.Bars, p.Signal.CSQ)
	if p.Signal.DBM != nil {
		sig = fmt.Sprintf("%d/4 bars, %d dBm (csq %d)", p.Signal.Bars, *p.Signal.DBM, p.Signal.CSQ)
	}
	row("signal", sig)
	for _, e := range p.Errors {
		row("error", e.Query+": "+e.Error)
	}
	tw.Flush()
}

// traceLogger returns a logger that shows the modem's raw traffic on w when
// debug is set, and discards everything otherwise.
func traceLogger(w io.Writer, debug bool) *slog.Logger {
	if !debug {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
