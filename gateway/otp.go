package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Verification statuses (DESIGN.md §4). Blocked is internal: the API shows
// a blocked verification as pending, so that a client cannot tell which
// abuse limit refused a number.
const (
	OTPPending     = "pending"
	OTPApproved    = "approved"
	OTPExpired     = "expired"
	OTPMaxAttempts = "max_attempts_reached"
	OTPCanceled    = "canceled"
	OTPFailed      = "failed"
	OTPBlocked     = "blocked"
)

// OTP delivery channels.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
)

// Channel attempt states.
const (
	AttemptQueued    = "queued"    // the SMS is in the queue
	AttemptSent      = "sent"      // accepted by the SMSC or the mail server
	AttemptDelivered = "delivered" // the handset's delivery report said so
	AttemptFailed    = "failed"
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
	DefaultOTPRetention      = 30 * 24 * time.Hour
	DefaultOTPWatchEvery     = time.Second
	maxPurposeLen            = 64
	maxEmailLen              = 254
)

// OTPRequest is POST /api/v1/otp after JSON decoding. Zero fields take the
// configured defaults.
type OTPRequest struct {
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
}

// ChannelAttempt is one delivery of a code.
type ChannelAttempt struct {
	Channel   string    `json:"channel"`
	MessageID string    `json:"message_id,omitempty"` // the SMS, for channel sms
	Status    string    `json:"status"`
	Error     string    `json:"error,omitempty"`
	At        time.Time `json:"at"`
}

// Verification is an OTP as the API shows it: never the code.
type Verification struct {
	ID           string
	To           string
	Channel      string
	Status       string // one of the OTP* statuses; Public gives the API's view
	Purpose      string
	Email        string
	ExpiresAt    time.Time
	CreatedAt    time.Time
	MessageID    string // the SMS carrying the current code ("" for email)
	AttemptsLeft int
	Sends        int
	Fallback     bool
	Channels     []ChannelAttempt
	BlockReason  string // why a blocked verification was refused; operators only
}

// PublicStatus is the status an API client sees: blocked shows as pending
// (or as max_attempts_reached once its checks are spent).
func (v *Verification) PublicStatus() string {
	if v.Status == OTPBlocked {
		if v.AttemptsLeft <= 0 {
			return OTPMaxAttempts
		}
		return OTPPending
	}
	return v.Status
}

// OTPRecord is a verification as the store keeps it. CodeHash is
// HMAC-SHA256(key, id ‖ code); CodeSealed is the code under AES-GCM, kept
// only while an email fallback may still need it. Both are emptied when the
// verification ends.
type OTPRecord struct {
	Verification
	CodeHash     []byte
	CodeSealed   []byte
	Length       int
	Attempts     int // wrong checks so far
	MaxAttempts  int
	MaxSends     int
	Template     string
	Locale       string
	Domain       string
	AppHash      string
	Country      string // ISO 3166 region of To, for stats
	Prefix       string // To without its last 4 digits, for velocity and the breaker
	APIKey       string
	LastSentAt   time.Time
	FallbackAt   time.Time // when an undelivered SMS falls back to email
	FallbackDone bool
	Watch        bool // Run still waits for the SMS's outcome
	FinishedAt   time.Time
}

// OTPCounts are what the abuse limits need, read in the transaction that
// creates a verification so that a burst cannot slip past them.
type OTPCounts struct {
	NumberHour    int            // sends to the number in the last hour
	NumberDay     int            // … in the last 24 hours
	PrefixHour    int            // sends to the number's prefix in the last hour
	PrefixBlocked *BlockedPrefix // nil when the prefix is not blocked now
}

// BlockedPrefix is a number prefix the conversion breaker (or an operator)
// blocked until Until.
type BlockedPrefix struct {
	Prefix    string
	Reason    string
	Sends     int // verifications in the window that tripped the breaker
	Approvals int
	BlockedAt time.Time
	Until     time.Time
}

// PrefixConversion is how the codes sent to one prefix fared.
type PrefixConversion struct {
	Prefix        string
	Verifications int
	Approvals     int
}

