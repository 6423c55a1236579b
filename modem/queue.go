package modem

import (
	"strings"
	"sync"

	"github.com/simgate/simgate/modem/at"
)

// Bounds of the queue between the reader and Events.
const (
	// maxQueuedData bounds the events that carry data (+CMTI, +CMT, +CDS,
	// +CDSI), resets and memory-full signs. A SIM holds a few dozen messages, so this is only
	// reached by a consumer stuck for long; 4096 PDUs are about 2 MiB.
	maxQueuedData = 4096
	// maxQueuedKeys bounds the coalesced events pending at once: one per
	// registration domain and one per kind of other unsolicited line.
	maxQueuedKeys = 64
)

// eventQueue holds the events the reader emitted and the pump has not yet
// taken. A modem may flood unsolicited lines (a flapping cell sends +CREG
// by the thousand, Huawei sticks ^RSSI), so the queue is bounded:
//
//   - Registration lines (+CREG, +CGREG, +CEREG) and every other
//     unsolicited line without data (signal, RING, unknown +XXX:) are
//     coalesced by prefix: while one is pending, a newer line of the same
//     prefix replaces it in its place in the queue. The consumer sees the
//     latest state, not every step to it; at most maxQueuedKeys are
//     pending, and a line of a new prefix beyond that is dropped (counted,
//     logged by the pump).
//   - Events that carry data are never coalesced nor dropped. When
//     maxQueuedData of them wait, the reader waits for the consumer
//     (backpressure): the bytes stay in the port and the modem's buffers,
//     and a +CMT the modem expects acknowledged and does not get acked in
//     time is delivered again by the network. Dropping would lose a +CMT
//     or +CDS for good, and a +CMTI until the next catch-up listing. The
//     cost: a command in flight while the reader waits gets no answer and
//     times out (an error the consumer sees), after which the consumer
//     reads events again and the reader goes on.
type eventQueue struct {
	mu      sync.Mutex
	q       []Event
	keyed   map[string]int // coalescing key → index in q
	data    int            // events in q that are never coalesced
	dropped int            // coalesced lines dropped for want of a slot
	full    bool           // the reader waited since the last take
	signal  chan struct{}  // an event was queued
	room    chan struct{}  // the pump took the queue
}

func newEventQueue() *eventQueue {
	return &eventQueue{
		keyed:  map[string]int{},
		signal: make(chan struct{}, 1),
		room:   make(chan struct{}, 1),
	}
}

// coalesceKey is the key under which e replaces a pending event, "" for
// an event that carries data.
func coalesceKey(e Event) string {
	switch e.Kind {
	case EventNewMessage, EventDeliver, EventStatusReport, EventStatusReportStored, EventReset, EventMemoryFull:
		return ""
	}
	if p := at.LinePrefix(e.Line); p != "" {
		return p
	}
	return strings.ToUpper(e.Line)
}

// push queues e. It reports false, without queuing, when e carries data
// and the queue is full; the caller waits on room and tries again.
func (q *eventQueue) push(e Event) bool {
	key := coalesceKey(e)
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case key == "" && q.data >= maxQueuedData:
		q.full = true
		return false
	case key == "":
		q.data++
	default:
		if i, ok := q.keyed[key]; ok {
			q.q[i] = e
			return true
		}
		if len(q.keyed) >= maxQueuedKeys {
			q.dropped++
			return true
		}
		q.keyed[key] = len(q.q)
	}
	q.q = append(q.q, e)
	select {
	case q.signal <- struct{}{}:
	default:
	}
	return true
}

// take swaps the queued events for buf (emptied) and says how many lines
// were dropped and whether the reader had to wait since the last take.
func (q *eventQueue) take(buf []Event) (batch []Event, dropped int, full bool) {
	q.mu.Lock()
	batch, q.q = q.q, buf[:0]
	clear(q.keyed)
	dropped, full = q.dropped, q.full
	q.data, q.dropped, q.full = 0, 0, false
	q.mu.Unlock()
	select {
	case q.room <- struct{}{}:
	default:
	}
	return batch, dropped, full
}
