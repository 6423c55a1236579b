package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/simgate/simgate/pdu"
)

// SendRequest is POST /api/v1/messages after JSON decoding.
type SendRequest struct {
	To             string
	Text           string
	Priority       string // "high" | "normal" | "low" | "" (normal)
	Modem          string // IMEI to pin the message to; "" for any
	StatusReport   *bool  // nil means true
	TTL            time.Duration
	SendAt         time.Time
	APIKey         string // name of the authenticated key
	IdempotencyKey string
	BodyHash       string // hash of the request body, for idempotency; "" = derived from the fields
}

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

// ModemView is a modem with today's counters, for GET /api/v1/modems.
type ModemView struct {
	ModemInfo
	ModemCounters
}

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

// Scheduler is a Waker that can also be told when a message will become
// claimable, so a scheduled send is not left to the poll fallback.
type Scheduler interface{ WakeAt(t time.Time) }

// ServiceConfig tunes a Service; zero fields take the defaults.
type ServiceConfig struct {
	// DefaultRegion reads national numbers (ISO 3166 alpha-2); default "US".
	DefaultRegion string
	// AllowShortCodes lets messages go to 3–8 digit short codes.
	AllowShortCodes bool
	// MaxSegments refuses longer texts; default 10.
	MaxSegments int
	// DefaultTTL applies when a request names none; 0 = no expiry.
	DefaultTTL time.Duration
	// MaxTTL is the longest TTL accepted; default 7 days.
	MaxTTL time.Duration
}

// Defaults of ServiceConfig.
const (
	DefaultRegion      = "US"
	DefaultMaxSegments = 10
	DefaultMaxTTL      = 7 * 24 * time.Hour
)

// Listing limits shared by messages and the inbox.
const (
	defaultListLimit = 50
	maxListLimit     = 500
	// touchEvery bounds API-key "last used" writes: one per key per minute,
	// not one per request, so auth stays a read on the hot path.
	touchEvery = time.Minute
)

// Service is the gateway's API for package web and the CLI: it validates,
// commits, and wakes the Dispatcher. It holds no queue of its own, so
// several Services (one per process) may share one store.
type Service struct {
	cfg   ServiceConfig
	store Store
	waker Waker
	clock Clock
	log   *slog.Logger

	concatRef atomic.Uint32 // next concatenation reference, mod 256

	touchMu sync.Mutex
	touched map[int64]time.Time // API key ID → last TouchAPIKey
}