// OTPStat is one day and country of OTP traffic.
type OTPStat struct {
	Day            time.Time // UTC midnight
	Country        string
	Verifications  int
	Sends          int
	Approvals      int
	Blocked        int
	ConversionRate float64 // approvals / verifications not blocked
}

// OTPStore is what the OTP service needs of storage, beside Store.
// Implemented by package store on SQLite.
type OTPStore interface {
	// CreateVerification runs, in one write transaction: it reads the
	// pending (or blocked) verification of (to, purpose), if any, and the
	// counts at now, and calls decide. decide returns existing to keep it
	// (nothing is written) or a new record, which is inserted after the
	// existing one, if any, is canceled. Every send the new record counts is
	// logged for the limits.
	CreateVerification(ctx context.Context, now time.Time, to, purpose, prefix string,
		decide func(existing *OTPRecord, c OTPCounts) (*OTPRecord, error)) (*OTPRecord, error)
	// Verification returns one verification; ErrNotFound when absent.
	Verification(ctx context.Context, id string) (*OTPRecord, error)
	// PendingVerification returns the newest pending or blocked
	// verification of (to, purpose); ErrNotFound when none.
	PendingVerification(ctx context.Context, to, purpose string) (*OTPRecord, error)
	// UpdateVerification reads id in a write transaction and calls fn, which
	// changes the record in place; when fn returns true the change is
	// written (sends added are logged). An error from fn rolls back and is
	// returned as is.
	UpdateVerification(ctx context.Context, id string, fn func(r *OTPRecord) (bool, error)) (*OTPRecord, error)
	// WatchedVerifications returns up to limit verifications whose SMS
	// outcome Run still waits for.
	WatchedVerifications(ctx context.Context, limit int) ([]*OTPRecord, error)
	// ExpireVerifications ends pending and blocked verifications past their
	// expiry, dropping their code hashes.
	ExpireVerifications(ctx context.Context, now time.Time) (int, error)
	// PurgeVerifications deletes verifications that ended before before,
	// and the send log older than it.
	PurgeVerifications(ctx context.Context, before time.Time) (int, error)
	// OTPStats groups verifications created since since by UTC day and
	// country.
	OTPStats(ctx context.Context, since time.Time) ([]OTPStat, error)
	// PrefixConversion counts, per prefix, verifications created in
	// [from, to) that were not blocked, and their approvals.
	PrefixConversion(ctx context.Context, from, to time.Time) ([]PrefixConversion, error)
	// BlockPrefix records (or extends) a block.
	BlockPrefix(ctx context.Context, b BlockedPrefix) error
	// BlockedPrefixes lists the blocks still in force at now.
	BlockedPrefixes(ctx context.Context, now time.Time) ([]BlockedPrefix, error)
}

// Mail is one email message with a text and an HTML part.
type Mail struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Mailer sends email; package mailer implements it over SMTP.
type Mailer interface {
	SendMail(ctx context.Context, m Mail) error
}

// RetryAfterError refuses a request that may succeed after Wait (a resend
// within the cooldown, an API key over its rate): HTTP 429 with Retry-After.
type RetryAfterError struct {
	Wait   time.Duration
	Reason string
}

// Error says why and for how long.
func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%s; retry after %s", e.Reason, e.Wait.Round(time.Second))
}

// ErrOTPSealed means an OTP message or code cannot be opened with this
// gateway's key (the key file was replaced).
var ErrOTPSealed = errors.New("otp sealed with another key")

// OTPConfig tunes an OTPService; zero fields take the defaults.
type OTPConfig struct {
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
	Limits OTPLimits
	// WatchEvery is how often Run looks at the SMS in flight.
	WatchEvery time.Duration
	// OnApproved, when set, is called after a check approved a
	// verification (for webhooks). It runs on the checking request.
	OnApproved func(ctx context.Context, v *Verification)
}

// OTPService issues and checks one-time codes. SMS codes travel as normal
// messages in the high-priority lane, through the Service.
type OTPService struct {
	cfg    OTPConfig
	svc    *Service
	store  OTPStore
	mailer Mailer
	clock  Clock
	log    *slog.Logger
	macKey []byte
	seal   *sealer
	tmpl   *otpTemplates
	limits *limiter

	runMu   sync.Mutex
	breaker time.Time // last breaker evaluation
	purged  time.Time // last purge
}

