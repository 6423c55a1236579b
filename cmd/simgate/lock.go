package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir takes an exclusive lock on dir for the life of the process.
// One gateway per data directory is what makes it safe to treat every lease
// found at start-up as left by a crash.
func lockDataDir(dir string) (release func(), err error) {
	if err := ensureDataDir(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "simgate.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another simgate serve is using %s", dir)
		}
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	// The lock goes with the descriptor: a SIGKILLed gateway leaves none.
	return func() { f.Close() }, nil
}

// tightenDataDir makes the data directory 0700 and the files directly in it
// 0600 when they are looser (a directory made by hand, an unpacked backup):
// they hold phone numbers, message texts, key hashes and the OTP key. Each
// change is logged as a warning; one that fails is logged too, not fatal.
func tightenDataDir(dir string, logger *slog.Logger) {
	tighten := func(path string, want os.FileMode) {
		info, err := os.Lstat(path)
		if err != nil || info.Mode()&os.ModeSymlink != 0 || info.Mode().Perm()&^want == 0 {
			return
		}
		if err := os.Chmod(path, want); err != nil {
			logger.Warn("data dir: cannot tighten permissions", "path", path, "err", err)
			return
		}
		logger.Warn("data dir: permissions tightened", "path", path,
			"was", fmt.Sprintf("%04o", info.Mode().Perm()), "now", fmt.Sprintf("%04o", want))
	}
	tighten(dir, 0o700)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			tighten(filepath.Join(dir, e.Name()), 0o600)
		}
	}
}