// NewService returns a Service; a nil waker, clock or logger means none, the
// system clock and a discard logger.
func NewService(cfg ServiceConfig, store Store, waker Waker, clock Clock, logger *slog.Logger) *Service {
	if store == nil {
		panic("gateway: NewService: nil store")
	}
	if cfg.DefaultRegion == "" {
		cfg.DefaultRegion = DefaultRegion
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
	s := &Service{cfg: cfg, store: store, waker: waker, clock: clock, log: logger, touched: map[int64]time.Time{}}
	// Start the references at random so that a restart does not reuse the
	// ones the recipients' phones may still hold incomplete sets of.
	var b [4]byte
	_, _ = rand.Read(b[:])
	s.concatRef.Store(binary.BigEndian.Uint32(b[:]))
	return s
}

// Send validates r, commits the message and wakes the dispatcher. It returns
// as soon as the row is committed; with an Idempotency-Key seen before it
// returns the message committed then and replayed = true.
func (s *Service) Send(ctx context.Context, r SendRequest) (*Message, bool, error) {
	now := s.clock.Now()
	m, err := s.newMessage(ctx, r, now)
	if err != nil {
		return nil, false, err
	}
	idem := IdempotencyKey{APIKey: r.APIKey, Key: r.IdempotencyKey, Hash: r.BodyHash}
	if idem.Key != "" && idem.Hash == "" {
		idem.Hash = requestHash(m, r)
	}
	got, replayed, err := s.store.CreateMessage(ctx, m, idem)
	if err != nil {
		return nil, false, fmt.Errorf("create message: %w", err)
	}
	if !replayed {
		s.wake(m, now)
		s.log.Debug("message queued", "message_id", m.ID, "to", MaskNumber(m.To), "segments", m.Segments, "priority", int(m.Priority))
	}
	return got, replayed, nil
}

// Queued tells the dispatcher that m, committed by another component in
// its own transaction (an OTP and its SMS), is in the queue.
func (s *Service) Queued(m *Message) { s.wake(m, s.clock.Now()) }

// DefaultRegion is the region national numbers are read in.
func (s *Service) DefaultRegion() string { return s.cfg.DefaultRegion }

// NewMessage checks r and builds the message Send would queue, without
// committing it: a component that commits it in a transaction of its own
// (OTP) calls Queued once it has.
func (s *Service) NewMessage(ctx context.Context, r SendRequest) (*Message, error) {
	return s.newMessage(ctx, r, s.clock.Now())
}

func (s *Service) wake(m *Message, now time.Time) {
	if s.waker == nil {
		return
	}
	if m.SendAt.After(now) {
		if sc, ok := s.waker.(Scheduler); ok {
			sc.WakeAt(m.SendAt)
			return
		}
	}
	s.waker.Wake()
}

// newMessage checks r field by field and builds the queued message.
func (s *Service) newMessage(ctx context.Context, r SendRequest, now time.Time) (*Message, error) {
	to, err := NormalizeNumber(r.To, s.cfg.DefaultRegion, s.cfg.AllowShortCodes)
	if err != nil {
		return nil, &ValidationError{Field: "to", Reason: "number " + err.Error()}
	}
	switch {
	case r.Text == "":
		return nil, &ValidationError{Field: "text", Reason: "is empty"}
	case !utf8.ValidString(r.Text):
		return nil, &ValidationError{Field: "text", Reason: "is not valid UTF-8"}
	}
	est := pdu.Preview(r.Text)
	if est.Segments > s.cfg.MaxSegments {
		return nil, &ValidationError{Field: "text", Reason: fmt.Sprintf(
			"needs %d segments in %s, more than the limit of %d", est.Segments, est.Encoding, s.cfg.MaxSegments)}
	}
	prio, err := ParsePriority(r.Priority)
	if err != nil {
		return nil, &ValidationError{Field: "priority", Reason: err.Error()}
	}
	ttl := r.TTL
	switch {
	case ttl < 0:
		return nil, &ValidationError{Field: "ttl", Reason: "is negative"}
	case ttl > s.cfg.MaxTTL:
		return nil, &ValidationError{Field: "ttl", Reason: fmt.Sprintf("is longer than the maximum of %s", s.cfg.MaxTTL)}
	case ttl == 0:
		ttl = s.cfg.DefaultTTL
	}
	pin := strings.TrimSpace(r.Modem)
	if pin != "" {
		if err := s.checkModem(ctx, pin); err != nil {
			return nil, err
		}
	}

	// send_at in the past means now; the TTL counts from when the message
	// may first be sent, so a scheduled message is not born expired.
	var sendAt time.Time
	start := now
	if r.SendAt.After(now) {
		sendAt, start = r.SendAt, r.SendAt
	}
	var expires time.Time
	if ttl > 0 {
		expires = start.Add(ttl)
	}
	sr := r.StatusReport == nil || *r.StatusReport

	m := &Message{
		ID:           NewID("msg_", now),
		To:           to,
		Text:         r.Text,
		Encoding:     string(est.Encoding),
		Segments:     est.Segments,
		Priority:     prio,
		Pin:          pin,
		StatusReport: sr,
		Status:       StatusQueued,
		ConcatRef:    int(s.concatRef.Add(1) % 256),
		APIKey:       r.APIKey,
		CreatedAt:    now,
		SendAt:       sendAt,
		ExpiresAt:    expires,
		Parts:        make([]Part, est.Segments),
	}
	for i := range m.Parts {
		m.Parts[i] = Part{Index: i + 1, Status: StatusQueued, ReportCode: -1}
	}
	return m, nil
}

// checkModem refuses a pin to a modem the gateway has never seen: the
// message would wait forever.
func (s *Service) checkModem(ctx context.Context, imei string) error {
	mods, err := s.store.Modems(ctx)
	if err != nil {
		return fmt.Errorf("list modems: %w", err)
	}
	for _, m := range mods {
		if m.IMEI == imei {
			return nil
		}
	}
	return &ValidationError{Field: "modem", Reason: fmt.Sprintf("no modem with IMEI %q is known to this gateway", imei)}
}

// ParsePriority reads the API's priority names; "" is normal.
func ParsePriority(s string) (Priority, error) {
	switch s {
	case "normal", "":
		return PriorityNormal, nil
	case "high":
		return PriorityHigh, nil
	case "low":
		return PriorityLow, nil
	}
	return 0, fmt.Errorf("is %q; want high, normal or low", s)
}

// String is the API name of p.
func (p Priority) String() string {
	switch p {
	case PriorityHigh:
		return "high"
	case PriorityNormal:
		return "normal"
	case PriorityLow:
		return "low"
	}
	return "priority(" + strconv.Itoa(int(p)) + ")"
}

// requestHash stands in for a body hash the caller did not give: the fields
// that make the message, normalised, so the same request in other JSON
// spelling still matches.
func requestHash(m *Message, r SendRequest) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%s\x00%t\x00%d\x00%d", m.To, m.Text, m.Priority, m.Pin,
		m.StatusReport, r.TTL, r.SendAt.UnixNano())
	return hex.EncodeToString(h.Sum(nil))
}

