package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/pdu"
)

// worker sends one modem's messages, one at a time.
type worker struct {
	d      *Dispatcher
	imei   string
	dev    gateway.Device
	limits gateway.ModemLimits
	log    *slog.Logger

	wake    chan struct{} // buffered 1: a pending wake-up is never lost
	idling  atomic.Bool   // waiting in idle for a wake-up (WakeFor picks one)
	done    chan struct{}
	cancel  context.CancelFunc
	started bool

	// Owned by the worker's goroutine.
	faults    int       // consecutive modem faults, for the pause
	day       time.Time // local midnight the count below is for
	sentToday int       // parts sent since day, when DailyCap is set
	pausedTo  time.Time // no claim before (business time): cap reached
	recording chan step // the record of the last message sent, until settled
	owesPause bool      // that record failed: pause after the message in hand
}

// step is what the worker does after a message.
type step int

const (
	stepNext  step = iota // claim the next one
	stepPause             // rest, the modem (or the store) is unwell
	stepStop              // the worker ends: shutdown or the device is gone
)

func (w *worker) run(ctx context.Context) {
	defer w.settle()
	for {
		if ctx.Err() != nil {
			return
		}
		// The claim below sees every message whose wake-up came before
		// this point (and is due by now, read after it): a wake-up pending
		// here is spent, else a busy worker would claim once more for
		// nothing after each message, since Wake reaches every worker.
		select {
		case <-w.wake:
		default:
		}
		now := w.d.clock.Now()
		if now.Before(w.pausedTo) {
			if !w.sleep(ctx, w.pausedTo.Sub(now)) {
				return
			}
			continue
		}
		if until := w.d.pausedUntil(w.imei); now.Before(until) {
			if !w.sleep(ctx, until.Sub(now)) {
				return
			}
			continue
		}
		if !w.countToday(ctx, now) {
			if !w.sleep(ctx, pauseAfter(1)) {
				return
			}
			continue
		}
		m, err := w.d.store.ClaimNext(ctx, gateway.Claim{Modem: w.imei, Now: now, Lease: w.d.cfg.Lease})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.faults++
			w.log.Error("claim message", "err", err)
			if !w.sleep(ctx, pauseAfter(w.faults)) {
				return
			}
			continue
		}
		if m == nil {
			if w.settle() {
				w.faults = 0 // the store answers and nothing is failing
				if !w.idle(ctx) {
					return
				}
				continue
			}
			w.faults++ // the last record failed
			if !w.sleep(ctx, pauseAfter(w.faults)) {
				return
			}
			continue
		}
		// What the worker records of m is fenced by its claim: once the
		// lease ran out and another took m over, the store refuses it.
		after := w.send(gateway.WithLease(ctx, m.LeaseUntil), m)
		if w.owesPause && after == stepNext {
			after = stepPause
		}
		w.owesPause = false
		switch after {
		case stepStop:
			return
		case stepPause:
			w.faults++
			if !w.sleep(ctx, pauseAfter(w.faults)) {
				return
			}
		}
	}
}

// poke wakes the worker; it never blocks.
func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is already pending; one is enough
	}
}

// idle waits for a wake-up; false when the worker must end.
func (w *worker) idle(ctx context.Context) bool {
	w.idling.Store(true)
	defer w.idling.Store(false)
	select {
	case <-w.wake:
		return true
	case <-ctx.Done():
		return false
	case <-w.dev.Done():
		w.log.Info("modem gone, worker stops")
		return false
	}
}

// sleep rests for d whatever the wake-ups; false when the worker must end.
func (w *worker) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-w.dev.Done():
		return false
	}
}

// countToday loads the parts sent today when a daily cap applies and the
// day changed (or at start); false when the store did not answer.
func (w *worker) countToday(ctx context.Context, now time.Time) bool {
	if w.limits.DailyCap <= 0 {
		return true
	}
	day := gateway.DayStart(now)
	if day.Equal(w.day) {
		return true
	}
	n, err := w.d.store.SentSince(ctx, w.imei, day)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("count parts sent today", "err", err)
		}
		return false
	}
	w.day, w.sentToday = day, n
	return true
}

