// Package events reads the event stream: the log of state changes that the
// store appends in the same transaction as each change (gateway.Event). A
// Reader follows the log from a position on and wakes when a commit appends
// to it, so its consumers — webhooks, OTP follow-up, the status page's live
// view — react within milliseconds and nothing polls for a state.
package events

import (
	"context"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
)

// batch bounds how many events one Next returns.
const batch = 256

// Settle is how long a woken Reader waits before it reads, so that a burst
// of commits (hundreds a second under load) costs its consumers one read,
// not one each. Consumers react within milliseconds all the same.
const Settle = 10 * time.Millisecond

// Reader follows the event log from a position on. It is not safe for
// concurrent use: each consumer has its own.
type Reader struct {
	log    gateway.EventLog
	after  int64
	settle time.Duration

	// The last read, when it took everything there was: the next waits
	// until settle has passed since, so that a consumer under a steady
	// stream of commits reads a hundred times a second, not once per
	// commit.
	caughtUp time.Time
}

// NewReader reads log from the event after seq on; woken by an append, it
// waits settle before reading (Settle, or 0 to read at once).
func NewReader(log gateway.EventLog, seq int64, settle time.Duration) *Reader {
	return &Reader{log: log, after: seq, settle: settle}
}

// FromNow reads log from the events appended after this call on.
func FromNow(ctx context.Context, log gateway.EventLog, settle time.Duration) (*Reader, error) {
	seq, err := log.LastEventSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return NewReader(log, seq, settle), nil
}

// Seq is the Seq of the last event Next returned (or the start position).
func (r *Reader) Seq() int64 { return r.after }

// Next returns the next events, oldest first, waiting until there is one or
// ctx ends.
func (r *Reader) Next(ctx context.Context) ([]gateway.Event, error) {
	if !r.caughtUp.IsZero() {
		if err := sleep(ctx, r.settle-time.Since(r.caughtUp)); err != nil {
			return nil, err
		}
	}
	for {
		appended := r.log.Appended() // before the read: an append after it closes this channel
		evs, err := r.log.EventsAfter(ctx, r.after, batch)
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		r.caughtUp = time.Time{}
		if len(evs) > 0 {
			r.after = evs[len(evs)-1].Seq
			if len(evs) < batch && r.settle > 0 {
				r.caughtUp = time.Now()
			}
			return evs, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-appended:
		}
		if err := sleep(ctx, r.settle); err != nil {
			return nil, err
		}
	}
}

// sleep waits d (nothing when d ≤ 0), or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
