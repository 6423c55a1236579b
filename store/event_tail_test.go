package store

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// TestEventTail: followers reading the log from their own positions, with
// events appended meanwhile, get from EventsAfter exactly what the database
// holds — whether the answer came from the tail in memory, from the
// database, or from both — across the tail's cap and its resets.
func TestEventTail(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	const total = 5 * tailCap / 2 // the tail drops its oldest on the way
	var appended sync.WaitGroup
	appended.Go(func() {
		for i := range total {
			ev, err := gateway.NewEvent(gateway.EventMessageQueued, "msg_x", map[string]int{"n": i}, t0)
			if err == nil {
				err = s.AppendEvent(ctx, ev)
			}
			if err != nil {
				t.Error(err)
				return
			}
		}
	})
	// Followers at the tail, and one that starts late and catches up in
	// small pages from behind it.
	follow := func(seed uint64, start int64) []gateway.Event {
		rng := rand.New(rand.NewPCG(seed, 1))
		var got []gateway.Event
		for after := start; after < total; {
			evs, err := s.EventsAfter(ctx, after, 1+rng.IntN(300))
			if err != nil {
				t.Error(err)
				return nil
			}
			got = append(got, evs...)
			if len(evs) > 0 {
				after = evs[len(evs)-1].Seq
			} else {
				time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
			}
		}
		return got
	}
	var (
		mu    sync.Mutex
		reads = map[int64][][]gateway.Event{}
		wg    sync.WaitGroup
	)
	for i := range 6 {
		wg.Go(func() {
			start := int64(0)
			if i == 5 {
				appended.Wait() // behind the tail by then
			}
			got := follow(uint64(i), start)
			mu.Lock()
			reads[start] = append(reads[start], got)
			mu.Unlock()
		})
	}
	appended.Wait()
	wg.Wait()
	want, err := s.queryEventsAfter(ctx, 0, 2*total)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != total {
		t.Fatalf("database holds %d events, want %d", len(want), total)
	}
	for _, got := range reads[0] {
		if !slices.EqualFunc(got, want, sameEvent) {
			t.Errorf("a follower read %d events, not the %d of the log in order", len(got), len(want))
		}
	}
	// Positions behind, within and past the tail, and limits across its end.
	for _, after := range []int64{0, total - tailCap - 1, total - tailCap, total - 10, total - 1, total, total + 5} {
		for _, limit := range []int{1, 7, 256, tailCap + 10} {
			// From the tail, fewer may come than the database holds (the
			// rest at the next read), but never none of them.
			got, err := s.EventsAfter(ctx, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			w, _ := s.queryEventsAfter(ctx, after, limit)
			if len(got) > len(w) || !slices.EqualFunc(got, w[:len(got)], sameEvent) || len(got) == 0 && len(w) > 0 {
				t.Errorf("EventsAfter(%d, %d): %d events, not the first of the %d in the database", after, limit, len(got), len(w))
			}
		}
	}
}

func sameEvent(a, b gateway.Event) bool {
	return a.Seq == b.Seq && a.ID == b.ID && a.Type == b.Type && string(a.Data) == string(b.Data) && a.At.Equal(b.At)
}
