package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simgate/simgate/modem/at"
)

// Config tunes a Modem. The zero value is usable.
type Config struct {
	// Logger receives raw traffic at Debug and degraded-mode notes at Warn;
	// nil discards everything.
	Logger *slog.Logger
	// PIN is entered by Init when the SIM asks for it.
	PIN string
	// CommandTimeout bounds ordinary commands (default 10 s).
	CommandTimeout time.Duration
	// PromptTimeout bounds the wait for the "> " prompt of AT+CMGS (default 5 s).
	PromptTimeout time.Duration
	// SendTimeout bounds the wait for the +CMGS final result (default 60 s).
	SendTimeout time.Duration
	// ListTimeout bounds AT+CMGL and AT+COPS (default 30 s).
	ListTimeout time.Duration
	// ResyncTimeout bounds the wait for each marker command that brings the
	// line back in step after a command went unanswered (default 5 s; see
	// package at, Resync).
	ResyncTimeout time.Duration
	// Profile forces a vendor profile; nil detects it from AT+CGMI in Init.
	Profile *Profile
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = 10 * time.Second
	}
	if c.PromptTimeout <= 0 {
		c.PromptTimeout = 5 * time.Second
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 60 * time.Second
	}
	if c.ListTimeout <= 0 {
		c.ListTimeout = 30 * time.Second
	}
	if c.ResyncTimeout <= 0 {
		c.ResyncTimeout = 5 * time.Second
	}
	return c
}

// Modem drives one modem: SMS, USSD, identity and registration on an AT
// engine (package at), whose unsolicited lines it turns into Events. Its
// methods are safe for concurrent use; commands are sent one at a time.
type Modem struct {
	eng *at.Engine
	cfg Config
	log *slog.Logger

	ussdSem   chan struct{} // held for a USSD request and its +CUSD answer
	closing   chan struct{} // closed by Close
	closeOnce sync.Once
	wg        sync.WaitGroup // pump and acker

	mu          sync.Mutex      // guards what follows
	ussd        chan string     // +CUSD lines for a waiting USSD call
	mem         string          // storage read by +CMGR/+CMGL (<mem1> of +CPMS)
	missing     map[string]bool // storages the modem refused (storage.go)
	profileInds []string        // indications added for the profile in use
	unknownAt   time.Time       // when the last send of unknown outcome ended (late.go); zero: none

	profile atomic.Pointer[Profile]
	needAck atomic.Bool // +CMT/+CDS must be acknowledged with +CNMA
	ackCh   chan struct{}

	evq    *eventQueue // bounded: see eventQueue
	events chan Event
}

// New starts driving rw: it starts the engine's reader and does no other
// I/O. If rw is also an io.Closer, Close closes it and the Modem owns it;
// otherwise the caller must make rw's Read return (EOF or an error) to stop
// the reader.
func New(rw io.ReadWriter, cfg Config) *Modem {
	cfg = cfg.withDefaults()
	m := &Modem{
		cfg:     cfg,
		log:     cfg.Logger,
		ussdSem: make(chan struct{}, 1),
		closing: make(chan struct{}),
		ackCh:   make(chan struct{}, 64),
		evq:     newEventQueue(),
		events:  make(chan Event),
	}
	inds := m.indications()
	if cfg.Profile != nil {
		p := cfg.Profile.clone()
		m.profile.Store(p)
		pinds := m.profileIndications(p)
		inds = append(inds, pinds...)
		for _, ind := range pinds {
			m.profileInds = append(m.profileInds, ind.Prefix)
		}
	}
	m.eng = at.New(rw, at.Config{
		Logger:        cfg.Logger,
		Indications:   inds,
		Unsolicited:   m.onUnsolicited,
		ResyncTimeout: cfg.ResyncTimeout,
	})
	m.wg.Add(2)
	go m.pump()
	go m.acker()
	return m
}