// send sends every part of m that this modem has not sent yet, recording
// each MR the moment +CMGS answers, then marks m sent.
func (w *worker) send(ctx context.Context, m *gateway.Message) step {
	// From here on the bookkeeping must happen even when ctx ends: a part
	// that went out is recorded, a claim is released.
	bg := context.WithoutCancel(ctx)
	log := w.log.With("message_id", m.ID)
	now := w.d.clock.Now()

	opts := submitOptions(m)
	if !m.ExpiresAt.IsZero() {
		left := m.ExpiresAt.Sub(now)
		if left <= 0 {
			// The expiry sweep turns it expired; it is not ours to send.
			after := w.release(bg, m, now, "expired before it was sent", stepNext)
			w.d.expire(bg)
			return after
		}
		if opts.Validity == 0 || left < opts.Validity {
			opts.Validity = left
		}
	}
	sub, err := encode(m, opts)
	if err == nil && len(sub.Segments) != len(m.Parts) {
		err = fmt.Errorf("%d segments for %d parts", len(sub.Segments), len(m.Parts))
	}
	if err != nil {
		return w.fail(bg, m, "encode: "+err.Error(), log)
	}

	todo := partsToSend(m, w.imei)
	if w.limits.DailyCap > 0 && w.sentToday > 0 && w.sentToday+len(todo) > w.limits.DailyCap {
		return w.capReached(bg, m, now, log)
	}
	if after, done := w.sendParts(ctx, m, sub, opts, todo, now.Add(w.d.cfg.Lease), log); !done {
		return after
	}
	if len(todo) == 0 { // else the last part's record marked it sent
		if err := w.d.store.Sent(bg, m.ID, w.d.clock.Now()); err != nil {
			log.Error("record message sent", "err", err)
			return stepPause
		}
	}
	w.faults = 0
	w.d.unpause(w.imei)
	log.Debug("message sent", "to", gateway.MaskNumber(m.To), "parts", len(m.Parts))
	return stepNext
}

// sendParts sends the parts todo of m, encoded as sub with opts, before
// leaseEnd, recording each; done is false when it stopped short, and after
// says what the worker does then.
func (w *worker) sendParts(ctx context.Context, m *gateway.Message, sub pdu.Submit, opts pdu.SubmitOptions, todo []int, leaseEnd time.Time, log *slog.Logger) (after step, done bool) {
	bg := context.WithoutCancel(ctx) // as in send: the bookkeeping outlives ctx
	sendCtx := bg
	if m.Sealed || m.Priority == gateway.PriorityHigh {
		// An OTP's code, or what is as urgent: not for the AT trace.
		sendCtx = gateway.WithSecretPDU(bg)
	}
	retriedVP := false
	for k := 0; k < len(todo); k++ {
		i := todo[k]
		if ctx.Err() != nil {
			// Not a failure: the message keeps the error it had.
			return w.release(bg, m, w.d.clock.Now(), m.Error, stepStop), false
		}
		if !w.pace(ctx) {
			return w.release(bg, m, w.d.clock.Now(), m.Error, stepStop), false
		}
		if t := w.d.clock.Now(); k > 0 && t.Add(w.d.cfg.SendTimeout).After(leaseEnd) {
			return w.claimAgain(bg, m, t, i+1, log), false
		}
		seg := sub.Segments[i]
		mr, err := w.sendPDU(sendCtx, seg)
		if err != nil && !retriedVP && opts.Validity > 0 && vpUnsupported(err) {
			// at-pdu.md §3.8: the SC refuses our TP-VP; resend once without.
			retriedVP = true
			opts.Validity = 0
			if sub, err = encode(m, opts); err != nil {
				return w.fail(bg, m, "encode: "+err.Error(), log), false
			}
			log.Info("validity period refused, resending without", "part", i+1)
			k--
			continue
		}
		if errors.Is(err, gateway.ErrSendUnknown) {
			if after, goOn := w.outcomeUnknown(bg, m, i+1, err, log); !goOn {
				return after, false
			}
			if k == len(todo)-1 { // recorded by PartUnknown: no LastPartSent marks it sent
				if err := w.d.store.Sent(bg, m.ID, w.d.clock.Now()); err != nil {
					log.Error("record message sent", "err", err)
					return stepPause, false
				}
			}
			continue
		}
		if err != nil {
			return w.sendFailed(bg, m, i+1, err, log), false
		}
		w.sentToday++
		if !w.settle() {
			w.owesPause = true
		}
		if k == len(todo)-1 {
			w.recordLast(bg, m.ID, i+1, mr, log) // and the message sent, in one write
			break
		}
		if after, ok := recorded(w.d.store.PartSent(bg, m.ID, i+1, w.imei, mr, w.d.clock.Now()), i+1, mr, log); !ok {
			return after, false
		}
		log.Debug("part sent", "part", i+1, "of", len(m.Parts), "mr", mr)
	}
	return stepNext, true
}

