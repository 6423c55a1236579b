package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modemdev"
)

// runUSSD is "simgate ussd PORT CODE [--json]": a USSD code on a port
// directly (the gateway stopped, or a port it does not use), as "gammu
// getussd" does. The reply is decoded like the gateway decodes it; the
// JSON is the API's {code, reply, status}.
func runUSSD(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "ussd", "PORT CODE [--json] [--pin PIN]")
	asJSON := fs.Bool("json", false, "print JSON: {code, reply, status}")
	pin := fs.String("pin", "", "SIM PIN, if the SIM asks for one (default $SIMGATE_PIN)")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long (the network's answer included)")
	debug := fs.Bool("debug", false, "trace raw AT traffic on stderr")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fs.Usage()
		return usagef("ussd: want a PORT and a CODE, such as: simgate ussd /dev/ttyUSB2 '*100#'")
	}
	port, code := pos[0], pos[1]
	if err := gateway.CheckUSSDCode(code); err != nil {
		return usagef("ussd: %v", err)
	}
	if *pin == "" {
		*pin = e.getenv("SIMGATE_PIN")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	m, err := modem.Open(ctx, port, modem.Config{PIN: *pin, Logger: traceLogger(e.stderr, *debug)})
	if err != nil {
		return fmt.Errorf("open %s: %w", port, err)
	}
	defer m.Close()
	if err := m.Init(ctx); err != nil {
		if errors.Is(err, modem.ErrPINRequired) {
			return fmt.Errorf("init %s: the SIM asks for a PIN; pass --pin or set SIMGATE_PIN: %w", port, err)
		}
		return fmt.Errorf("init %s: %w", port, err)
	}
	r, err := modemdev.New(m).USSD(ctx, code)
	if err != nil {
		return fmt.Errorf("ussd %s on %s: %w", code, port, err)
	}
	out := apiv1.USSDReply{Code: code, Reply: r.Text, Status: string(r.Status)}
	if *asJSON {
		return writeJSON(e.stdout, out)
	}
	fmt.Fprintln(e.stdout, out.Reply)
	switch r.Status {
	case gateway.USSDMore:
		fmt.Fprintf(e.stderr, "The network waits for an answer: simgate ussd %s CHOICE\n", port)
	case gateway.USSDEnded:
		fmt.Fprintln(e.stderr, "The network ended the session.")
	}
	return nil
}
