package events_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/events"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
)

// readLog is a real store that records when each read happened.
type readLog struct {
	gateway.EventLog
	mu    sync.Mutex
	reads []time.Time
}

func (l *readLog) EventsAfter(ctx context.Context, seq int64, limit int) ([]gateway.Event, error) {
	l.mu.Lock()
	l.reads = append(l.reads, time.Now())
	l.mu.Unlock()
	return l.EventLog.EventsAfter(ctx, seq, limit)
}

func appendOne(t *testing.T, st gateway.EventLog, i int) {
	t.Helper()
	ev, err := gateway.NewEvent(gateway.EventMessageQueued, "msg", map[string]int{"i": i}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.(interface {
		AppendEvent(context.Context, gateway.Event) error
	}).AppendEvent(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
}

// TestReader_SettlesUnderAStream: a consumer that has caught up does not
// read again before Settle has passed, however many commits come in the
// meantime — a steady stream costs it a read per Settle, not one per
// commit — and it misses none of them.
func TestReader_SettlesUnderAStream(t *testing.T) {
	st := testkit.OpenStore(t)
	log := &readLog{EventLog: st}
	r := events.NewReader(log, 0, events.Settle)
	const n = 40
	go func() {
		for i := range n {
			appendOne(t, st, i)
			time.Sleep(time.Millisecond)
		}
	}()
	got := 0
	for got < n {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		evs, err := r.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("after %d events: %v", got, err)
		}
		got += len(evs)
	}
	if got != n {
		t.Errorf("%d events, want %d", got, n)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for i := 1; i < len(log.reads); i++ {
		if gap := log.reads[i].Sub(log.reads[i-1]); gap < events.Settle {
			t.Errorf("read %d came %v after the one before, want ≥ %v", i, gap, events.Settle)
		}
	}
}