// claimAgain gives m back before part would be sent: that part might
// outlive the lease, and another worker would take the message mid-send.
// The store has no lease extension: give the message back unannounced and
// claim again; being first in the queue, it almost always comes straight
// back (a new OTP may go first, which is welcome).
func (w *worker) claimAgain(ctx context.Context, m *gateway.Message, now time.Time, part int, log *slog.Logger) step {
	log.Debug("lease nearly over, claiming again", "part", part)
	if err := w.d.store.Retry(ctx, m.ID, now, m.Error, false); err != nil {
		log.Error("return message to the queue", "err", err)
		return stepPause
	}
	return stepNext
}

// partsToSend lists the 0-based indexes of the parts imei must send: those
// not handed over yet, or all of them when another modem handed over some,
// because a handset joins parts only from one sender and reference.
func partsToSend(m *gateway.Message, imei string) []int {
	foreign := false
	for _, p := range m.Parts {
		if handedOver(p) && p.Modem != imei {
			foreign = true
		}
	}
	todo := make([]int, 0, len(m.Parts))
	for i, p := range m.Parts {
		if foreign || !handedOver(p) {
			todo = append(todo, i)
		}
	}
	return todo
}

// handedOver: the part went to a modem, which answered its MR, or whose
// outcome is unknown and which is not to be sent again (PartUnknown).
func handedOver(p gateway.Part) bool { return p.HasMR || p.Status == gateway.StatusSent }

func (w *worker) sendPDU(ctx context.Context, seg pdu.Segment) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, w.d.cfg.SendTimeout)
	defer cancel()
	mr, err := w.dev.SendPDU(ctx, seg.TPDULength, seg.PDU)
	w.d.mu.Lock()
	w.d.lastSend[w.imei] = time.Now()
	w.d.mu.Unlock()
	return mr, err
}

// pace waits out the modem's SendInterval since its last part; false when
// the worker must end first.
func (w *worker) pace(ctx context.Context) bool {
	if w.limits.SendInterval <= 0 {
		return true
	}
	w.d.mu.RLock()
	last := w.d.lastSend[w.imei]
	w.d.mu.RUnlock()
	if last.IsZero() {
		return true
	}
	wait := w.limits.SendInterval - time.Since(last)
	if wait <= 0 {
		return true
	}
	return w.sleep(ctx, wait)
}

// capReached gives m back and pauses the worker until tomorrow: an unpinned
// message is free for other modems at once, a pinned one waits for the day.
func (w *worker) capReached(ctx context.Context, m *gateway.Message, now time.Time, log *slog.Logger) step {
	tomorrow := gateway.DayStart(now).AddDate(0, 0, 1)
	w.pausedTo = tomorrow
	log.Info("daily cap reached", "daily_cap", w.limits.DailyCap, "sent_today", w.sentToday, "until", tomorrow)
	next := now
	if m.Pin != "" {
		next = tomorrow
	}
	return w.retry(ctx, m, next, fmt.Sprintf("modem %s reached its daily cap of %d parts", w.imei, w.limits.DailyCap), false, stepNext)
}

