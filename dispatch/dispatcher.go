package dispatch

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway"
)

// Config tunes a Dispatcher; zero fields take the defaults.
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

// Defaults of Config.
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

// Store is what the dispatcher needs of storage: the queue, and what each
// modem sent today (its daily cap).
type Store interface {
	gateway.Queue
	gateway.Modems
}

// Dispatcher runs one worker per attached modem. A worker claims the next
// message its modem may send, sends every part and records the outcome;
// Wake makes idle workers claim at once. The Supervisor attaches and
// detaches modems; the Service wakes.
type Dispatcher struct {
	cfg   Config
	store Store
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
	_ gateway.PinWaker  = (*Dispatcher)(nil)
	_ gateway.Scheduler = (*Dispatcher)(nil)
)

// New returns a Dispatcher; nothing runs until Run. A nil clock or
// logger means the system clock and a discard logger.
func New(cfg Config, store Store, clock gateway.Clock, logger *slog.Logger) *Dispatcher {
	if store == nil {
		panic("dispatch: New: nil store")
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
		w.poke()
	}
	d.mu.RUnlock()
}

// WakeFor wakes the workers that can take a message just queued, pinned to
// pin ("" for none): that modem's worker, or a single idle one — each
// claim is a write, and a message is taken by one worker only. With no
// worker idle it wakes them all, like Wake: a busy worker claims after its
// message anyway and spends the wake-up then, and one about to go idle
// must not miss it.
func (d *Dispatcher) WakeFor(pin string) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if w := d.workers[pin]; pin != "" && w != nil {
		w.poke()
		return
	}
	for _, w := range d.workers { // a map: a different one each time
		if w.idling.CompareAndSwap(true, false) {
			w.poke()
			return
		}
	}
	for _, w := range d.workers {
		w.poke()
	}
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
