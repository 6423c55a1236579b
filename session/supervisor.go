package session

import (
	"context"
	"io"
	"log/slog"
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

// Store is what the supervisor needs of storage: the modems' records, the
// inbox and the matching of delivery reports.
type Store interface {
	gateway.Modems
	gateway.Inbox
	gateway.Reports
}

// Config tunes a Supervisor. The zero value discovers nothing:
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
	// Host names this gateway among those sharing a PostgreSQL database
	// ("" on SQLite): at start only this host's modems are marked offline.
	Host string
	// PollInterval is how often registration, operator and signal are read
	// (default 30 s).
	PollInterval time.Duration
	// RegistrationRefresh is the least time between two health reads asked
	// for by registration events (default 5 s): a flapping modem sends them
	// by the hundred, and each read is several commands. The last event of
	// a burst is always followed by a read.
	RegistrationRefresh time.Duration
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
	// HungAfter is how many health reads in a row, back to back, may go
	// unanswered (gateway.ErrNoAnswer) before the modem is taken as hung and
	// escalated: resync, CFUN reset, reopen, USB reset, locate (escalate.go).
	// Default 2. A send that gets no answer asks for a read at once.
	HungAfter int
	// ResetWait bounds the wait for a modem to answer Init again after the
	// CFUN reset (default 60 s).
	ResetWait time.Duration
	// ResetUSB resets the USB device of a port and says how
	// (modemdev.ResetUSB); "" and no error when the port is no USB
	// device's tty, and the step is skipped. Nil skips it always.
	ResetUSB func(ctx context.Context, port string) (string, error)
	// Locate looks for the modem with imei on every port but those skip
	// reports (held by a session) and returns the port it answers on, ""
	// when none. Nil leaves it to discovery, when there is one.
	Locate func(ctx context.Context, imei string, skip func(port string) bool) (string, error)
	// OnEscalation is told of every escalation step taken (for metrics);
	// nil ignores them.
	OnEscalation func(imei string, step Step)
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
	store  Store
	d      Attacher
	open   gateway.Opener
	clock  gateway.Clock
	log    *slog.Logger
	recv   *receiver
	limits func(string) gateway.ModemLimits

	mu      sync.Mutex
	active  map[string]holder // IMEI → the session that holds it: one owner per modem
	rescanc chan struct{}     // a port gave up on a hung modem: discover now
}

// New returns a Supervisor; Run starts it. d is normally the
// *dispatch.Dispatcher; a nil logger discards.
func New(cfg Config, store Store, d Attacher, open gateway.Opener, clock gateway.Clock, logger *slog.Logger) *Supervisor {
	if store == nil || d == nil || open == nil {
		panic("session: New needs a store, a dispatcher and an opener")
	}
	if clock == nil {
		clock = gateway.SystemClock{}
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.DiscoverInterval = orDefault(cfg.DiscoverInterval, 15*time.Second)
	cfg.PollInterval = orDefault(cfg.PollInterval, 30*time.Second)
	cfg.RegistrationRefresh = orDefault(cfg.RegistrationRefresh, 5*time.Second)
	cfg.BackoffMin = orDefault(cfg.BackoffMin, time.Second)
	cfg.BackoffMax = max(orDefault(cfg.BackoffMax, 30*time.Second), cfg.BackoffMin)
	cfg.ReportWindow = orDefault(cfg.ReportWindow, 72*time.Hour)
	cfg.StaleAfter = orDefault(cfg.StaleAfter, 24*time.Hour)
	cfg.StaleEvery = orDefault(cfg.StaleEvery, 10*time.Minute)
	if cfg.ErrorAfter <= 0 {
		cfg.ErrorAfter = 3
	}
	if cfg.HungAfter <= 0 {
		cfg.HungAfter = 2
	}
	cfg.ResetWait = orDefault(cfg.ResetWait, time.Minute)
	limits := cfg.Limits
	if limits == nil {
		limits = func(string) gateway.ModemLimits { return gateway.ModemLimits{} }
	}
	return &Supervisor{
		cfg:     cfg,
		store:   store,
		d:       d,
		open:    open,
		clock:   clock,
		log:     logger,
		limits:  limits,
		active:  map[string]holder{},
		rescanc: make(chan struct{}, 1),
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
	s.forgetStates(ctx)
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
		ports, err := s.cfg.Discover(ctx, func(port string) bool { return running[port] || s.held(port) })
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
		case <-s.rescanc:
			scan()
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