// sendFailed applies the retry policy of at-pdu.md §3.8 to a SendPDU error.
func (w *worker) sendFailed(ctx context.Context, m *gateway.Message, part int, err error, log *slog.Logger) step {
	v, class, pause := judge(err)
	reason := reasonOf(err)
	now := w.d.clock.Now()
	switch v {
	case verdictFail:
		log.Info("message refused", "to", gateway.MaskNumber(m.To), "part", part, "class", class, "reason", reason)
		return w.fail(ctx, m, reason, log)
	case verdictGone:
		log.Info("modem gone mid-send, message back to the queue", "part", part)
		return w.release(ctx, m, now, reason, stepStop)
	case verdictModem:
		log.Warn("modem not ready, message back to the queue", "part", part, "reason", reason)
		return w.release(ctx, m, now, reason, stepPause)
	}
	if networkSide(err) {
		w.d.pauseModem(w.imei, reason) // the loop waits it out before claiming again
	}
	attempts := m.Attempts + 1
	if attempts >= w.d.cfg.MaxAttempts {
		log.Info("message failed", "to", gateway.MaskNumber(m.To), "attempts", attempts, "reason", reason)
		return w.fail(ctx, m, fmt.Sprintf("%s (gave up after %d attempts)", reason, attempts), log)
	}
	next := now.Add(backoff(w.d.cfg.RetryBackoff, attempts))
	log.Info("send failed, will retry", "part", part, "class", class, "attempt", attempts, "next_attempt", next, "reason", reason)
	after := stepNext
	if pause {
		after = stepPause
	}
	return w.retry(ctx, m, next, reason, true, after)
}

func (w *worker) fail(ctx context.Context, m *gateway.Message, reason string, log *slog.Logger) step {
	if err := w.d.store.Fail(ctx, m.ID, reason, w.d.clock.Now()); err != nil {
		log.Error("record message failed", "err", err)
		return stepPause
	}
	return stepNext
}

// release gives m back without counting an attempt, claimable at once.
func (w *worker) release(ctx context.Context, m *gateway.Message, now time.Time, reason string, after step) step {
	return w.retry(ctx, m, now, reason, false, after)
}

func (w *worker) retry(ctx context.Context, m *gateway.Message, next time.Time, reason string, count bool, after step) step {
	if err := w.d.store.Retry(ctx, m.ID, next, reason, count); err != nil {
		w.log.Error("return message to the queue", "message_id", m.ID, "err", err)
		if after == stepNext {
			after = stepPause
		}
		return after
	}
	// Other modems may take it; this worker, pausing or stopping, will not.
	w.d.WakeAt(next)
	return after
}

// submitOptions is how m is encoded, but for a validity taken from its
// expiry: its reports, reference, alphabet, class, header and TP-VP.
func submitOptions(m *gateway.Message) pdu.SubmitOptions {
	opts := pdu.SubmitOptions{StatusReport: m.StatusReport, ConcatRef: m.ConcatRef, Validity: m.Validity,
		Layout: pdu.Layout{Encoding: pdu.Encoding(m.Encoding), Flash: m.Flash, UDH: m.UDH}}
	if p := m.Ports; p != nil {
		opts.Ports = &pdu.Ports{Dest: p.Dest, Source: p.Source}
	}
	return opts
}

// encode encodes m's text, or its data, with opts.
func encode(m *gateway.Message, opts pdu.SubmitOptions) (pdu.Submit, error) {
	if m.Data != nil || m.Encoding == string(pdu.Octet) && m.Text == "" {
		return pdu.EncodeSubmitData(m.To, m.Data, opts)
	}
	return pdu.EncodeSubmit(m.To, m.Text, opts)
}
