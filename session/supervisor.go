package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway"
)

// Attacher is what the supervisor needs of the dispatcher: a send worker
// for every modem that is up. Attach starts (or replaces) the worker of a
// modem; Detach stops it and returns once it has.
type Attacher interface {
	Attach(imei string, dev gateway.Device, limits gateway.ModemLimits)
	Detach(imei string)
}

// SupervisorConfig tunes a Supervisor. The zero value discovers nothing:
// set Ports or Discover.
type Config struct {
	// Ports are serial ports to keep a modem open on, each retried forever.
	Ports []string
	// Discover lists the ports that answer AT, used when Ports is empty;
	// it is called again every DiscoverInterval to find modems plugged in
	// later. A discovered port whose open fails is dropped until it is
	// discovered again.
	// skip reports the ports a session already holds, which Discover must
	// not probe.
	Discover         func(ctx context.Context, skip func(port string) bool) ([]string, error)
	DiscoverInterval time.Duration // default 15 s
	// PollInterval is how often registration, operator and signal are read
	// (default 30 s).
	PollInterval time.Duration
	// BackoffMin and BackoffMax bound the jittered, doubling wait before a
	// port is opened again (defaults 1 s and 30 s).
	BackoffMin, BackoffMax time.Duration
	// ErrorAfter is how many sessions in a row may fail before the modem's
	// state is error rather than offline (default 3).
	ErrorAfter int
	// Limits gives a modem's send limits by IMEI; nil means none.
	Limits func(imei string) gateway.ModemLimits
	// ReportWindow is how far back a status report looks for its part
	// (default 72 h; TP-MR wraps at 256).
	ReportWindow time.Duration
	// StaleAfter is how long the parts of a concatenated SMS wait for the
	// rest before what arrived is saved with Missing set (default 24 h);
	// they are checked every StaleEvery (default 10 min).
	StaleAfter, StaleEvery time.Duration
}

// Supervisor keeps the modems open: one goroutine per port opens the
// modem, initialises it, records it by IMEI, hands it to the dispatcher,
// commits what it receives, polls its health, and reopens it with backoff
// when it goes away.
type Supervisor struct {
	cfg    Config
	store  gateway.Store
	d      Attacher
	open   gateway.Opener
	clock  gateway.Clock
	log    *slog.Logger
	recv   *receiver
	limits func(string) gateway.ModemLimits

	mu     sync.Mutex
	active map[string]string // IMEI → port of the session that holds it
}

// NewSupervisor returns a Supervisor; Run starts it. d is normally the
// *dispatch.Dispatcher; a nil logger discards.
func New(cfg Config, store gateway.Store, d Attacher, open gateway.Opener, clock gateway.Clock, logger *slog.Logger) *Supervisor {
	if store == nil || d == nil || open == nil {
		panic("gateway: NewSupervisor needs a store, a dispatcher and an opener")
	}
	if clock == nil {
		clock = gateway.SystemClock{}
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.DiscoverInterval = orDefault(cfg.DiscoverInterval, 15*time.Second)
	cfg.PollInterval = orDefault(cfg.PollInterval, 30*time.Second)
	cfg.BackoffMin = orDefault(cfg.BackoffMin, time.Second)
	cfg.BackoffMax = max(orDefault(cfg.BackoffMax, 30*time.Second), cfg.BackoffMin)
	cfg.ReportWindow = orDefault(cfg.ReportWindow, 72*time.Hour)
	cfg.StaleAfter = orDefault(cfg.StaleAfter, 24*time.Hour)
	cfg.StaleEvery = orDefault(cfg.StaleEvery, 10*time.Minute)
	if cfg.ErrorAfter <= 0 {
		cfg.ErrorAfter = 3
	}
	limits := cfg.Limits
	if limits == nil {
		limits = func(string) gateway.ModemLimits { return gateway.ModemLimits{} }
	}
	return &Supervisor{
		cfg:    cfg,
		store:  store,
		d:      d,
		open:   open,
		clock:  clock,
		log:    logger,
		limits: limits,
		active: map[string]string{},
		recv: &receiver{
			store:  store,
			clock:  clock,
			log:    logger,
			window: cfg.ReportWindow,
		},
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Run supervises the ports until ctx ends, then detaches every modem from
// the dispatcher, marks it offline, closes it, and returns once every
// port's goroutine has stopped.
func (s *Supervisor) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { s.staleLoop(ctx) })
	switch {
	case len(s.cfg.Ports) > 0:
		for _, port := range s.cfg.Ports {
			wg.Go(func() { s.runPort(ctx, port, true) })
		}
	case s.cfg.Discover != nil:
		s.discoverLoop(ctx, &wg)
	default:
		s.log.Warn("no modem ports configured and no discovery")
	}
	<-ctx.Done()
	wg.Wait()
	return nil
}

func (s *Supervisor) discoverLoop(ctx context.Context, wg *sync.WaitGroup) {
	running := map[string]bool{}
	ended := make(chan string)
	limit := newLogLimiter(s.clock)
	scan := func() {
		ports, err := s.cfg.Discover(ctx, func(port string) bool { return running[port] })
		if err != nil {
			if ctx.Err() == nil {
				limit.log(s.log, "discover", "discover modems", "err", err)
			}
			return
		}
		for _, port := range ports {
			if running[port] || port == "" {
				continue
			}
			running[port] = true
			s.log.Info("modem port discovered", "port", port)
			wg.Go(func() {
				s.runPort(ctx, port, false)
				select {
				case ended <- port:
				case <-ctx.Done():
				}
			})
		}
	}
	scan()
	t := time.NewTicker(s.cfg.DiscoverInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case port := <-ended:
			delete(running, port)
		case <-t.C:
			scan()
		}
	}
}

