package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// TestDiskFull: a database that cannot grow (max_page_count, SQLite's own
// "database or disk is full") refuses a write whole with ErrStorageFull,
// changes nothing, is reported not writable, and writes again by itself
// once it may grow; the integrity check stays ok.
func TestDiskFull(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	var pages int
	if err := s.w.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	var failed string
	for i := range 5000 {
		m := newMessage(fmt.Sprintf("msg_full%05d", i), time.Duration(i)*time.Millisecond)
		m.Text = fmt.Sprintf("%0400d", i) // fill pages quickly
		if _, _, err := s.CreateMessage(ctx, m, gateway.IdempotencyKey{}); err != nil {
			if !errors.Is(err, gateway.ErrStorageFull) {
				t.Fatalf("CreateMessage on a full disk: %v, want ErrStorageFull", err)
			}
			failed = m.ID
			break
		}
	}
	if failed == "" {
		t.Fatal("the database never filled up")
	}
	if _, err := s.Message(ctx, failed); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("the refused message was stored anyway: %v", err)
	}
	if err := s.Writable(ctx); !errors.Is(err, gateway.ErrStorageFull) {
		t.Errorf("Writable on a full disk = %v, want ErrStorageFull", err)
	}

	if _, err := s.w.ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	if err := s.Writable(ctx); err != nil {
		t.Errorf("Writable once space returned = %v, want nil", err)
	}
	mustCreate(t, s, newMessage(failed, time.Hour))
	var ok string
	if err := s.w.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Errorf("integrity_check = %q, %v", ok, err)
	}
}
