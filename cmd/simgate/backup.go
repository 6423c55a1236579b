package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/simgate/simgate/store"
)

// runBackup is "simgate backup --to FILE": a consistent copy of the
// database, taken online. It reads the database file directly (SQLite's
// VACUUM INTO in one read transaction), beside a running gateway or with
// none: WAL lets a reader in another process see one committed state while
// the gateway goes on writing, so it needs neither the data directory's
// lock nor the gateway's API.
func runBackup(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "backup", "[--data DIR] --to FILE")
	data := fs.String("data", "", "data directory (default $SIMGATE_DATA or ./data)")
	to := fs.String("to", "", "the backup file to write (must not exist)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("backup: unexpected argument %q", pos[0])
	}
	if *to == "" {
		return usagef("backup: --to FILE is required")
	}
	dir := dataDirFlag(e, *data)
	src := filepath.Join(dir, dbFile)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("backup: no database in %s: %w", dir, err)
	}
	if err := store.BackupFile(ctx, src, *to); err != nil {
		return err
	}
	info, err := store.CheckBackup(ctx, *to)
	if err != nil {
		return fmt.Errorf("backup written to %s but it does not check: %w", *to, err)
	}
	fmt.Fprintf(e.stdout, "backup written to %s (schema %s)\n", *to, info.Version)
	fmt.Fprintf(e.stdout, "keep %s with it: the OTP key is not in the database\n", filepath.Join(dir, otpKeyFile))
	return nil
}

// runRestore is "simgate restore FILE": it checks FILE (integrity_check, a
// simgate database, not newer than this binary), refuses while a gateway
// holds the data directory, keeps the database it replaces beside it and
// puts FILE in its place. The next "simgate serve" migrates it if it is
// older.
func runRestore(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "restore", "[--data DIR] FILE")
	data := fs.String("data", "", "data directory (default $SIMGATE_DATA or ./data)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("restore: want one backup FILE")
	}
	file, dir := pos[0], dataDirFlag(e, *data)
	info, err := store.CheckBackup(ctx, file)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	unlock, err := lockDataDir(dir)
	if err != nil {
		return fmt.Errorf("restore: %w; stop it first", err)
	}
	defer unlock()
	aside, err := restoreFile(file, filepath.Join(dir, dbFile), time.Now())
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(e.stdout, "restored %s into %s (schema %s", file, dir, info.Version)
	if info.Pending > 0 {
		fmt.Fprintf(e.stdout, "; the next start applies %d migrations", info.Pending)
	}
	fmt.Fprintln(e.stdout, ")")
	if aside != "" {
		fmt.Fprintf(e.stdout, "the database it replaced is kept as %s\n", aside)
	}
	return nil
}

// dataDirFlag is the data directory: the flag, else $SIMGATE_DATA, else
// the default.
func dataDirFlag(e env, flag string) string {
	if flag != "" {
		return flag
	}
	if d := e.getenv("SIMGATE_DATA"); d != "" {
		return d
	}
	return defaultConfig().Data
}

// restoreFile moves the database at db (with its -wal and -shm, so that it
// stays whole) aside, under a name with the time, and copies src in its
// place: written to a temporary file, synced, then renamed. When the copy
// fails the old database is put back. It returns the aside name, "" when
// there was no database.
func restoreFile(src, db string, now time.Time) (aside string, err error) {
	if err := ensureDataDir(filepath.Dir(db)); err != nil {
		return "", err
	}
	tmp, err := copyToTemp(src, filepath.Dir(db))
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp)
	if _, err := os.Stat(db); err == nil {
		aside = db + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		if err := moveDB(db, aside); err != nil {
			return "", err
		}
	}
	if err := os.Rename(tmp, db); err != nil {
		if aside != "" {
			err = errors.Join(err, moveDB(aside, db))
		}
		return "", err
	}
	return aside, syncDir(filepath.Dir(db))
}

// moveDB renames a database and its -wal and -shm files.
func moveDB(from, to string) error {
	for _, suffix := range []string{"-wal", "-shm", ""} { // the main file last: it names the set
		if err := os.Rename(from+suffix, to+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// copyToTemp copies src into a new 0600 file in dir and syncs it.
func copyToTemp(src, dir string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, ".simgate-restore-*.tmp")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if err = errors.Join(err, out.Close()); err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
