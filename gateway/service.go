package gateway

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ValidationError is a request field the gateway refuses, with a reason a
// client developer can act on. errors.Is(err, ErrInvalid) holds.
type ValidationError struct {
	Field  string
	Reason string
}

// Error returns "field: reason".
func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// ServiceAPI is what package web needs from the gateway.
type ServiceAPI interface {
	Send(ctx context.Context, r SendRequest) (m *Message, replayed bool, err error)
	Message(ctx context.Context, id string) (*Message, error)
	Messages(ctx context.Context, f MessageFilter) ([]*Message, string, error)
	Cancel(ctx context.Context, id string) (*Message, error)
	Inbox(ctx context.Context, since time.Time, limit int) ([]*InboundMessage, error)
	Modems(ctx context.Context) ([]ModemView, error)
	// Authenticate returns the API key whose secret is key (ErrUnauthorized
	// otherwise) and records its use.
	Authenticate(ctx context.Context, key string) (APIKey, error)
	// Ready is nil when the database answers and at least one modem is online.
	Ready(ctx context.Context) error
}

var _ ServiceAPI = (*Service)(nil)

// Waker is told that the queue changed; the Dispatcher is one.
type Waker interface{ Wake() }

// PinWaker is a Waker that can be told which modem a new message is pinned
// to ("" for none): the Dispatcher then wakes that modem's worker, or one
// idle worker, rather than every one of them to claim for nothing.
type PinWaker interface{ WakeFor(pin string) }

// Scheduler is a Waker that can also be told when a message will become
// claimable, so a scheduled send is not left to the poll fallback.
type Scheduler interface{ WakeAt(t time.Time) }

// ServiceConfig tunes a Service; zero fields take the defaults.
type ServiceConfig struct {
	// DefaultRegion reads national numbers (ISO 3166 alpha-2); "" follows
	// the SIMs (LearnRegion) and is DefaultRegion until one is known.
	DefaultRegion string
	// AllowShortCodes lets messages go to 3–8 digit short codes.
	AllowShortCodes bool
	// MaxSegments refuses longer texts; default 10.
	MaxSegments int
	// DefaultTTL applies when a request names none; 0 = no expiry.
	DefaultTTL time.Duration
	// MaxTTL is the longest TTL accepted; default 7 days.
	MaxTTL time.Duration
	// Limits bound each API key's sends; the zero value limits nothing.
	Limits SendLimits
	// Destinations is where Send may send; the zero value allows the home
	// region's country (Region) and refuses DefaultRefusedNumberTypes.
	// NewService panics on a policy CheckDestinations refuses.
	Destinations DestinationPolicy
	// Router, when set, pins each message sent without a modem to the one
	// it chooses (config routing.messages); nil leaves it to whichever
	// modem is free. OTP codes are routed by the OTP service either way.
	Router Router
	// Pauses, when set, tells Modems which modems are paused (the
	// dispatcher, which pauses one after a network-side send error).
	Pauses ModemPauses
	// HostTimeout is, on a database several hosts share, how long a host
	// may go without a heartbeat before Modems lists its modems offline
	// (the dispatcher's lease: its claims are others' by then). 0 never.
	HostTimeout time.Duration
}

// CheckDestinations is nil when NewService accepts p.
func CheckDestinations(p DestinationPolicy) error {
	_, err := newDestinations(p)
	return err
}

// Defaults of ServiceConfig.
const (
	DefaultRegion      = "US"
	DefaultMaxSegments = 10
	DefaultMaxTTL      = 7 * 24 * time.Hour
)

// Service is the gateway's API for package web and the CLI: it validates,
// commits, and wakes the Dispatcher. It holds no queue of its own, so
// several Services (one per process) may share one store.
type Service struct {
	cfg    ServiceConfig
	store  Store
	waker  Waker
	clock  Clock
	log    *slog.Logger
	dest   destinations
	limits *keyLimits
	region *homeRegion

	concatRef atomic.Uint32 // next concatenation reference, mod 256

	touchMu sync.Mutex
	touched map[int64]time.Time // API key ID → last TouchAPIKey
	keys    keyCache            // keys Authenticate found valid, for a second
}

// NewService returns a Service; a nil waker, clock or logger means none, the
// system clock and a discard logger.
func NewService(cfg ServiceConfig, store Store, waker Waker, clock Clock, logger *slog.Logger) *Service {
	if store == nil {
		panic("gateway: NewService: nil store")
	}
	cfg.DefaultRegion = strings.ToUpper(cfg.DefaultRegion)
	if cfg.MaxSegments <= 0 {
		cfg.MaxSegments = DefaultMaxSegments
	}
	if cfg.MaxTTL <= 0 {
		cfg.MaxTTL = DefaultMaxTTL
	}
	cfg.DefaultTTL = min(max(cfg.DefaultTTL, 0), cfg.MaxTTL)
	if clock == nil {
		clock = SystemClock{}
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	dest, err := newDestinations(cfg.Destinations)
	if err != nil {
		panic("gateway: NewService: " + err.Error())
	}
	s := &Service{cfg: cfg, store: store, waker: waker, clock: clock, log: logger, dest: dest,
		limits: newKeyLimits(cfg.Limits), touched: map[int64]time.Time{}, region: newHomeRegion(cfg.DefaultRegion)}
	s.keys.max = keyCacheMax
	// Start the references at random so that a restart does not reuse the
	// ones the recipients' phones may still hold incomplete sets of.
	var b [4]byte
	_, _ = rand.Read(b[:])
	s.concatRef.Store(binary.BigEndian.Uint32(b[:]))
	return s
}

// Ready is nil when the store answers and at least one modem is online.
func (s *Service) Ready(ctx context.Context) error {
	mods, err := s.store.Modems(ctx)
	if err != nil {
		// /readyz answers anyone: the driver's words go to the log only.
		s.log.Error("readiness: database", "err", err)
		return errors.New("database unavailable")
	}
	if err := s.store.Writable(ctx); err != nil {
		s.log.Error("readiness: database", "err", err)
		return errors.New("database cannot write (disk full?)")
	}
	if len(mods) == 0 {
		return errors.New("no modem known yet")
	}
	states := map[ModemState]int{}
	for _, m := range mods {
		if m.State == ModemOnline {
			return nil
		}
		states[m.State]++
	}
	var b strings.Builder
	for _, st := range slices.Sorted(maps.Keys(states)) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d %s", states[st], st)
	}
	return fmt.Errorf("no modem online (%s)", b.String())
}
