package store

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/simgate/simgate/gateway"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// A full disk (SQLITE_FULL) fails a write transaction whole: nothing is
// changed, and the caller learns gateway.ErrStorageFull so that the API can
// say "later" (503) instead of "broken" (500). The store remembers it until
// a write succeeds again, for readiness.

// isFull reports whether err is SQLite's "database or disk is full", or
// ENOSPC from the syncer's fsync (syncer.go).
func isFull(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL || errors.Is(err, syscall.ENOSPC)
}

// noteWrite records the outcome of a write: a full disk sets the flag and
// gains ErrStorageFull in its chain; a success clears it.
func (s *Store) noteWrite(err error) error {
	switch {
	case err == nil:
		s.full.Store(false)
	case isFull(err):
		if !s.full.Swap(true) {
			s.logger.Error("the disk is full: writes fail until space returns", "err", err)
		}
		return fmt.Errorf("%w: %w", gateway.ErrStorageFull, err)
	}
	return err
}

// errProbed ends the probe's transaction: it wrote, and rolls back.
var errProbed = errors.New("write probe done")

// probeBytes is what the probe writes: enough to need new pages (a write
// that fits in free pages proves nothing), rolled back at once.
const probeBytes = 64 << 10

// Writable is nil while the store can write. After a write failed for lack
// of space it tries a write of its own (64 KiB, rolled back), so that
// readiness comes back by itself once space returns.
func (s *Store) Writable(ctx context.Context) error {
	if !s.full.Load() {
		return nil
	}
	err := s.inTx(ctx, func(tx wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('write_probe', printf('%.*c', ?, 'x'))`, probeBytes); err != nil {
			return err
		}
		return errProbed
	})
	if !errors.Is(err, errProbed) {
		return fmt.Errorf("store cannot write: %w", err)
	}
	s.full.Store(false)
	s.logger.Info("the store writes again")
	return nil
}
