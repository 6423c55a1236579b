package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/pdu"
)

// DispatcherConfig tunes a Dispatcher; zero fields take the defaults.
type Config struct {
	// Lease is how long a claim holds before another worker may take the
	// message (a crash mid-send); default 2 min, longer than SendTimeout.
	Lease time.Duration
	// RetryBackoff are the delays after the 1st, 2nd, … counted failure; the
	// last one repeats. Default 30 s, 2 min, 10 min, 30 min.
	RetryBackoff []time.Duration
	// MaxAttempts is how many counted failures end a message; default 6.
	MaxAttempts int
	// PollFallback is the longest the workers sleep without a claim attempt,
	// in case a due time was missed; default 5 s.
	PollFallback time.Duration
	// ExpireEvery is how often queued messages past their TTL are expired;
	// default 30 s.
	ExpireEvery time.Duration
	// SendTimeout bounds one part's SendPDU, whatever the driver's own
	// timeouts; default 90 s. Shutdown waits for the part in flight at most
	// this long.
	SendTimeout time.Duration
}

// Defaults of DispatcherConfig.
const (
	DefaultLease        = 2 * time.Minute
	DefaultMaxAttempts  = 6
	DefaultPollFallback = 5 * time.Second
	DefaultExpireEvery  = 30 * time.Second
	DefaultSendTimeout  = 90 * time.Second
)

// DefaultRetryBackoff is the retry schedule after at-pdu.md §3.8.
var DefaultRetryBackoff = []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute}

// minTimer keeps a due time in the past from spinning the timer loop.
const minTimer = time.Millisecond

// Dispatcher runs one worker per attached modem. A worker claims the next
// message its modem may send, sends every part and records the outcome;
// Wake makes idle workers claim at once. The Supervisor attaches and
// detaches modems; the Service wakes.
type Dispatcher struct {
	cfg   Config
	store gateway.Store
	clock gateway.Clock
	log   *slog.Logger

	// ctl serialises Attach and Detach, so that two calls for one IMEI
	// cannot both start a worker while the old one stops.
	ctl sync.Mutex

	mu       sync.RWMutex
	workers  map[string]*worker
	lastSend map[string]time.Time // by IMEI; survives a worker's replacement
	runCtx   context.Context      // nil until Run
	stopped  bool
	hint     time.Time // earliest due time told by WakeAt, not yet armed

	rearm chan struct{}
	wg    sync.WaitGroup
}

var (
	_ gateway.Waker     = (*Dispatcher)(nil)
	_ gateway.Scheduler = (*Dispatcher)(nil)
)

// NewDispatcher returns a Dispatcher; nothing runs until Run. A nil clock or
// logger means the system clock and a discard logger.
func New(cfg Config, store gateway.Store, clock gateway.Clock, logger *slog.Logger) *Dispatcher {
	if store == nil {
		panic("gateway: NewDispatcher: nil store")
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if len(cfg.RetryBackoff) == 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	cfg.RetryBackoff = append([]time.Duration(nil), cfg.RetryBackoff...)
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.PollFallback <= 0 {
		cfg.PollFallback = DefaultPollFallback
	}
	if cfg.ExpireEvery <= 0 {
		cfg.ExpireEvery = DefaultExpireEvery
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = DefaultSendTimeout
	}
	// A part must fit in a lease, or the lease would be renewed before
	// every part (see send).
	cfg.SendTimeout = min(cfg.SendTimeout, cfg.Lease/2)
	if clock == nil {
		clock = gateway.SystemClock{}
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Dispatcher{
		cfg:      cfg,
		store:    store,
		clock:    clock,
		log:      logger,
		workers:  map[string]*worker{},
		lastSend: map[string]time.Time{},
		rearm:    make(chan struct{}, 1),
	}
}

// Run starts the workers attached so far and those attached later, owns the
// timers (due retries and scheduled sends, the poll fallback, expiry), and
// blocks until ctx ends and every worker has stopped: each finishes the part
// in flight and returns its message to the queue. It returns nil after a
// shutdown through ctx.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.runCtx != nil {
		d.mu.Unlock()
		return errors.New("run dispatcher: already run")
	}
	d.runCtx = ctx
	for _, w := range d.workers {
		d.startLocked(w)
	}
	d.mu.Unlock()

	d.expire(ctx)
	d.loop(ctx)

	d.mu.Lock()
	d.stopped = true
	for _, w := range d.workers {
		w.cancel()
	}
	d.mu.Unlock()
	d.wg.Wait()
	return nil
}