// Message returns one message with its parts.
func (s *Service) Message(ctx context.Context, id string) (*Message, error) {
	m, err := s.store.Message(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get message: %w", err)
	}
	return m, nil
}

// Messages lists messages newest first, a page at a time.
func (s *Service) Messages(ctx context.Context, f MessageFilter) ([]*Message, string, error) {
	switch f.Status {
	case "", StatusQueued, StatusSending, StatusSent, StatusDelivered, StatusFailed, StatusExpired, StatusCanceled:
	default:
		return nil, "", &ValidationError{Field: "status", Reason: fmt.Sprintf("is %q; want one of queued, sending, sent, delivered, failed, expired, canceled", f.Status)}
	}
	limit, err := listLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	f.Limit = limit
	if f.To != "" {
		to, err := NormalizeNumber(f.To, s.cfg.DefaultRegion, true)
		if err != nil {
			return nil, "", &ValidationError{Field: "to", Reason: "number " + err.Error()}
		}
		f.To = to
	}
	msgs, next, err := s.store.Messages(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("list messages: %w", err)
	}
	return msgs, next, nil
}

func listLimit(n int) (int, error) {
	switch {
	case n == 0:
		return defaultListLimit, nil
	case n < 0 || n > maxListLimit:
		return 0, &ValidationError{Field: "limit", Reason: fmt.Sprintf("is %d; want 1 to %d", n, maxListLimit)}
	}
	return n, nil
}

// Cancel cancels a message still queued; ErrConflict once it is sending or
// final. Nothing needs waking: a worker that claims it no longer finds it.
func (s *Service) Cancel(ctx context.Context, id string) (*Message, error) {
	m, err := s.store.CancelMessage(ctx, id, s.clock.Now())
	if err != nil {
		return nil, fmt.Errorf("cancel message: %w", err)
	}
	return m, nil
}

// Inbox lists received messages since a time, oldest first as the store
// orders them.
func (s *Service) Inbox(ctx context.Context, since time.Time, limit int) ([]*InboundMessage, error) {
	limit, err := listLimit(limit)
	if err != nil {
		return nil, err
	}
	in, err := s.store.Inbox(ctx, since, limit)
	if err != nil {
		return nil, fmt.Errorf("list inbox: %w", err)
	}
	return in, nil
}

// Modems lists every known modem with its counters since local midnight.
func (s *Service) Modems(ctx context.Context) ([]ModemView, error) {
	mods, err := s.store.Modems(ctx)
	if err != nil {
		return nil, fmt.Errorf("list modems: %w", err)
	}
	day := DayStart(s.clock.Now())
	out := make([]ModemView, 0, len(mods))
	for _, m := range mods {
		c, err := s.store.ModemCounters(ctx, m.IMEI, day)
		if err != nil {
			return nil, fmt.Errorf("modem counters %s: %w", m.IMEI, err)
		}
		out = append(out, ModemView{ModemInfo: m, ModemCounters: c})
	}
	return out, nil
}