func (s *Supervisor) staleLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.StaleEvery)
	defer t.Stop()
	for {
		n, err := s.recv.flushStale(ctx, s.clock.Now().Add(-s.cfg.StaleAfter))
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("save incomplete inbound messages", "err", err)
		case n > 0:
			s.log.Info("saved incomplete inbound messages", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// portState is what one port's goroutine remembers between sessions.
type portState struct {
	port     string
	info     gateway.ModemInfo // last known; IMEI "" until a modem answered
	failures int               // sessions in a row that never got the modem up
	attempt  int               // backoff exponent
	limit    *logLimiter
}

// runPort opens the modem on port again and again until ctx ends. keep is
// false for a discovered port, which is given up when it cannot be opened
// (it was unplugged; discovery brings it back).
func (s *Supervisor) runPort(ctx context.Context, port string, keep bool) {
	p := &portState{port: port, limit: newLogLimiter(s.clock)}
	for {
		up, openFailed := s.session(ctx, p)
		if ctx.Err() != nil {
			return
		}
		if openFailed && !keep {
			s.log.Info("modem port gone", "port", port)
			return
		}
		if up {
			p.attempt = 0
		}
		if !sleep(ctx, s.backoff(p.attempt)) {
			return
		}
		p.attempt++
	}
}

// backoff is the wait before reopen attempt n: doubling from BackoffMin,
// capped at BackoffMax, with "equal jitter" so that modems dropped by one
// USB hub event do not come back in lockstep.
func (s *Supervisor) backoff(n int) time.Duration {
	d := s.cfg.BackoffMin
	for range min(n, 30) {
		d *= 2
		if d >= s.cfg.BackoffMax {
			d = s.cfg.BackoffMax
			break
		}
	}
	half := d / 2
	return half + rand.N(half+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// session runs one open-to-gone life of the modem on p.port. up reports
// whether the modem got identified and served (online or not_registered);
// openFailed that the port could not even be opened.
func (s *Supervisor) session(ctx context.Context, p *portState) (up, openFailed bool) {
	dev, err := s.open(ctx, p.port)
	if err != nil {
		s.sessionFailed(ctx, p, gateway.ModemOffline, fmt.Errorf("open: %w", err))
		return false, true
	}
	defer dev.Close()

	if err := dev.Init(ctx); err != nil {
		state := gateway.ModemOffline
		switch {
		case errors.Is(err, gateway.ErrNoSIM):
			state = gateway.ModemNoSIM
		case errors.Is(err, gateway.ErrPINRequired), errors.Is(err, gateway.ErrPUKRequired):
			state = gateway.ModemPINRequired
		}
		if state != gateway.ModemOffline {
			// The IMEI needs no SIM: record which modem is stuck.
			if id, idErr := dev.Identity(ctx); idErr == nil && id.IMEI != "" {
				p.info.Port = p.port
				setIdentity(&p.info, id)
			}
		}
		s.sessionFailed(ctx, p, state, err)
		return false, false
	}
	id, err := dev.Identity(ctx)
	if err == nil && id.IMEI == "" {
		err = errors.New("modem gave no imei")
	}
	if err != nil {
		s.sessionFailed(ctx, p, gateway.ModemOffline, fmt.Errorf("identity: %w", err))
		return false, false
	}
	if other, ok := s.claim(id.IMEI, p.port); !ok {
		// Two ttys of one modem, or the old port of a replugged modem not
		// yet noticed gone: the session that holds the IMEI keeps it.
		p.limit.log(s.log, "duplicate", "modem already open on another port",
			"port", p.port, "other_port", other, "modem", id.IMEI)
		return false, false
	}
	ss := &modemSession{s: s, p: p, dev: dev, unmatched: newUnmatchedReports()}
	defer ss.unmatched.stop()
	ss.info = p.info
	ss.info.Port = p.port
	setIdentity(&ss.info, id)
	ss.info.LastError, ss.info.LastErrorAt = "", time.Time{}
	defer func() {
		// Detach first: the worker finishes or gives back its message while
		// the port may still answer; then offline while the IMEI is still
		// ours, so a new session on another port cannot be overwritten.
		s.d.Detach(ss.info.IMEI)
		ss.offline(ctx, err)
		s.release(ss.info.IMEI, p.port)
		p.info = ss.info
	}()
	err = ss.run(ctx)
	return ss.up, false
}

func setIdentity(info *gateway.ModemInfo, id gateway.DeviceIdentity) {
	if info.IMEI != "" && info.IMEI != id.IMEI {
		// Another modem on the same port: nothing else carries over.
		*info = gateway.ModemInfo{Port: info.Port}
	}
	info.IMEI = id.IMEI
	info.Manufacturer, info.Model, info.Revision = id.Manufacturer, id.Model, id.Revision
	info.IMSI, info.ICCID, info.Number = id.IMSI, id.ICCID, id.Number
}

// sessionFailed records a session that never got the modem up.
func (s *Supervisor) sessionFailed(ctx context.Context, p *portState, state gateway.ModemState, err error) {
	if ctx.Err() != nil {
		return
	}
	p.failures++
	if state == gateway.ModemOffline && p.failures >= s.cfg.ErrorAfter {
		state = gateway.ModemError
	}
	p.limit.log(s.log, string(state)+err.Error(), "modem not usable",
		"port", p.port, "modem", p.info.IMEI, "state", string(state), "failures", p.failures, "err", err)
	if p.info.IMEI == "" {
		return // nothing to record it under
	}
	now := s.clock.Now()
	prev := p.info.State
	p.info.State = state
	p.info.LastError, p.info.LastErrorAt, p.info.UpdatedAt = err.Error(), now, now
	s.upsert(ctx, p.port, p.info, prev)
}

// claim makes port the holder of imei, unless another port holds it.
func (s *Supervisor) claim(imei, port string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if other, ok := s.active[imei]; ok && other != port {
		return other, false
	}
	s.active[imei] = port
	return "", true
}

func (s *Supervisor) release(imei, port string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active[imei] == port {
		delete(s.active, imei)
	}
}

// upsert records info unless another port's session holds the IMEI (the
// modem moved there): the holder's view wins. A state change is logged at
// info; the store appends its event.
func (s *Supervisor) upsert(ctx context.Context, port string, info gateway.ModemInfo, prev gateway.ModemState) {
	s.mu.Lock()
	holder, held := s.active[info.IMEI]
	if held && holder != port {
		s.mu.Unlock()
		return
	}
	// Writes of the final offline state happen after ctx ended: they must
	// still land.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	err := s.store.UpsertModem(wctx, info)
	cancel()
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("record modem state", "modem", info.IMEI, "err", err)
		return
	}
	if info.State != prev {
		args := []any{"modem", info.IMEI, "port", port, "state", string(info.State)}
		if prev != "" {
			args = append(args, "was", string(prev))
		}
		if info.LastError != "" && info.State != gateway.ModemOnline {
			args = append(args, "err", info.LastError)
		}
		s.log.Info("modem state", args...)
	}
}

// logLimiter keeps a failing modem from filling the log: the same key is
// logged at warn at most once a minute, in between at debug.
type logLimiter struct {
	clock gateway.Clock
	mu    sync.Mutex
	last  map[string]time.Time
}

const (
	logEvery   = time.Minute
	maxLogKeys = 64
)

func newLogLimiter(c gateway.Clock) *logLimiter {
	return &logLimiter{clock: c, last: map[string]time.Time{}}
}

func (l *logLimiter) log(log *slog.Logger, key, msg string, args ...any) {
	now := l.clock.Now()
	l.mu.Lock()
	last, seen := l.last[key]
	loud := !seen || now.Sub(last) >= logEvery
	if loud {
		if len(l.last) >= maxLogKeys {
			clear(l.last) // keys carry error texts: keep the map small
		}
		l.last[key] = now
	}
	l.mu.Unlock()
	if loud {
		log.Warn(msg, args...)
		return
	}
	log.Debug(msg, args...)
}

// modemSession is one modem from Init to gone.
type modemSession struct {
	s         *Supervisor
	p         *portState
	dev       gateway.Device
	info      gateway.ModemInfo
	up        bool // identified, recorded and serving events
	attached  bool // handed to the dispatcher
	unmatched *unmatchedReports
}

// run brings the modem up and serves it until ctx ends (nil) or the modem
// is gone or must be reopened (the reason).
func (ss *modemSession) run(ctx context.Context) error {
	s := ss.s
	prev := ss.p.info.State
	h, err := ss.dev.Health(ctx)
	if gone(err) {
		return err
	}
	ss.applyHealth(h, err)
	s.upsert(ctx, ss.p.port, ss.info, prev)
	ss.p.failures = 0
	ss.up = true
	ss.attach()
	if err := ss.catchUp(ctx); err != nil {
		return err
	}
	poll := time.NewTicker(s.cfg.PollInterval)
	defer poll.Stop()
	for {
		select {
		case <-ss.unmatched.C():
			for _, e := range ss.unmatched.due(time.Now()) {
				ss.retryReport(ctx, e)
			}
		case <-ctx.Done():
			return nil
		case <-ss.dev.Done():
			return gateway.ErrDeviceGone
		case ev, ok := <-ss.dev.Events():
			if !ok {
				return gateway.ErrDeviceGone
			}
			if err := ss.event(ctx, ev); err != nil {
				return err
			}
		case <-poll.C:
			if err := ss.refresh(ctx); err != nil {
				return err
			}
		}
	}
}

func gone(err error) bool { return errors.Is(err, gateway.ErrDeviceGone) }

func (ss *modemSession) event(ctx context.Context, ev gateway.DeviceEvent) error {
	switch ev.Kind {
	case gateway.EventSMSStored, gateway.EventReportStored:
		sms, err := ss.dev.ReadMessage(ctx, ev.Mem, ev.Index)
		if err != nil {
			return ss.deviceErr(ctx, "read stored sms", err)
		}
		return ss.process(ctx, sms)
	case gateway.EventSMS, gateway.EventReport:
		// Routed directly and already acknowledged: there is no copy to
		// delete, so a failed commit loses it (the modem is set up for
		// +CMTI/+CDSI to avoid exactly that).
		return ss.process(ctx, gateway.StoredSMS{PDU: ev.PDU})
	case gateway.EventRegistration:
		return ss.refresh(ctx)
	case gateway.EventReset:
		ss.s.log.Info("modem reset, initialising again", "modem", ss.info.IMEI, "port", ss.p.port)
		if err := ss.dev.Init(ctx); err != nil {
			return fmt.Errorf("init after reset: %w", err)
		}
		if err := ss.refresh(ctx); err != nil {
			return err
		}
		return ss.catchUp(ctx)
	}
	return nil
}

// catchUp commits whatever the modem stored while nobody listened.
func (ss *modemSession) catchUp(ctx context.Context) error {
	list, err := ss.dev.ListMessages(ctx)
	if err != nil {
		return ss.deviceErr(ctx, "list stored sms", err)
	}
	if len(list) > 0 {
		ss.s.log.Debug("stored messages found", "modem", ss.info.IMEI, "count", len(list))
	}
	for _, sms := range list {
		if err := ss.process(ctx, sms); err != nil {
			return err
		}
	}
	return nil
}

// process commits one received PDU and then, only then, deletes the
// modem's copy. It returns an error only when the modem is gone.
func (ss *modemSession) process(ctx context.Context, sms gateway.StoredSMS) error {
	s := ss.s
	deletable, err := s.recv.handle(ctx, ss.info.IMEI, sms)
	var (
		pe *pduError
		ue *unmatchedError
	)
	switch {
	case errors.As(err, &ue):
		ss.unmatched.hold(ue, time.Now(), s.log, ss.info.IMEI)
	case errors.As(err, &pe):
		ss.p.limit.log(s.log, "pdu", "received pdu kept on the modem", "modem", ss.info.IMEI,
			"mem", sms.Mem, "index", sms.Index, "err", pe.Err)
		s.log.Debug("undecodable pdu", "modem", ss.info.IMEI, "pdu", sms.PDU)
		ss.noteError(ctx, err)
	case err != nil:
		if ctx.Err() != nil {
			return nil
		}
		ss.p.limit.log(s.log, "commit", "commit received sms", "modem", ss.info.IMEI,
			"mem", sms.Mem, "index", sms.Index, "err", err)
	}
	if !deletable || sms.Mem == "" {
		return nil
	}
	if err := ss.dev.DeleteMessage(ctx, sms.Mem, sms.Index); err != nil {
		return ss.deviceErr(ctx, "delete stored sms", err)
	}
	return nil
}

// retryReport tries an unmatched status report again.
func (ss *modemSession) retryReport(ctx context.Context, e *unmatchedError) {
	err := ss.s.recv.report(ctx, ss.info.IMEI, e.report)
	var ue *unmatchedError
	switch {
	case errors.As(err, &ue):
		ss.unmatched.hold(e, time.Now(), ss.s.log, ss.info.IMEI)
	case err != nil && ctx.Err() == nil:
		ss.p.limit.log(ss.s.log, "commit", "apply status report", "modem", ss.info.IMEI, "err", err)
	}
}

// deviceErr passes on an error that ends the session (the modem is gone)
// and logs the rest, which the session survives.
func (ss *modemSession) deviceErr(ctx context.Context, op string, err error) error {
	if gone(err) {
		return fmt.Errorf("%s: %w", op, err)
	}
	if ctx.Err() == nil {
		ss.p.limit.log(ss.s.log, op, op, "modem", ss.info.IMEI, "err", err)
	}
	return nil
}

// refresh reads the modem's health and records it.
func (ss *modemSession) refresh(ctx context.Context) error {
	h, err := ss.dev.Health(ctx)
	if err != nil {
		if gone(err) {
			return err
		}
		if ctx.Err() == nil {
			ss.p.limit.log(ss.s.log, "health", "read modem health", "modem", ss.info.IMEI, "err", err)
		}
		return nil
	}
	prev := ss.info.State
	ss.applyHealth(h, nil)
	ss.s.upsert(ctx, ss.p.port, ss.info, prev)
	ss.attach()
	return nil
}

// attach gives the modem to the dispatcher while it is registered, and
// takes it back while it is not: a send without a network fails and would
// count against the message, while detached its unpinned messages go to
// other modems and its pinned ones wait.
func (ss *modemSession) attach() {
	online := ss.info.State == gateway.ModemOnline
	switch {
	case online && !ss.attached:
		ss.s.d.Attach(ss.info.IMEI, ss.dev, ss.s.limits(ss.info.IMEI))
	case !online && ss.attached:
		ss.s.d.Detach(ss.info.IMEI)
	}
	ss.attached = online
}

func (ss *modemSession) applyHealth(h gateway.DeviceHealth, err error) {
	ss.info.Operator = h.Operator
	ss.info.Registration = h.Registration
	ss.info.Roaming = h.Roaming
	ss.info.CSQ, ss.info.DBM, ss.info.Bars, ss.info.SignalKnown = h.CSQ, h.DBM, h.Bars, h.SignalKnown
	ss.info.State = gateway.ModemNotRegistered
	if h.Registered {
		ss.info.State = gateway.ModemOnline
	}
	now := ss.s.clock.Now()
	if err != nil {
		ss.info.LastError, ss.info.LastErrorAt = err.Error(), now
	}
	ss.info.UpdatedAt = now
}

// noteError makes err the modem's last error, for the status page.
func (ss *modemSession) noteError(ctx context.Context, err error) {
	now := ss.s.clock.Now()
	ss.info.LastError, ss.info.LastErrorAt, ss.info.UpdatedAt = err.Error(), now, now
	ss.s.upsert(ctx, ss.p.port, ss.info, ss.info.State)
}

// offline records the end of the session; err is why, nil at shutdown.
func (ss *modemSession) offline(ctx context.Context, err error) {
	prev := ss.info.State
	now := ss.s.clock.Now()
	ss.info.State = gateway.ModemOffline
	if err != nil {
		ss.info.LastError, ss.info.LastErrorAt = err.Error(), now
	}
	ss.info.UpdatedAt = now
	ss.s.upsert(ctx, ss.p.port, ss.info, prev)
}
