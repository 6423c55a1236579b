package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/simgate/simgate/doctor"
	"github.com/simgate/simgate/modem"
)

// runUdevRules prints udev rules: ModemManager ignores the known modem
// vendors, and each modem attached now (discovered, or named with --modem)
// gets a stable name under /dev/simgate/ by USB serial and interface.
func runUdevRules(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "udev-rules", "[--modem PORT]...")
	timeout := fs.Duration("timeout", 30*time.Second, "give up discovering after this long")
	var modems stringList
	fs.Var(&modems, "modem", "AT port of a modem (repeatable; default: discover)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("udev-rules: unexpected argument %q", pos[0])
	}
	labels := map[string]string{}
	ports := []string(modems)
	if len(ports) == 0 {
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		found, err := modem.Discover(ctx, modem.Config{})
		if err != nil {
			return fmt.Errorf("discover: %w", err)
		}
		for _, f := range found {
			if f.Port != "" {
				ports = append(ports, f.Port)
				labels[f.Port] = strings.TrimSpace(f.Manufacturer + " " + f.Model)
			}
		}
	}
	var attached []doctor.AttachedPort
	for _, p := range ports {
		a, err := doctor.DescribePort(doctor.Roots{}, p, labels[p])
		if err != nil {
			fmt.Fprintf(e.stderr, "simgate udev-rules: skipping %s: %v\n", p, err)
			continue
		}
		attached = append(attached, a)
	}
	return doctor.WriteUdevRules(e.stdout, attached)
}