// loop wakes the workers when the store says something becomes claimable,
// and at least every PollFallback.
func (d *Dispatcher) loop(ctx context.Context) {
	timer := time.NewTimer(0) // ask the store at once
	defer timer.Stop()
	expire := time.NewTicker(d.cfg.ExpireEvery)
	defer expire.Stop()
	armed := d.clock.Now() // business time the timer fires at
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			d.Wake()
			now := d.clock.Now()
			armed = now.Add(d.cfg.PollFallback)
			due, err := d.store.NextDue(ctx, now)
			switch {
			case err != nil && ctx.Err() == nil:
				d.log.Error("next due message", "err", err)
			case !due.IsZero() && due.Before(armed):
				armed = due
			}
			timer.Reset(max(armed.Sub(now), minTimer))
		case <-d.rearm:
			d.mu.Lock()
			h := d.hint
			d.hint = time.Time{}
			d.mu.Unlock()
			if !h.IsZero() && h.Before(armed) {
				armed = h
				timer.Reset(max(h.Sub(d.clock.Now()), minTimer))
			}
		case <-expire.C:
			d.expire(ctx)
		}
	}
}

func (d *Dispatcher) expire(ctx context.Context) {
	n, err := d.store.ExpireDue(ctx, d.clock.Now())
	switch {
	case err != nil && ctx.Err() == nil:
		d.log.Error("expire messages", "err", err)
	case n > 0:
		d.log.Info("messages expired", "count", n)
	}
}

// Wake makes every idle worker try to claim at once. It never blocks.
func (d *Dispatcher) Wake() {
	d.mu.RLock()
	for _, w := range d.workers {
		select {
		case w.wake <- struct{}{}:
		default: // a wake-up is already pending; one is enough
		}
	}
	d.mu.RUnlock()
}

// WakeAt makes the workers claim at t (a scheduled send, a retry), sooner
// than the poll fallback would.
func (d *Dispatcher) WakeAt(t time.Time) {
	if !t.After(d.clock.Now()) {
		d.Wake()
		return
	}
	d.mu.Lock()
	if d.hint.IsZero() || t.Before(d.hint) {
		d.hint = t
	}
	d.mu.Unlock()
	select {
	case d.rearm <- struct{}{}:
	default:
	}
}

// Attach starts the worker of modem imei on dev, replacing (after stopping)
// any worker it had. Attached before Run, the worker starts with Run.
func (d *Dispatcher) Attach(imei string, dev gateway.Device, limits gateway.ModemLimits) {
	d.ctl.Lock()
	defer d.ctl.Unlock()
	d.detachLocked(imei)

	ctxLog := d.log.With("modem", imei)
	w := &worker{
		d:      d,
		imei:   imei,
		dev:    dev,
		limits: limits,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		cancel: func() {},
		log:    ctxLog,
	}
	w.wake <- struct{}{} // claim at once: work may be waiting
	d.mu.Lock()
	d.workers[imei] = w
	if d.runCtx != nil && !d.stopped {
		d.startLocked(w)
	}
	d.mu.Unlock()
	ctxLog.Debug("modem attached", "send_interval", limits.SendInterval, "daily_cap", limits.DailyCap)
}

// Detach stops the worker of modem imei and returns once it has: it finishes
// the part in flight, or returns its message to the queue. Detaching an
// unknown modem does nothing.
func (d *Dispatcher) Detach(imei string) {
	d.ctl.Lock()
	defer d.ctl.Unlock()
	d.detachLocked(imei)
}

func (d *Dispatcher) detachLocked(imei string) {
	d.mu.Lock()
	w := d.workers[imei]
	delete(d.workers, imei)
	d.mu.Unlock()
	if w == nil {
		return
	}
	w.cancel()
	if w.started {
		<-w.done
	}
	w.log.Debug("modem detached")
}

// startLocked runs w under Run's context; d.mu is held.
func (d *Dispatcher) startLocked(w *worker) {
	ctx, cancel := context.WithCancel(d.runCtx)
	w.cancel = cancel
	w.started = true
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(w.done)
		defer cancel()
		w.run(ctx)
	}()
}

// worker sends one modem's messages, one at a time.
type worker struct {
	d      *Dispatcher
	imei   string
	dev    gateway.Device
	limits gateway.ModemLimits
	log    *slog.Logger

	wake    chan struct{} // buffered 1: a pending wake-up is never lost
	done    chan struct{}
	cancel  context.CancelFunc
	started bool

	// Owned by the worker's goroutine.
	faults    int       // consecutive modem faults, for the pause
	day       time.Time // local midnight the count below is for
	sentToday int       // parts sent since day, when DailyCap is set
	pausedTo  time.Time // no claim before (business time): cap reached
}

