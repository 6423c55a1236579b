package dispatch

import (
	"context"
	"errors"
	"log/slog"

	"github.com/simgate/simgate/gateway"
)

// A worker's records of the parts it sent. The last part's record, which
// also marks the message sent, is made in the background while the worker
// claims and sends its next message (recordLast), and settled before the
// next record (settle).

// recordLast records the last part of message id, and with it the message
// sent, without waiting: the worker claims and sends its next message
// meanwhile, so that neither the claim nor the modem waits for the record's
// commit and fsync. The record is settled before the next one is made, so
// records stay in order and at most one is in flight; a record that failed
// pauses the worker after the message in hand. The price: a power cut may
// lose the records of a modem's last two messages instead of its last one,
// and each goes out once more (DESIGN.md §4 allows one duplicate).
func (w *worker) recordLast(ctx context.Context, id string, part, mr int, log *slog.Logger) {
	done := make(chan step, 1)
	w.recording = done
	now := w.d.clock.Now()
	go func() {
		after, ok := recorded(w.d.store.LastPartSent(ctx, id, part, w.imei, mr, now), part, mr, log)
		if ok {
			log.Debug("part sent", "part", part, "mr", mr)
		}
		done <- after
	}()
}

// settle waits for the record recordLast started, if any; false when it
// failed (recorded logged why).
func (w *worker) settle() bool {
	if w.recording == nil {
		return true
	}
	after := <-w.recording
	w.recording = nil
	return after != stepPause
}

// recorded judges the outcome of recording a part that went out with mr:
// ok when it is recorded, else what the worker does next.
func recorded(err error, part, mr int, log *slog.Logger) (after step, ok bool) {
	switch {
	case errors.Is(err, gateway.ErrLeaseLost):
		// This worker stalled past its lease and another took the message
		// over: the message is that one's now.
		log.Warn("lease lost mid-send: the new owner's outcome stands", "part", part, "err", err)
		return stepNext, false
	case err != nil:
		// The part went out but is not recorded; the lease will expire
		// and the part may go twice (DESIGN.md §4 allows one duplicate).
		log.Error("record part sent", "part", part, "mr", mr, "err", err)
		return stepPause, false
	}
	return stepNext, true
}
