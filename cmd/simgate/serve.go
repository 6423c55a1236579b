package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem/modemsim"
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

// serve runs the gateway until ctx ends: it builds the app from cfg and
// runs it (app.go is the composition root).
func serve(ctx context.Context, cfg config, logger *slog.Logger, stdout io.Writer) error {
	a, err := newApp(ctx, cfg, logger, stdout)
	if err != nil {
		return err
	}
	defer a.close()
	return a.run(ctx, stdout)
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