// step is what the worker does after a message.
type step int

const (
	stepNext  step = iota // claim the next one
	stepPause             // rest, the modem (or the store) is unwell
	stepStop              // the worker ends: shutdown or the device is gone
)

func (w *worker) run(ctx context.Context) {
	for {
		if ctx.Err() != nil {
			return
		}
		now := w.d.clock.Now()
		if now.Before(w.pausedTo) {
			if !w.sleep(ctx, w.pausedTo.Sub(now)) {
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
			w.faults = 0 // the store answers and nothing is failing
			if !w.idle(ctx) {
				return
			}
			continue
		}
		switch w.send(ctx, m) {
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

// idle waits for a wake-up; false when the worker must end.
func (w *worker) idle(ctx context.Context) bool {
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

	opts := pdu.SubmitOptions{StatusReport: m.StatusReport, ConcatRef: m.ConcatRef}
	if !m.ExpiresAt.IsZero() {
		opts.Validity = m.ExpiresAt.Sub(now)
		if opts.Validity <= 0 {
			// The expiry sweep turns it expired; it is not ours to send.
			after := w.release(bg, m, now, "expired before it was sent", stepNext)
			w.d.expire(bg)
			return after
		}
	}
	sub, err := pdu.EncodeSubmit(m.To, m.Text, opts)
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

	leaseEnd := now.Add(w.d.cfg.Lease)
	retriedVP := false
	for k := 0; k < len(todo); k++ {
		i := todo[k]
		if ctx.Err() != nil {
			// Not a failure: the message keeps the error it had.
			return w.release(bg, m, w.d.clock.Now(), m.Error, stepStop)
		}
		if !w.pace(ctx) {
			return w.release(bg, m, w.d.clock.Now(), m.Error, stepStop)
		}
		if t := w.d.clock.Now(); k > 0 && t.Add(w.d.cfg.SendTimeout).After(leaseEnd) {
			// The next part might outlive the lease, and another worker
			// would take the message mid-send. The store has no lease
			// extension: give the message back unannounced and claim again;
			// being first in the queue, it almost always comes straight back
			// (a new OTP may go first, which is welcome).
			log.Debug("lease nearly over, claiming again", "part", i+1)
			if err := w.d.store.Retry(bg, m.ID, t, m.Error, false); err != nil {
				log.Error("return message to the queue", "err", err)
				return stepPause
			}
			return stepNext
		}
		seg := sub.Segments[i]
		mr, err := w.sendPDU(bg, seg)
		if err != nil && !retriedVP && opts.Validity > 0 && vpUnsupported(err) {
			// at-pdu.md §3.8: the SC refuses our TP-VP; resend once without.
			retriedVP = true
			opts.Validity = 0
			if sub, err = pdu.EncodeSubmit(m.To, m.Text, opts); err != nil {
				return w.fail(bg, m, "encode: "+err.Error(), log)
			}
			log.Info("validity period refused, resending without", "part", i+1)
			k--
			continue
		}
		if err != nil {
			return w.sendFailed(bg, m, i+1, err, log)
		}
		if err := w.d.store.PartSent(bg, m.ID, i+1, w.imei, mr, w.d.clock.Now()); err != nil {
			// The part went out but is not recorded; the lease will expire
			// and the part may go twice (DESIGN.md §4 allows one duplicate).
			log.Error("record part sent", "part", i+1, "mr", mr, "err", err)
			return stepPause
		}
		w.sentToday++
		log.Debug("part sent", "part", i+1, "of", len(m.Parts), "mr", mr)
	}
	if err := w.d.store.Sent(bg, m.ID, w.d.clock.Now()); err != nil {
		log.Error("record message sent", "err", err)
		return stepPause
	}
	w.faults = 0
	log.Debug("message sent", "to", gateway.MaskNumber(m.To), "parts", len(m.Parts))
	return stepNext
}

// partsToSend lists the 0-based indexes of the parts imei must send: those
// without an MR, or all of them when another modem sent some, because a
// handset joins parts only from one sender and reference.
func partsToSend(m *gateway.Message, imei string) []int {
	foreign := false
	for _, p := range m.Parts {
		if p.HasMR && p.Modem != imei {
			foreign = true
		}
	}
	todo := make([]int, 0, len(m.Parts))
	for i, p := range m.Parts {
		if foreign || !p.HasMR {
			todo = append(todo, i)
		}
	}
	return todo
}

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
