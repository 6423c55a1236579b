package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// t0 is the tests' epoch; every time is derived from it.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// mustOpen opens a new empty store: a SQLite file, or a PostgreSQL schema
// in the contract suite's run on PostgreSQL (contract_test.go).
func mustOpen(t testing.TB) *Store {
	t.Helper()
	if onPostgres(t) {
		return mustOpenPath(t, pg.Schema(t))
	}
	return mustOpenPath(t, filepath.Join(t.TempDir(), "data", "simgate.db"))
}

func mustOpenPath(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// newMessage is a queued single-part message created at t0+age.
func newMessage(id string, age time.Duration) *gateway.Message {
	return &gateway.Message{
		ID:           id,
		To:           "+14155550101",
		Text:         "hello " + id,
		Encoding:     "gsm7",
		Segments:     1,
		Priority:     gateway.PriorityNormal,
		StatusReport: true,
		ConcatRef:    7,
		APIKey:       "app",
		CreatedAt:    t0.Add(age),
	}
}

func mustCreate(t testing.TB, s *Store, m *gateway.Message) *gateway.Message {
	t.Helper()
	got, replayed, err := s.CreateMessage(t.Context(), m, gateway.IdempotencyKey{})
	if err != nil {
		t.Fatalf("CreateMessage(%s): %v", m.ID, err)
	}
	if replayed {
		t.Fatalf("CreateMessage(%s) replayed without a key", m.ID)
	}
	return got
}

func mustClaim(t testing.TB, s *Store, modem string, now time.Time) *gateway.Message {
	t.Helper()
	m, err := s.ClaimNext(t.Context(), gateway.Claim{Modem: modem, Now: now, Lease: time.Minute})
	if err != nil {
		t.Fatalf("ClaimNext(%s): %v", modem, err)
	}
	return m
}

func mustMessage(t testing.TB, s *Store, id string) *gateway.Message {
	t.Helper()
	m, err := s.Message(t.Context(), id)
	if err != nil {
		t.Fatalf("Message(%s): %v", id, err)
	}
	return m
}

// claimedID is the claimed message's ID, or "" for none.
func claimedID(m *gateway.Message) string {
	if m == nil {
		return ""
	}
	return m.ID
}

func wantErr(t testing.TB, op string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", op, err, target)
	}
}

// mustFill inserts n queued single-part messages msgID(first)… pinned to
// pin, one millisecond apart, in one transaction: quicker than CreateMessage
// for the large queues of plan checks and benchmarks.
func mustFill(t testing.TB, s *Store, first, n int, pin string) {
	t.Helper()
	err := s.inTx(t.Context(), func(tx wtx) error {
		msg, err := tx.PrepareContext(t.Context(), `INSERT INTO messages (id, recipient, body, encoding,
			segments, priority, pin, status_report, status, concat_ref, created_at)
			VALUES (?, '+14155550101', 'hello', 'gsm7', 1, 1, ?, 1, 'queued', 0, ?)`)
		if err != nil {
			return err
		}
		part, err := tx.PrepareContext(t.Context(), `INSERT INTO parts (message_id, idx, status) VALUES (?, 1, 'queued')`)
		if err != nil {
			return err
		}
		for i := first; i < first+n; i++ {
			if _, err := msg.ExecContext(t.Context(), msgID(i), pin, fmtTime(t0.Add(time.Duration(i)*time.Millisecond))); err != nil {
				return err
			}
			if _, err := part.ExecContext(t.Context(), msgID(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("fill %d messages: %v", n, err)
	}
}

func msgID(i int) string { return fmt.Sprintf("msg_%06d", i) }
