package dispatch_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/dispatch"
	"github.com/simgate/simgate/gateway"
)

// A worker records a message's last part while it claims the next one
// (worker.recordLast): these tests hold that record back, or fail it, and
// check that the next message still goes out only after it.

// recordStore is the store as the dispatcher sees it, but for LastPartSent,
// which waits for gate (when set) and then fails while fail > 0.
type recordStore struct {
	dispatch.Store
	gate  chan struct{}
	fail  atomic.Int32
	calls atomic.Int32
}

func (s *recordStore) LastPartSent(ctx context.Context, id string, part int, modem string, mr int, now time.Time) error {
	s.calls.Add(1)
	if s.gate != nil {
		<-s.gate
	}
	if s.fail.Add(-1) >= 0 {
		return errors.New("disk I/O error")
	}
	return s.Store.LastPartSent(ctx, id, part, modem, mr, now)
}

func TestDispatcher_NextSendWaitsForTheRecord(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs := &recordStore{gate: make(chan struct{})}
		r := newRig(t, rigOptions{wrap: func(s dispatch.Store) dispatch.Store { rs.Store = s; return rs }})
		m1 := r.send(gateway.SendRequest{To: numOK, Text: "first"})
		m2 := r.send(gateway.SendRequest{To: numOK2, Text: "second"})
		a := newSendDev(imeiA)
		r.addModem(a, gateway.ModemLimits{})
		time.Sleep(time.Minute) // the record of m1 is held the while
		synctest.Wait()
		if n := len(a.Calls()); n != 1 {
			t.Fatalf("%d sends while the first message's record was not committed, want 1", n)
		}
		if got := r.message(m2.ID); got.Status != gateway.StatusSending {
			t.Errorf("second message %s, want sending (claimed alongside the record)", got.Status)
		}
		close(rs.gate)
		synctest.Wait()
		for _, m := range []*gateway.Message{m1, m2} {
			if got := r.message(m.ID); got.Status != gateway.StatusSent {
				t.Errorf("message %q is %s, want sent", got.Text, got.Status)
			}
		}
		if n := len(a.Calls()); n != 2 {
			t.Errorf("%d sends, want 2", n)
		}
	})
}

func TestDispatcher_FailedRecordPauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs := &recordStore{}
		rs.fail.Store(1)
		r := newRig(t, rigOptions{wrap: func(s dispatch.Store) dispatch.Store { rs.Store = s; return rs }})
		m1 := r.send(gateway.SendRequest{To: numOK, Text: "first"})
		m2 := r.send(gateway.SendRequest{To: numOK2, Text: "second"})
		a := newSendDev(imeiA)
		r.addModem(a, gateway.ModemLimits{})
		synctest.Wait()
		// The record of m1 failed: m2, claimed meanwhile, went back to
		// the queue unsent and without an attempt, while the worker rests.
		if n := len(a.Calls()); n != 1 {
			t.Fatalf("%d sends right after a failed record, want 1", n)
		}
		if got := r.message(m2.ID); got.Status != gateway.StatusQueued || got.Attempts != 0 {
			t.Errorf("second message %s after %d attempts, want queued after 0", got.Status, got.Attempts)
		}
		time.Sleep(2 * time.Second) // pauseAfter(1) is 1 s
		synctest.Wait()
		if got := r.message(m2.ID); got.Status != gateway.StatusSent || got.Attempts != 0 {
			t.Errorf("second message %s after %d attempts, want sent after 0", got.Status, got.Attempts)
		}
		// m1 went out but is not recorded: its lease runs out and it goes
		// again (DESIGN.md §4 allows one duplicate).
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got := r.message(m1.ID); got.Status != gateway.StatusSent {
			t.Errorf("first message %s, want sent", got.Status)
		}
		if n := len(a.Calls()); n != 3 {
			t.Errorf("%d sends, want 3 (the unrecorded first one twice)", n)
		}
	})
}
