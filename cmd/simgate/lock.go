package main

import (
	"errors"
	"fmt"
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