// NewOTPService checks cfg (every template must fit one SMS segment) and
// returns the service. key is the 32-byte secret of LoadOTPKey. A nil
// mailer disables the email channel; a nil clock or logger means the
// system clock and a discard logger.
func NewOTPService(cfg OTPConfig, svc *Service, st OTPStore, key []byte, mailer Mailer, clock Clock, logger *slog.Logger) (*OTPService, error) {
	if svc == nil || st == nil {
		panic("gateway: NewOTPService: nil service or store")
	}
	if len(key) != OTPKeySize {
		return nil, fmt.Errorf("otp key: %d bytes, want %d", len(key), OTPKeySize)
	}
	if clock == nil {
		clock = SystemClock{}
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := cfg.setDefaults(svc.cfg.DefaultRegion); err != nil {
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
	s := &OTPService{
		cfg:    cfg,
		svc:    svc,
		store:  st,
		mailer: mailer,
		clock:  clock,
		log:    logger,
		macKey: deriveKey(key, "simgate otp code hmac v1"),
		seal:   newSealer(key),
		tmpl:   tm,
		limits: lim,
	}
	return s, nil
}

func (c *OTPConfig) setDefaults(region string) error {
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
	if c.WatchEvery <= 0 {
		c.WatchEvery = DefaultOTPWatchEvery
	}
	if c.DefaultLocale == "" {
		c.DefaultLocale = "en"
	}
	c.Limits.setDefaults(region)
	return nil
}

// Config returns the configuration in force, defaults applied.
func (s *OTPService) Config() OTPConfig { return s.cfg }

// Send starts a verification: it checks the request and the abuse limits,
// commits the verification and its SMS (high priority, TP-VP = the code's
// lifetime) or sends the email, and returns. A request for a (number,
// purpose) that has a verification sent less than ResendInterval ago gets
// that one back, unsent. A request the limits refuse answers the same shape
// with no message sent; its Status is blocked (PublicStatus: pending).
func (s *OTPService) Send(ctx context.Context, r OTPRequest) (*Verification, error) {
	now := s.clock.Now()
	p, err := s.prepare(r)
	if err != nil {
		return nil, err
	}
	if err := s.limits.allowKey(r.APIKey, now); err != nil {
		return nil, err
	}
	code := newCode(p.length)
	id := NewID("otp_", now)
	text, err := s.tmpl.sms(p.template, p.locale, code, s.cfg.App, p.ttl, p.domain, p.appHash)
	if err != nil {
		return nil, err
	}
	var msg *Message
	if p.channel == ChannelSMS {
		msg, err = s.svc.newMessage(ctx, SendRequest{To: p.to, Text: text, Priority: "high", TTL: p.ttl, APIKey: r.APIKey}, now)
		if err != nil {
			return nil, err
		}
		msg.Text = s.seal.sealText(msg.ID, text)
	}

	created := false
	rec, err := s.store.CreateVerification(ctx, now, p.recipient, p.purpose, p.prefix,
		func(existing *OTPRecord, c OTPCounts) (*OTPRecord, error) {
			if existing != nil && existing.ExpiresAt.After(now) && now.Sub(existing.LastSentAt) < s.cfg.ResendInterval {
				return existing, nil
			}
			created = true
			rec := &OTPRecord{
				Verification: Verification{
					ID:        id,
					To:        p.recipient,
					Channel:   p.channel,
					Status:    OTPPending,
					Purpose:   p.purpose,
					Email:     p.email,
					ExpiresAt: now.Add(p.ttl),
					CreatedAt: now,
					Sends:     1,
					Fallback:  p.fallback,
				},
				CodeHash:    s.codeHash(id, code),
				Length:      p.length,
				MaxAttempts: s.cfg.MaxAttempts,
				MaxSends:    s.cfg.MaxSends,
				Template:    p.template,
				Locale:      p.locale,
				Domain:      p.domain,
				AppHash:     p.appHash,
				Country:     p.country,
				Prefix:      p.prefix,
				APIKey:      r.APIKey,
				LastSentAt:  now,
			}
			if reason := s.limits.refuse(p, c); reason != "" {
				// Same shape as a real one, down to a message ID that
				// leads nowhere; no code exists that could approve it.
				rec.Status, rec.BlockReason, rec.Sends = OTPBlocked, reason, 0
				rec.CodeHash = nil
				if p.channel == ChannelSMS {
					rec.MessageID = NewID("msg_", now)
				}
				return rec, nil
			}
			if p.channel == ChannelSMS {
				rec.MessageID = msg.ID
				rec.Watch = true
				rec.Channels = []ChannelAttempt{{Channel: ChannelSMS, MessageID: msg.ID, Status: AttemptQueued, At: now}}
				if p.fallback {
					rec.CodeSealed = s.seal.sealCode(id, code)
					rec.FallbackAt = now.Add(s.cfg.FallbackAfter)
				}
			}
			return rec, nil
		})
	if err != nil {
		return nil, fmt.Errorf("create verification: %w", err)
	}
	if !created {
		return &rec.Verification, nil
	}
	log := s.log.With("verification_id", rec.ID, "to", MaskNumber(rec.To), "channel", rec.Channel)
	if rec.Status == OTPBlocked {
		log.Warn("otp blocked", "reason", rec.BlockReason, "prefix", rec.Prefix, "api_key", r.APIKey)
		return &rec.Verification, nil
	}
	switch p.channel {
	case ChannelSMS:
		if _, _, err := s.svc.store.CreateMessage(ctx, msg, IdempotencyKey{}); err != nil {
			// The verification exists; Run finds its message missing and
			// falls back or fails it.
			return nil, fmt.Errorf("queue otp sms: %w", err)
		}
		s.svc.wake(msg, now)
		log.Debug("otp queued", "message_id", msg.ID)
	case ChannelEmail:
		rec, err = s.sendEmail(ctx, rec.ID, code, p.ttl, false)
		if err != nil {
			return nil, err
		}
	}
	return &rec.Verification, nil
}

// otpParams is an OTPRequest checked and completed.
type otpParams struct {
	to, recipient, email, purpose, channel string
	template, locale, domain, appHash      string
	country, prefix, numberType            string
	length                                 int
	ttl                                    time.Duration
	fallback                               bool
}

func (s *OTPService) prepare(r OTPRequest) (otpParams, error) {
	p := otpParams{
		purpose:  strings.TrimSpace(r.Purpose),
		channel:  r.Channel,
		email:    strings.TrimSpace(r.Email),
		domain:   strings.TrimSpace(r.Domain),
		appHash:  strings.TrimSpace(r.AppHash),
		length:   r.Length,
		ttl:      r.TTL,
		fallback: r.Fallback,
	}
	if p.channel == "" {
		p.channel = ChannelSMS
	}
	if p.channel != ChannelSMS && p.channel != ChannelEmail {
		return p, &ValidationError{Field: "channel", Reason: fmt.Sprintf("is %q; want sms or email", r.Channel)}
	}
	if len(p.purpose) > maxPurposeLen {
		return p, &ValidationError{Field: "purpose", Reason: fmt.Sprintf("is longer than %d characters", maxPurposeLen)}
	}
	if p.email != "" {
		if err := validEmail(p.email); err != nil {
			return p, &ValidationError{Field: "email", Reason: err.Error()}
		}
		if s.mailer == nil {
			return p, &ValidationError{Field: "email", Reason: "email is not configured on this gateway (smtp)"}
		}
	}
	switch {
	case p.channel == ChannelEmail && p.email == "":
		return p, &ValidationError{Field: "email", Reason: "is required for channel email"}
	case p.fallback && p.email == "":
		return p, &ValidationError{Field: "email", Reason: "is required for fallback"}
	case p.fallback && p.channel == ChannelEmail:
		return p, &ValidationError{Field: "fallback", Reason: "applies to channel sms only"}
	}
	if strings.TrimSpace(r.To) == "" && p.channel == ChannelEmail {
		p.recipient = strings.ToLower(p.email)
	} else {
		to, err := NormalizeNumber(r.To, s.svc.cfg.DefaultRegion, false)
		if err != nil {
			return p, &ValidationError{Field: "to", Reason: "number " + err.Error()}
		}
		p.to, p.recipient = to, to
		p.country, p.numberType = numberInfo(to)
		p.prefix = numberPrefix(to)
	}
	switch {
	case p.length == 0:
		p.length = s.cfg.Length
	case p.length < MinOTPLength || p.length > MaxOTPLength:
		return p, &ValidationError{Field: "length", Reason: fmt.Sprintf("is %d; want %d to %d", p.length, MinOTPLength, MaxOTPLength)}
	}
	switch {
	case p.ttl == 0:
		p.ttl = s.cfg.TTL
	case p.ttl < 0:
		return p, &ValidationError{Field: "ttl", Reason: "is negative"}
	case p.ttl < time.Minute:
		return p, &ValidationError{Field: "ttl", Reason: "is shorter than a minute, too short to read and type a code"}
	case p.ttl > s.cfg.MaxTTL:
		return p, &ValidationError{Field: "ttl", Reason: fmt.Sprintf("is longer than the maximum of %s", s.cfg.MaxTTL)}
	}
	if p.domain != "" {
		if err := validDomain(p.domain); err != nil {
			return p, &ValidationError{Field: "domain", Reason: err.Error()}
		}
	}
	if p.appHash != "" && !validAppHash(p.appHash) {
		return p, &ValidationError{Field: "app_hash", Reason: "must be the 11-character Android SMS Retriever hash (letters, digits, '+', '/')"}
	}
	var err error
	if p.template, p.locale, err = s.tmpl.resolve(r.Template, r.Locale); err != nil {
		return p, err
	}
	return p, nil
}

// Check compares code with the verification's current code. A wrong code
// leaves it pending with one attempt fewer, and the last attempt ends it
// max_attempts_reached; the right code approves it once. A verification no
// longer pending answers its final status, except approved, which is not
// found: a code is accepted once (NIST SP 800-63B §5.1.3.2).
func (s *OTPService) Check(ctx context.Context, id, code string) (*Verification, error) {
	now := s.clock.Now()
	code = normalizeCode(code)
	wellFormed := len(code) >= MinOTPLength && len(code) <= MaxOTPLength && allDigits(code)
	// The HMAC is computed before the lookup so that an unknown ID and a
	// known one take the same time.
	got := s.codeHash(id, code)
	approved := false
	rec, err := s.store.UpdateVerification(ctx, id, func(r *OTPRecord) (bool, error) {
		if r.Status == OTPApproved {
			return false, ErrNotFound
		}
		if (r.Status == OTPPending || r.Status == OTPBlocked) && !now.Before(r.ExpiresAt) {
			r.Status, r.FinishedAt = OTPExpired, now
			r.clearSecrets()
			return true, nil
		}
		if r.Status != OTPPending && r.Status != OTPBlocked {
			return false, nil
		}
		match := hmac.Equal(got, r.CodeHash) && wellFormed && len(code) == r.Length && r.Status == OTPPending
		if match {
			r.Status, r.FinishedAt = OTPApproved, now
			r.clearSecrets()
			approved = true
			return true, nil
		}
		r.Attempts++
		if r.Attempts >= r.MaxAttempts {
			r.Status, r.FinishedAt = OTPMaxAttempts, now
			r.clearSecrets()
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("check verification: %w", err)
	}
	if approved {
		s.log.Info("otp approved", "verification_id", rec.ID, "to", MaskNumber(rec.To), "sends", rec.Sends, "attempts", rec.Attempts)
		if s.cfg.OnApproved != nil {
			s.cfg.OnApproved(ctx, &rec.Verification)
		}
	} else if rec.Status == OTPMaxAttempts && rec.FinishedAt.Equal(now) {
		s.log.Info("otp attempts exhausted", "verification_id", rec.ID, "to", MaskNumber(rec.To))
	}
	return &rec.Verification, nil
}

// CheckByNumber checks code against the newest pending verification of
// (to, purpose); ErrNotFound when there is none.
func (s *OTPService) CheckByNumber(ctx context.Context, to, code, purpose string) (*Verification, error) {
	recipient := strings.TrimSpace(to)
	if !strings.Contains(recipient, "@") {
		n, err := NormalizeNumber(to, s.svc.cfg.DefaultRegion, false)
		if err != nil {
			return nil, &ValidationError{Field: "to", Reason: "number " + err.Error()}
		}
		recipient = n
	} else {
		recipient = strings.ToLower(recipient)
	}
	rec, err := s.store.PendingVerification(ctx, recipient, strings.TrimSpace(purpose))
	if err != nil {
		// Same work as a real check, so that absence does not answer faster.
		_ = s.codeHash("otp_", code)
		return nil, fmt.Errorf("check verification: %w", err)
	}
	return s.Check(ctx, rec.ID, code)
}

// Resend sends a fresh code for a pending verification: the old code dies,
// the attempt budget stays. Within ResendInterval of the last send it
// returns *RetryAfterError; after MaxSends sends as well, until expiry.
func (s *OTPService) Resend(ctx context.Context, id string) (*Verification, error) {
	now := s.clock.Now()
	var (
		code    string
		msg     *Message
		blocked bool
		oldMsg  string
	)
	rec, err := s.store.UpdateVerification(ctx, id, func(r *OTPRecord) (bool, error) {
		if r.Status == OTPApproved {
			return false, ErrNotFound
		}
		if r.Status != OTPPending && r.Status != OTPBlocked {
			return false, nil
		}
		if !now.Before(r.ExpiresAt) {
			r.Status, r.FinishedAt = OTPExpired, now
			r.clearSecrets()
			return true, nil
		}
		if wait := r.LastSentAt.Add(s.cfg.ResendInterval).Sub(now); wait > 0 {
			return false, &RetryAfterError{Wait: wait, Reason: "a code was sent less than " + s.cfg.ResendInterval.String() + " ago"}
		}
		if r.Sends >= r.MaxSends && r.Status == OTPPending {
			return false, &RetryAfterError{Wait: r.ExpiresAt.Sub(now), Reason: fmt.Sprintf("this verification has had its %d sends", r.MaxSends)}
		}
		r.LastSentAt = now
		if r.Status == OTPBlocked {
			blocked = true
			if r.Channel == ChannelSMS {
				r.MessageID = NewID("msg_", now)
			}
			return true, nil
		}
		code = newCode(r.Length)
		r.CodeHash = s.codeHash(r.ID, code)
		r.Sends++
		if r.CodeSealed != nil || r.Channel == ChannelEmail {
			r.CodeSealed = s.seal.sealCode(r.ID, code)
		}
		if r.Channel == ChannelSMS {
			ttl := r.ExpiresAt.Sub(now)
			text, err := s.tmpl.sms(r.Template, r.Locale, code, s.cfg.App, r.ExpiresAt.Sub(r.CreatedAt), r.Domain, r.AppHash)
			if err != nil {
				return false, err
			}
			m, err := s.svc.newMessage(ctx, SendRequest{To: r.To, Text: text, Priority: "high", TTL: ttl, APIKey: r.APIKey}, now)
			if err != nil {
				return false, err
			}
			m.Text = s.seal.sealText(m.ID, text)
			msg, oldMsg = m, r.MessageID
			r.MessageID = m.ID
			r.Watch = true
			r.FallbackDone = false
			if r.Fallback {
				r.FallbackAt = now.Add(s.cfg.FallbackAfter)
			}
			r.Channels = append(r.Channels, ChannelAttempt{Channel: ChannelSMS, MessageID: m.ID, Status: AttemptQueued, At: now})
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("resend verification: %w", err)
	}
	if blocked || code == "" {
		return &rec.Verification, nil
	}
	if msg != nil {
		if oldMsg != "" {
			// A code that has not left yet need not leave at all.
			if _, err := s.svc.store.CancelMessage(ctx, oldMsg, now); err != nil && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
				s.log.Warn("cancel superseded otp sms", "message_id", oldMsg, "err", err)
			}
		}
		if _, _, err := s.svc.store.CreateMessage(ctx, msg, IdempotencyKey{}); err != nil {
			return nil, fmt.Errorf("queue otp sms: %w", err)
		}
		s.svc.wake(msg, now)
		return &rec.Verification, nil
	}
	rec, err = s.sendEmail(ctx, rec.ID, code, rec.ExpiresAt.Sub(rec.CreatedAt), false)
	if err != nil {
		return nil, err
	}
	return &rec.Verification, nil
}

// Cancel ends a pending verification as canceled; a final one is returned
// unchanged (approved: not found).
func (s *OTPService) Cancel(ctx context.Context, id string) (*Verification, error) {
	now := s.clock.Now()
	var msgID string
	rec, err := s.store.UpdateVerification(ctx, id, func(r *OTPRecord) (bool, error) {
		if r.Status == OTPApproved {
			return false, ErrNotFound
		}
		if r.Status != OTPPending && r.Status != OTPBlocked {
			return false, nil
		}
		if r.Status == OTPPending && r.Channel == ChannelSMS {
			msgID = r.MessageID
		}
		r.Status, r.FinishedAt = OTPCanceled, now
		r.clearSecrets()
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("cancel verification: %w", err)
	}
	if msgID != "" {
		if _, err := s.svc.store.CancelMessage(ctx, msgID, now); err != nil && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
			s.log.Warn("cancel otp sms", "message_id", msgID, "err", err)
		}
	}
	return &rec.Verification, nil
}

// Get returns a verification, its code never included. A pending one past
// its expiry reads as expired.
func (s *OTPService) Get(ctx context.Context, id string) (*Verification, error) {
	rec, err := s.store.Verification(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get verification: %w", err)
	}
	if (rec.Status == OTPPending || rec.Status == OTPBlocked) && !s.clock.Now().Before(rec.ExpiresAt) {
		rec.Status = OTPExpired
	}
	return &rec.Verification, nil
}

// Stats returns OTP traffic per UTC day and country since since.
func (s *OTPService) Stats(ctx context.Context, since time.Time) ([]OTPStat, error) {
	st, err := s.store.OTPStats(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("otp stats: %w", err)
	}
	return st, nil
}

// BlockedPrefixes lists the prefixes blocked now.
func (s *OTPService) BlockedPrefixes(ctx context.Context) ([]BlockedPrefix, error) {
	b, err := s.store.BlockedPrefixes(ctx, s.clock.Now())
	if err != nil {
		return nil, fmt.Errorf("blocked prefixes: %w", err)
	}
	return b, nil
}

// clearSecrets drops what could ever confirm a code: a finished
// verification needs neither.
func (r *OTPRecord) clearSecrets() {
	r.CodeHash, r.CodeSealed = nil, nil
	r.Watch = false
}

// codeHash is HMAC-SHA256(key, id ‖ 0 ‖ code): bound to the verification, so
// a hash copied to another row approves nothing.
func (s *OTPService) codeHash(id, code string) []byte {
	m := hmac.New(sha256.New, s.macKey)
	io.WriteString(m, id)
	m.Write([]byte{0})
	io.WriteString(m, code)
	return m.Sum(nil)
}

// newCode returns n uniform decimal digits from crypto/rand.
func newCode(n int) string {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	v, _ := rand.Int(rand.Reader, limit) // crypto/rand never fails (Go ≥ 1.24)
	s := v.String()
	return strings.Repeat("0", n-len(s)) + s
}

// normalizeCode forgives what people type around a code: spaces and dashes
// (codes are often shown grouped).
func normalizeCode(c string) string {
	if len(c) > 32 {
		return c[:32] // longer input is wrong anyway; bound the work
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, c)
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validEmail(e string) error {
	at := strings.LastIndexByte(e, '@')
	switch {
	case len(e) > maxEmailLen:
		return fmt.Errorf("is longer than %d characters", maxEmailLen)
	case at < 1 || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n<>,;\"") || !strings.Contains(e[at:], "."):
		return errors.New("is not an email address")
	}
	return nil
}

func validDomain(d string) error {
	if len(d) > 253 || strings.ContainsAny(d, " /:@#") || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
		return errors.New(`must be a host name like "example.com", without scheme or path`)
	}
	return nil
}

func validAppHash(h string) bool {
	if len(h) != 11 {
		return false
	}
	for _, r := range h {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '/'
		if !ok {
			return false
		}
	}
	return true
}

// minutes is ttl in whole minutes, rounded up, for {minutes}.
func minutes(ttl time.Duration) string {
	return strconv.Itoa(int((ttl + time.Minute - 1) / time.Minute))
}
