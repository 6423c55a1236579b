package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/simgate/simgate/store"
)

// runMigrate is "simgate migrate --from sqlite:DIR --to postgres://…": it
// moves an installation from its SQLite database to a PostgreSQL one that
// several gateway hosts can share — queued messages, pending
// verifications, keys, the inbox, webhooks, the event log — in one
// transaction, and refuses a target that holds anything. The gateway must
// be stopped: the data directory's lock is taken for the copy.
func runMigrate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "migrate", "--from sqlite:DIR --to postgres://…")
	from := fs.String("from", "", "the installation to move: sqlite:DIR (its data directory)")
	to := fs.String("to", "", "the PostgreSQL database to fill: postgres://user@host/db (must be empty)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("migrate: unexpected argument %q", pos[0])
	}
	dir, ok := strings.CutPrefix(*from, "sqlite:")
	if !ok || dir == "" {
		return usagef("migrate: --from sqlite:DIR is required (the data directory of the SQLite installation)")
	}
	if !store.IsPostgresURL(*to) {
		return usagef("migrate: --to postgres://… is required")
	}
	unlock, err := lockDataDir(dir)
	if err != nil {
		return fmt.Errorf("migrate: %w (stop the gateway first)", err)
	}
	defer unlock()
	src, err := store.Open(ctx, filepath.Join(dir, dbFile), nil)
	if err != nil {
		return fmt.Errorf("migrate: open %s: %w", dir, err)
	}
	defer src.Close()
	dst, err := store.Open(ctx, *to, nil)
	if err != nil {
		return fmt.Errorf("migrate: open %s: %w", redactURL(*to), err)
	}
	defer dst.Close()
	counts, err := store.CopyTo(ctx, src, dst)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tables := make([]string, 0, len(counts))
	for t := range counts {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		fmt.Fprintf(e.stdout, "%-22s %d rows\n", t, counts[t])
	}
	fmt.Fprintf(e.stdout, "moved %s to %s\n", dir, redactURL(*to))
	fmt.Fprintf(e.stdout, "copy %s (and %s.previous, if any) into the data directory of every host: "+
		"OTP codes and webhook secrets are sealed under it\n", otpKeyFile, otpKeyFile)
	fmt.Fprintf(e.stdout, "then start each host with database: %s\n", redactURL(*to))
	return nil
}
