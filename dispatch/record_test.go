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

// A worker records a message's last part while it claims and sends the
// next one (worker.recordLast): these tests hold that record back, or fail
// it, and check that records stay in order, one at a time, and that a
// failed one pauses the worker.

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

// threeQueued queues three messages on a rig whose dispatcher sees the
// store through rs, then attaches a modem, which sends them in order.
func threeQueued(t *testing.T, rs *recordStore) (*rig, []*gateway.Message, *sendDev) {
	r := newRig(t, rigOptions{wrap: func(s dispatch.Store) dispatch.Store { rs.Store = s; return rs }})
	var msgs []*gateway.Message
	for _, text := range []string{"first", "second", "third"} {
		msgs = append(msgs, r.send(gateway.SendRequest{To: numOK, Text: text}))
	}
	a := newSendDev(imeiA)
	r.addModem(a, gateway.ModemLimits{})
	return r, msgs, a
}

func TestDispatcher_OneRecordInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs := &recordStore{gate: make(chan struct{})}
		r, msgs, a := threeQueued(t, rs)
		time.Sleep(time.Minute) // the record of the first is held the while
		synctest.Wait()
		// The second went out while the first was being recorded; its own
		// record waits for the first's, and nothing more goes out.
		if n := len(a.Calls()); n != 2 {
			t.Fatalf("%d sends while the first record was held, want 2", n)
		}
		if n := rs.calls.Load(); n != 1 {
			t.Errorf("%d records made while the first was in flight, want 1", n)
		}
		if got := r.message(msgs[2].ID); got.Status != gateway.StatusQueued {
			t.Errorf("third message %s, want queued", got.Status)
		}
		close(rs.gate)
		synctest.Wait()
		for _, m := range msgs {
			if got := r.message(m.ID); got.Status != gateway.StatusSent {
				t.Errorf("message %q is %s, want sent", got.Text, got.Status)
			}
		}
		if n := len(a.Calls()); n != 3 {
			t.Errorf("%d sends, want 3", n)
		}
	})
}

func TestDispatcher_FailedRecordPauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs := &recordStore{}
		rs.fail.Store(1)
		r, msgs, a := threeQueued(t, rs)
		synctest.Wait()
		// The first's record failed, found when the second (in hand by
		// then) was recorded: the worker rests before the third.
		if n := len(a.Calls()); n != 2 {
			t.Fatalf("%d sends right after a failed record, want 2", n)
		}
		if got := r.message(msgs[2].ID); got.Status != gateway.StatusQueued || got.Attempts != 0 {
			t.Errorf("third message %s after %d attempts, want queued after 0", got.Status, got.Attempts)
		}
		time.Sleep(2 * time.Second) // pauseAfter(1) is 1 s
		synctest.Wait()
		for _, m := range msgs[1:] {
			if got := r.message(m.ID); got.Status != gateway.StatusSent || got.Attempts != 0 {
				t.Errorf("message %q %s after %d attempts, want sent after 0", got.Text, got.Status, got.Attempts)
			}
		}
		// The first went out but is not recorded: its lease runs out and it
		// goes again (DESIGN.md §4 allows one duplicate).
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got := r.message(msgs[0].ID); got.Status != gateway.StatusSent {
			t.Errorf("first message %s, want sent", got.Status)
		}
		if n := len(a.Calls()); n != 4 {
			t.Errorf("%d sends, want 4 (the unrecorded first one twice)", n)
		}
	})
}
