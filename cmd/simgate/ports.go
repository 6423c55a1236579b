package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/simgate/simgate/modem"
)

func runPorts(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "ports", "[--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("ports: unexpected argument %q", pos[0])
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	found, err := modem.Discover(ctx, modem.Config{})
	if err != nil {
		return fmt.Errorf("discover: %w", err)
	}
	if *asJSON {
		if found == nil {
			found = []modem.Found{}
		}
		return writeJSON(e.stdout, found)
	}
	if len(found) == 0 {
		fmt.Fprintln(e.stdout, "no modem answered AT on any serial port")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tUSB\tMANUFACTURER\tMODEL\tIMEI")
	for _, f := range found {
		usb := "-"
		if f.VID != "" {
			usb = f.VID + ":" + f.PID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Port, usb, f.Manufacturer, f.Model, f.IMEI)
	}
	return tw.Flush()
}
