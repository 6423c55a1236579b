package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/simgate/simgate/store"
)

// backupConfig is the backup: section: the copies serve takes by itself.
type backupConfig struct {
	// Dir holds the nightly copies and the ones taken before a migration;
	// "" is "backups" in the data directory.
	Dir string `yaml:"dir"`
	// At is the local time of day ("03:00") of the daily copy.
	At string `yaml:"at"`
	// Interval, when set, takes a copy every Interval instead of at At.
	Interval time.Duration `yaml:"interval"`
	// Keep is how many copies are kept, the oldest removed first; 0 turns
	// the scheduled copies off.
	Keep int `yaml:"keep"`
}

// Defaults of the backup: section.
const (
	defaultBackupAt   = "03:00"
	defaultBackupKeep = 7
	// premigrateKeep is how many copies taken before a migration are kept.
	premigrateKeep = 3
	// scheduledPrefix starts the names of the scheduled copies.
	scheduledPrefix = "simgate-"
)

func (c backupConfig) validate() error {
	bad := func(field, format string, args ...any) error {
		return &configError{"merged", "backup." + field, fmt.Errorf(format, args...)}
	}
	if c.Keep < 0 {
		return bad("keep", "must not be negative, got %d", c.Keep)
	}
	if c.Interval != 0 && c.Interval < time.Minute {
		return bad("interval", "must be at least 1m, got %s", c.Interval)
	}
	if c.Interval == 0 {
		if _, err := time.Parse("15:04", c.At); err != nil {
			return bad("at", "want a time of day like 03:00, got %q", c.At)
		}
	}
	return nil
}

// dir is where copies go for the data directory data.
func (c backupConfig) dir(data string) string {
	if c.Dir != "" {
		return c.Dir
	}
	return filepath.Join(data, "backups")
}

// next is when the copy after now is due: now+Interval, or the next At in
// now's location (tomorrow's when today's has passed).
func (c backupConfig) next(now time.Time) time.Time {
	if c.Interval > 0 {
		return now.Add(c.Interval)
	}
	at, _ := time.Parse("15:04", c.At) // validated
	t := time.Date(now.Year(), now.Month(), now.Day(), at.Hour(), at.Minute(), 0, 0, now.Location())
	if !t.After(now) {
		t = time.Date(now.Year(), now.Month(), now.Day()+1, at.Hour(), at.Minute(), 0, 0, now.Location())
	}
	return t
}

// backupScheduler takes the scheduled copies while serve runs.
type backupScheduler struct {
	cfg backupConfig
	dir string
	db  *store.Store
	log *slog.Logger
	// written, when set, is told when a copy was written (the metrics).
	written func(time.Time)
}

// Run takes a copy at each due time until ctx ends. A failed copy is
// logged and tried again at the next due time; it does not stop the
// gateway.
func (b *backupScheduler) Run(ctx context.Context) error {
	if b.cfg.Keep == 0 {
		b.log.Info("scheduled backups off (backup.keep is 0)")
		return nil
	}
	b.log.Info("scheduled backups", "dir", b.dir, "next", b.cfg.next(time.Now()).Format(time.RFC3339), "keep", b.cfg.Keep)
	for {
		due := b.cfg.next(time.Now())
		t := time.NewTimer(time.Until(due))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if path, err := b.once(ctx, time.Now()); err != nil {
			b.log.Error("scheduled backup failed", "err", err)
		} else {
			b.log.Info("scheduled backup written", "path", path)
			if b.written != nil {
				b.written(time.Now())
			}
		}
	}
}

// once writes a copy named after now and removes the oldest copies beyond
// Keep (and beyond premigrateKeep of those taken before migrations).
func (b *backupScheduler) once(ctx context.Context, now time.Time) (string, error) {
	path := filepath.Join(b.dir, scheduledPrefix+now.UTC().Format("20060102T150405Z")+".db")
	if err := b.db.Backup(ctx, path); err != nil {
		return "", err
	}
	if err := pruneBackups(b.dir, b.cfg.Keep); err != nil {
		return path, fmt.Errorf("remove old backups: %w", err)
	}
	return path, nil
}

// pruneBackups keeps the newest keep scheduled copies in dir and the
// newest premigrateKeep copies taken before a migration. Names carry their
// time, so they sort by age; other files are left alone.
func pruneBackups(dir string, keep int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var scheduled, premigrate []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case !e.Type().IsRegular() || !strings.HasSuffix(name, ".db"):
		case strings.HasPrefix(name, store.PreMigratePrefix):
			premigrate = append(premigrate, name)
		case strings.HasPrefix(name, scheduledPrefix+"2"): // simgate-<year>…
			scheduled = append(scheduled, name)
		}
	}
	var errs []error
	for _, set := range []struct {
		names []string
		keep  int
	}{{scheduled, keep}, {premigrate, premigrateKeep}} {
		slices.Sort(set.names)
		for len(set.names) > set.keep {
			if err := os.Remove(filepath.Join(dir, set.names[0])); err != nil {
				errs = append(errs, err)
			}
			set.names = set.names[1:]
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}
