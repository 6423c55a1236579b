package main

import (
	"context"
	"fmt"
	"time"

	"github.com/simgate/simgate/modem/modemsim"
)

func runSim(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "sim", "[--count N]")
	count := fs.Int("count", 2, "number of virtual modems")
	latency := fs.Duration("latency", 0, "delay before each +CMGS answer, as a real network takes")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("sim: unexpected argument %q", pos[0])
	}
	if *latency < 0 {
		return usagef("sim: --latency must not be negative")
	}
	if *count < 1 || *count > 64 {
		return usagef("sim: --count must be within 1–64")
	}
	net := modemsim.NewNetwork()
	defer net.Close()
	var modems []*modemsim.Modem
	for range *count {
		m := net.AddModem(modemsim.Config{})
		m.SetSendLatency(*latency)
		path, err := m.OpenPTY(ctx)
		if err != nil {
			return fmt.Errorf("open pty: %w", err)
		}
		modems = append(modems, m)
		// stdout carries only the paths, one per line, so scripts can read them.
		fmt.Fprintln(e.stdout, path)
	}
	for i, m := range modems {
		fmt.Fprintf(e.stderr, "virtual modem %d: %s  number %s  IMEI %s\n", i+1, m.Path(), m.Number(), m.IMEI())
	}
	fmt.Fprintf(e.stderr, "\nTry:\n  simgate probe %s\n  simgate at %s\n", modems[0].Path(), modems[0].Path())
	if len(modems) > 1 {
		fmt.Fprintf(e.stderr, "A message from one virtual modem to %s arrives at modem 2.\n", modems[1].Number())
	}
	fmt.Fprintf(e.stderr, "Press Ctrl-C to stop.\n\n")
	return watchRecords(ctx, e, net)
}

// watchRecords prints each message the virtual network accepts until ctx ends.
func watchRecords(ctx context.Context, e env, net *modemsim.Network) error {
	seen := 0
	for {
		recs, err := net.WaitRecords(ctx, seen+1)
		if err != nil {
			return nil // ctx ended: the user pressed Ctrl-C
		}
		for _, r := range recs[seen:] {
			part := ""
			if r.Total > 1 {
				part = fmt.Sprintf(" part %d/%d", r.Part, r.Total)
			}
			fmt.Fprintf(e.stderr, "%s  %s -> %s  mr %d%s  %s: %q\n",
				r.At.Format(time.TimeOnly), r.From, r.To, r.MR, part, r.Encoding, r.Text)
		}
		seen = len(recs)
	}
}
