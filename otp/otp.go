package otp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway"
)

// OTP defaults after otp-security.md §8.
const (
	DefaultOTPLength         = 6
	MinOTPLength             = 4
	MaxOTPLength             = 10
	DefaultOTPTTL            = 5 * time.Minute
	DefaultOTPMaxTTL         = 10 * time.Minute // NIST SP 800-63B §5.1.3.2, ASVS 6.5.5
	DefaultOTPMaxAttempts    = 5
	DefaultOTPMaxSends       = 5
	DefaultOTPResendInterval = 30 * time.Second
	DefaultOTPFallbackAfter  = 60 * time.Second
	DefaultOTPRerouteAfter   = 20 * time.Second
	DefaultOTPRetention      = 30 * 24 * time.Hour
	DefaultOTPWatchEvery     = time.Second
	maxPurposeLen            = 64
	maxEmailLen              = 254
)

// Request is POST /api/v1/otp after JSON decoding. Zero fields take the
// configured defaults.
type Request struct {
	To       string        // the phone number, any format NormalizeNumber reads
	Template string        // template name; "" = "default"
	Locale   string        // "de", "pt-BR"; "" = the configured default
	Domain   string        // adds the origin-bound last line "@domain #code"
	AppHash  string        // Android SMS Retriever hash, 11 characters
	Purpose  string        // scopes "one pending verification per number"
	Channel  string        // "sms" (default) or "email"
	Email    string        // for channel email and for the fallback
	Length   int           // code digits, 4–10
	TTL      time.Duration // code lifetime
	Fallback bool          // send the code by email when the SMS fails or is late
	APIKey   string        // name of the authenticated key
	OwnerKey int64         // its ID: the verification's owner, and the namespace of (To, Purpose)
}

// ErrOTPSealed means an OTP message or code cannot be opened with this
// gateway's key (the key file was replaced).
var ErrOTPSealed = errors.New("otp sealed with another key")

// Config tunes a Service; zero fields take the defaults.
type Config struct {
	// App fills {app} in templates.
	App            string
	Length         int
	TTL            time.Duration
	MaxTTL         time.Duration // the longest TTL a request may ask for
	MaxAttempts    int
	MaxSends       int
	ResendInterval time.Duration
	FallbackAfter  time.Duration
	Retention      time.Duration
	// Templates maps a template name to its text per locale; "default" and
	// its locale DefaultLocale always exist (built in when not configured).
	Templates     map[string]map[string]string
	DefaultLocale string
	// Email is the email channel's content; zero fields are built in.
	Email  EmailTemplate
	Limits Limits
	// WatchEvery is how often Run looks at the SMS in flight.
	WatchEvery time.Duration
	// Router, when set, chooses the modem each code SMS goes out on.
	Router gateway.Router
	// RerouteAfter is how long an SMS may go without a delivery report
	// before its code is sent again through another modem (Router needed);
	// default DefaultOTPRerouteAfter, negative: never.
	RerouteAfter time.Duration
}

// Store is what the OTP service needs of storage: verifications, and the
// event log that tells it what became of their SMS.
type Store interface {
	gateway.OTPStore
	gateway.EventLog
}

// Service issues and checks one-time codes. SMS codes travel as normal
// messages in the high-priority lane, through the Service.
type Service struct {
	cfg    Config
	svc    *gateway.Service
	store  Store
	mailer gateway.Mailer
	clock  gateway.Clock
	log    *slog.Logger
	macKey []byte
	seal   *sealer
	tmpl   *otpTemplates
	limits *limiter

	watched *watchedSMS // the SMS whose events are worth a look-up

	runMu   sync.Mutex
	breaker time.Time // last breaker evaluation
	purged  time.Time // last purge
}

// New checks cfg (every template must fit one SMS segment) and
// returns the service. key is the 32-byte secret of LoadKey. A nil
// mailer disables the email channel; a nil clock or logger means the
// system clock and a discard logger.
func New(cfg Config, svc *gateway.Service, st Store, key []byte, mailer gateway.Mailer, clock gateway.Clock, logger *slog.Logger) (*Service, error) {
	if svc == nil || st == nil {
		panic("otp: New: nil service or store")
	}
	if len(key) != OTPKeySize {
		return nil, fmt.Errorf("otp key: %d bytes, want %d", len(key), OTPKeySize)
	}
	if clock == nil {
		clock = gateway.SystemClock{}
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	tm, err := newOTPTemplates(cfg)
	if err != nil {
		return nil, err
	}
	lim, err := newLimiter(cfg.Limits)
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg:     cfg,
		svc:     svc,
		store:   st,
		mailer:  mailer,
		clock:   clock,
		log:     logger,
		macKey:  deriveKey(key, "simgate otp code hmac v1"),
		seal:    newSealer(key),
		tmpl:    tm,
		limits:  lim,
		watched: newWatchedSMS(),
	}
	return s, nil
}

func (c *Config) setDefaults() error {
	if c.App == "" {
		c.App = "simgate"
	}
	if c.Length == 0 {
		c.Length = DefaultOTPLength
	}
	if c.Length < MinOTPLength || c.Length > MaxOTPLength {
		return fmt.Errorf("otp length %d: want %d to %d", c.Length, MinOTPLength, MaxOTPLength)
	}
	if c.MaxTTL <= 0 {
		c.MaxTTL = DefaultOTPMaxTTL
	}
	if c.TTL <= 0 {
		c.TTL = min(DefaultOTPTTL, c.MaxTTL)
	}
	if c.TTL > c.MaxTTL {
		return fmt.Errorf("otp ttl %s is longer than max_ttl %s", c.TTL, c.MaxTTL)
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultOTPMaxAttempts
	}
	if c.MaxSends <= 0 {
		c.MaxSends = DefaultOTPMaxSends
	}
	if c.ResendInterval <= 0 {
		c.ResendInterval = DefaultOTPResendInterval
	}
	if c.FallbackAfter <= 0 {
		c.FallbackAfter = DefaultOTPFallbackAfter
	}
	if c.Retention <= 0 {
		c.Retention = DefaultOTPRetention
	}
	if c.RerouteAfter == 0 {
		c.RerouteAfter = DefaultOTPRerouteAfter
	}
	if c.WatchEvery <= 0 {
		c.WatchEvery = DefaultOTPWatchEvery
	}
	if c.DefaultLocale == "" {
		c.DefaultLocale = "en"
	}
	c.Limits.setDefaults()
	return nil
}

// Config returns the configuration in force, defaults applied.
func (s *Service) Config() Config { return s.cfg }
