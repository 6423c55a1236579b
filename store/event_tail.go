package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/simgate/simgate/gateway"
)

// The log's tail in memory. The gateway runs several followers of the event
// log (webhooks, OTP follow-up, metrics, routing, regions, Kannel, the
// status page), each reading the same new events within milliseconds of the
// others; under load each read took dozens of rows. The store keeps the
// events last read, so that the first follower to ask reads the new ones and
// the others take them from memory without a query.
//
// What the cache holds is what a query returned, and a query's answer stays
// true: events are numbered in commit order on both databases (on
// PostgreSQL, migration 0100_pg_event_numbering), so once a read has seen
// seq N, no event below N can appear later. The cache covers (from, to]:
// every event with a Seq in it is in evs.

// The tail keeps between tailCap and twice as many events: a few seconds'
// worth at full load.
const tailCap = 4096

type eventTail struct {
	mu       sync.Mutex
	from, to int64
	evs      []gateway.Event // ascending Seq, all in (from, to]
}

// EventsAfter returns up to limit events with Seq > seq, oldest first.
func (s *Store) EventsAfter(ctx context.Context, seq int64, limit int) ([]gateway.Event, error) {
	t := &s.tail
	t.mu.Lock()
	if seq < t.from || seq > t.to {
		// Behind the tail (catching up) or past it (a cursor from the
		// database, or an empty cache): not the tail's business.
		past := seq > t.to
		t.mu.Unlock()
		evs, err := s.queryEventsAfter(ctx, seq, limit)
		if err == nil && past {
			t.reset(seq, evs)
		}
		return evs, err
	}
	// Within the tail: what it holds, if anything. A follower that gets
	// fewer than it asked for reads again a moment later (events.Settle),
	// and then gets what came since from the database. Only a follower at
	// the tail's end asks the database, under the lock, so that those
	// that come meanwhile find the new events in memory.
	defer t.mu.Unlock()
	out := t.since(seq, limit)
	if len(out) > 0 {
		return out, nil
	}
	more, err := s.queryEventsAfter(ctx, t.to, limit)
	if err != nil {
		return nil, err
	}
	t.extend(more)
	return more, nil
}

// since copies up to limit cached events with Seq > seq.
func (t *eventTail) since(seq int64, limit int) []gateway.Event {
	i, _ := slices.BinarySearchFunc(t.evs, seq+1, func(ev gateway.Event, seq int64) int { return cmp.Compare(ev.Seq, seq) })
	return slices.Clone(t.evs[i : i+min(len(t.evs)-i, limit)])
}

// extend adds evs, read after t.to: the cache then covers up to the last
// of them.
func (t *eventTail) extend(evs []gateway.Event) {
	if len(evs) == 0 {
		return
	}
	t.evs = append(t.evs, evs...)
	t.to = evs[len(evs)-1].Seq
	if len(t.evs) > 2*tailCap { // trimmed by halves: a copy per tailCap events
		drop := len(t.evs) - tailCap
		t.from = t.evs[drop-1].Seq
		t.evs = append(make([]gateway.Event, 0, 2*tailCap), t.evs[drop:]...)
	}
}

// reset makes the cache what a read after seq returned, when the reader is
// past what it held.
func (t *eventTail) reset(seq int64, evs []gateway.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if seq <= t.to { // another read moved the tail on meanwhile
		return
	}
	t.from, t.to, t.evs = seq, seq, nil
	t.extend(evs)
}

var eventsAfterSQL = readStmt(`SELECT seq, id, type, subject, data, created_at FROM events WHERE seq > ? ORDER BY seq LIMIT ?`)

// queryEventsAfter reads up to limit events with Seq > seq from the database.
func (s *Store) queryEventsAfter(ctx context.Context, seq int64, limit int) ([]gateway.Event, error) {
	rows, err := s.r.QueryContext(ctx, eventsAfterSQL, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("events after %d: %w", seq, err)
	}
	evs, err := collect(rows, func(sc scanner) (gateway.Event, error) {
		var (
			ev   gateway.Event
			data string
		)
		err := sc.Scan(&ev.Seq, &ev.ID, &ev.Type, &ev.Subject, &data, timeCol{&ev.At})
		ev.Data = []byte(data)
		return ev, err
	})
	if err != nil {
		return nil, fmt.Errorf("events after %d: %w", seq, err)
	}
	return evs, nil
}