// DayStart is local midnight of the day of t: daily caps and counters follow
// the gateway's calendar, as a carrier's daily limit does.
func DayStart(t time.Time) time.Time {
	t = t.Local()
	y, mo, d := t.Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.Local)
}

// Authenticate returns the API key whose secret is key; ErrUnauthorized when
// it is unknown or revoked. Only the SHA-256 of the key is looked up, so the
// comparison leaks nothing about stored keys; the key itself is never logged.
func (s *Service) Authenticate(ctx context.Context, key string) (APIKey, error) {
	if key == "" {
		return APIKey{}, ErrUnauthorized
	}
	k, err := s.store.APIKeyByHash(ctx, HashAPIKey(key))
	switch {
	case errors.Is(err, ErrNotFound):
		return APIKey{}, ErrUnauthorized
	case err != nil:
		return APIKey{}, fmt.Errorf("look up api key: %w", err)
	case !k.RevokedAt.IsZero():
		return APIKey{}, ErrUnauthorized
	}
	s.touch(ctx, k)
	return k, nil
}

// touch records a key's use, at most once a minute per key; a failure costs
// only the "last used" column, so it is logged and not returned.
func (s *Service) touch(ctx context.Context, k APIKey) {
	now := s.clock.Now()
	s.touchMu.Lock()
	last, ok := s.touched[k.ID]
	due := !ok || now.Sub(last) >= touchEvery || now.Before(last)
	if due {
		s.touched[k.ID] = now
	}
	s.touchMu.Unlock()
	if !due {
		return
	}
	if err := s.store.TouchAPIKey(ctx, k.ID, now); err != nil {
		s.log.Warn("record api key use", "api_key", k.Name, "err", err)
	}
}

// HashAPIKey is how API keys are stored: hex SHA-256. Keys carry 190 random
// bits, so a fast unsalted hash is enough.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// APIKeyPrefix starts every API key, so that secret scanners and people can
// tell one at a glance.
const APIKeyPrefix = "sg_"

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// CreateAPIKey makes a key named name and returns its secret, which exists
// only in this return value: the store keeps its hash.
func (s *Service) CreateAPIKey(ctx context.Context, name string, scopes []string) (string, APIKey, error) {
	if err := validKeyName(name); err != nil {
		return "", APIKey{}, err
	}
	secret := newSecret()
	k, err := s.store.CreateAPIKey(ctx, APIKey{
		Name:      name,
		Hash:      HashAPIKey(secret),
		Scopes:    scopes,
		CreatedAt: s.clock.Now(),
	})
	if err != nil {
		return "", APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	return secret, k, nil
}

// validKeyName keeps names usable as the user of Basic auth and Kannel's
// username: no colon, no spaces.
func validKeyName(name string) error {
	if name == "" || len(name) > 64 {
		return &ValidationError{Field: "name", Reason: "must be 1 to 64 characters"}
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return &ValidationError{Field: "name", Reason: fmt.Sprintf("has %q; use letters, digits, '-', '_' and '.'", r)}
		}
	}
	return nil
}

// newSecret returns APIKeyPrefix and 32 base62 characters (190 bits) drawn
// without modulo bias.
func newSecret() string {
	b := []byte(APIKeyPrefix)
	n := big.NewInt(int64(len(base62)))
	for range 32 {
		i, _ := rand.Int(rand.Reader, n) // crypto/rand never fails (Go ≥ 1.24)
		b = append(b, base62[i.Int64()])
	}
	return string(b)
}

// APIKeys lists every key, revoked ones included; no secrets.
func (s *Service) APIKeys(ctx context.Context) ([]APIKey, error) {
	ks, err := s.store.APIKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return ks, nil
}

// RevokeAPIKey revokes the key named name from now on.
func (s *Service) RevokeAPIKey(ctx context.Context, name string) error {
	if err := s.store.RevokeAPIKey(ctx, name, s.clock.Now()); err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	return nil
}

// Ready is nil when the store answers and at least one modem is online.
func (s *Service) Ready(ctx context.Context) error {
	mods, err := s.store.Modems(ctx)
	if err != nil {
		// /readyz answers anyone: the driver's words go to the log only.
		s.log.Error("readiness: database", "err", err)
		return errors.New("database unavailable")
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