// Close closes the port and waits for the Modem's goroutines. Pending and
// later calls return ErrClosed; Events is closed without delivering what is
// still queued.
func (m *Modem) Close() error {
	m.closeOnce.Do(func() { close(m.closing) })
	err := m.eng.Close()
	m.wg.Wait()
	return err
}

// Done is closed once the port is gone (EOF, read or write error, Close).
func (m *Modem) Done() <-chan struct{} { return m.eng.Done() }

// Err returns why the port is gone, nil while it is open.
func (m *Modem) Err() error { return m.eng.Err() }

// Profile returns the vendor profile in use: Config.Profile, the one Init
// detected, or nil before Init.
func (m *Modem) Profile() *Profile {
	if p := m.profile.Load(); p != nil {
		return p.clone()
	}
	return nil
}

// closedErr is what a call returns once the port is gone.
func (m *Modem) closedErr() error {
	if err := m.eng.Err(); err != nil && !errors.Is(err, ErrClosed) {
		return fmt.Errorf("%w (%w)", ErrClosed, err)
	}
	return ErrClosed
}

// lock takes the command line; it is held across a command sequence that
// must not be interleaved (CPMS switch, read, restore).
func (m *Modem) lock(ctx context.Context) error { return m.eng.Lock(ctx) }

func (m *Modem) unlock() { m.eng.Unlock() }

// exec runs one command on the engine, the lock held, and gives +CME and
// +CMS errors their meaning.
func (m *Modem) exec(ctx context.Context, r at.Request) ([]string, error) {
	info, err := m.eng.Exec(ctx, r)
	return info, typedError(err)
}

// run takes the lock and runs one command with the default timeout for it.
func (m *Modem) run(ctx context.Context, cmd string, prefixes ...string) ([]string, error) {
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	defer m.unlock()
	return m.runLocked(ctx, cmd, prefixes...)
}

func (m *Modem) runLocked(ctx context.Context, cmd string, prefixes ...string) ([]string, error) {
	r := at.Request{Command: cmd, Timeout: m.timeoutFor(cmd)}
	if len(prefixes) > 0 {
		r.Prefixes = prefixes
	}
	info, err := m.exec(ctx, r)
	if err != nil {
		return info, fmt.Errorf("%s: %w", cmd, err)
	}
	return info, nil
}

func (m *Modem) timeoutFor(cmd string) time.Duration {
	u := strings.ToUpper(cmd)
	switch {
	case strings.HasPrefix(u, "AT+CMGL"), strings.HasPrefix(u, "AT+COPS"):
		return m.cfg.ListTimeout
	case strings.HasPrefix(u, "AT+CMGS"), strings.HasPrefix(u, "AT+CMSS"):
		return m.cfg.SendTimeout
	}
	return m.cfg.CommandTimeout
}

// Command sends a raw command ("AT" is prepended unless cmd starts with it)
// and returns its information lines. URCs are never among them: they go to
// Events. It is meant for the interactive console.
func (m *Modem) Command(ctx context.Context, cmd string) ([]string, error) {
	cmd = strings.TrimSpace(cmd)
	if len(cmd) < 2 || !strings.EqualFold(cmd[:2], "AT") {
		cmd = "AT" + cmd
	}
	return m.run(ctx, cmd)
}

// sleep waits d, or less when ctx ends or the port goes.
func (m *Modem) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-m.Done():
		return m.closedErr()
	}
}

// acker acknowledges +CMT/+CDS with AT+CNMA when the modem expects it
// (AT+CSMS=1), from its own goroutine because the reader must never wait
// for the command line.
func (m *Modem) acker() {
	defer m.wg.Done()
	for {
		select {
		case <-m.ackCh:
			ctx, cancel := context.WithTimeout(context.Background(), m.cfg.CommandTimeout)
			_, err := m.run(ctx, "AT+CNMA")
			cancel()
			if errors.Is(err, ErrClosed) {
				return
			}
			if err != nil {
				m.log.Warn("acknowledge sms", "err", err)
			}
		case <-m.Done():
			return
		}
	}
}
