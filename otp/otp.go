package otp

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
	DefaultOTPRetention      = 30 * 24 * time.Hour
	DefaultOTPWatchEvery     = time.Second
	maxPurposeLen            = 64
	maxEmailLen              = 254
)

// OTPRequest is POST /api/v1/otp after JSON decoding. Zero fields take the
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
}

// ErrOTPSealed means an OTP message or code cannot be opened with this
// gateway's key (the key file was replaced).
var ErrOTPSealed = errors.New("otp sealed with another key")

// OTPConfig tunes an OTPService; zero fields take the defaults.
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

	runMu   sync.Mutex
	breaker time.Time // last breaker evaluation
	purged  time.Time // last purge
}

// NewOTPService checks cfg (every template must fit one SMS segment) and
// returns the service. key is the 32-byte secret of LoadOTPKey. A nil
// mailer disables the email channel; a nil clock or logger means the
// system clock and a discard logger.
func New(cfg Config, svc *gateway.Service, st Store, key []byte, mailer gateway.Mailer, clock gateway.Clock, logger *slog.Logger) (*Service, error) {
	if svc == nil || st == nil {
		panic("gateway: NewOTPService: nil service or store")
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
	if err := cfg.setDefaults(svc.DefaultRegion()); err != nil {
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

func (c *Config) setDefaults(region string) error {
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
func (s *Service) Config() Config { return s.cfg }

// Send starts a verification: it checks the request and the abuse limits,
// commits the verification and its SMS (high priority, TP-VP = the code's
// lifetime) or sends the email, and returns. A request for a (number,
// purpose) that has a verification sent less than ResendInterval ago gets
// that one back, unsent. A request the limits refuse answers the same shape
// with no message sent; its Status is blocked (PublicStatus: pending).
func (s *Service) Send(ctx context.Context, r Request) (*gateway.Verification, error) {
	now := s.clock.Now()
	p, err := s.prepare(r)
	if err != nil {
		return nil, err
	}
	if err := s.limits.allowKey(r.APIKey, now); err != nil {
		return nil, err
	}
	code := newCode(p.length)
	id := gateway.NewID("otp_", now)
	text, err := s.tmpl.sms(p.template, p.locale, code, s.cfg.App, p.ttl, p.domain, p.appHash)
	if err != nil {
		return nil, err
	}
	var msg *gateway.Message
	if p.channel == gateway.ChannelSMS {
		msg, err = s.svc.NewMessage(ctx, gateway.SendRequest{To: p.to, Text: text, Priority: "high", TTL: p.ttl, APIKey: r.APIKey})
		if err != nil {
			return nil, err
		}
		msg.Text = s.seal.sealText(msg.ID, text)
	}

	created := false
	rec, err := s.store.CreateVerification(ctx, now, p.recipient, p.purpose, p.prefix,
		func(existing *gateway.OTPRecord, c gateway.OTPCounts) (*gateway.OTPRecord, error) {
			if existing != nil && existing.ExpiresAt.After(now) && now.Sub(existing.LastSentAt) < s.cfg.ResendInterval {
				return existing, nil
			}
			created = true
			rec := &gateway.OTPRecord{
				Verification: gateway.Verification{
					ID:        id,
					To:        p.recipient,
					Channel:   p.channel,
					Status:    gateway.OTPPending,
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
				rec.Status, rec.BlockReason, rec.Sends = gateway.OTPBlocked, reason, 0
				rec.CodeHash = nil
				if p.channel == gateway.ChannelSMS {
					rec.MessageID = gateway.NewID("msg_", now)
				}
				return rec, nil
			}
			if p.channel == gateway.ChannelSMS {
				rec.MessageID, rec.QueueSMS = msg.ID, msg
				rec.Watch = true
				rec.Channels = []gateway.ChannelAttempt{{Channel: gateway.ChannelSMS, MessageID: msg.ID, Status: gateway.AttemptQueued, At: now}}
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
	log := s.log.With("verification_id", rec.ID, "to", gateway.MaskNumber(rec.To), "channel", rec.Channel)
	if rec.Status == gateway.OTPBlocked {
		log.Warn("otp blocked", "reason", rec.BlockReason, "prefix", rec.Prefix, "api_key", r.APIKey)
		return &rec.Verification, nil
	}
	switch p.channel {
	case gateway.ChannelSMS:
		s.svc.Queued(msg)
		log.Debug("otp queued", "message_id", msg.ID)
	case gateway.ChannelEmail:
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

func (s *Service) prepare(r Request) (otpParams, error) {
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
		p.channel = gateway.ChannelSMS
	}
	if p.channel != gateway.ChannelSMS && p.channel != gateway.ChannelEmail {
		return p, &gateway.ValidationError{Field: "channel", Reason: fmt.Sprintf("is %q; want sms or email", r.Channel)}
	}
	if len(p.purpose) > maxPurposeLen {
		return p, &gateway.ValidationError{Field: "purpose", Reason: fmt.Sprintf("is longer than %d characters", maxPurposeLen)}
	}
	if p.email != "" {
		if err := validEmail(p.email); err != nil {
			return p, &gateway.ValidationError{Field: "email", Reason: err.Error()}
		}
		if s.mailer == nil {
			return p, &gateway.ValidationError{Field: "email", Reason: "email is not configured on this gateway (smtp)"}
		}
	}
	switch {
	case p.channel == gateway.ChannelEmail && p.email == "":
		return p, &gateway.ValidationError{Field: "email", Reason: "is required for channel email"}
	case p.fallback && p.email == "":
		return p, &gateway.ValidationError{Field: "email", Reason: "is required for fallback"}
	case p.fallback && p.channel == gateway.ChannelEmail:
		return p, &gateway.ValidationError{Field: "fallback", Reason: "applies to channel sms only"}
	}
	if strings.TrimSpace(r.To) == "" && p.channel == gateway.ChannelEmail {
		p.recipient = strings.ToLower(p.email)
	} else {
		to, err := gateway.NormalizeNumber(r.To, s.svc.DefaultRegion(), false)
		if err != nil {
			return p, &gateway.ValidationError{Field: "to", Reason: "number " + err.Error()}
		}
		p.to, p.recipient = to, to
		p.country, p.numberType = numberInfo(to)
		p.prefix = numberPrefix(to)
	}
	switch {
	case p.length == 0:
		p.length = s.cfg.Length
	case p.length < MinOTPLength || p.length > MaxOTPLength:
		return p, &gateway.ValidationError{Field: "length", Reason: fmt.Sprintf("is %d; want %d to %d", p.length, MinOTPLength, MaxOTPLength)}
	}
	switch {
	case p.ttl == 0:
		p.ttl = s.cfg.TTL
	case p.ttl < 0:
		return p, &gateway.ValidationError{Field: "ttl", Reason: "is negative"}
	case p.ttl < time.Minute:
		return p, &gateway.ValidationError{Field: "ttl", Reason: "is shorter than a minute, too short to read and type a code"}
	case p.ttl > s.cfg.MaxTTL:
		return p, &gateway.ValidationError{Field: "ttl", Reason: fmt.Sprintf("is longer than the maximum of %s", s.cfg.MaxTTL)}
	}
	if p.domain != "" {
		if err := validDomain(p.domain); err != nil {
			return p, &gateway.ValidationError{Field: "domain", Reason: err.Error()}
		}
	}
	if p.appHash != "" && !validAppHash(p.appHash) {
		return p, &gateway.ValidationError{Field: "app_hash", Reason: "must be the 11-character Android SMS Retriever hash (letters, digits, '+', '/')"}
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
func (s *Service) Check(ctx context.Context, id, code string) (*gateway.Verification, error) {
	now := s.clock.Now()
	code = normalizeCode(code)
	wellFormed := len(code) >= MinOTPLength && len(code) <= MaxOTPLength && allDigits(code)
	// The HMAC is computed before the lookup so that an unknown ID and a
	// known one take the same time.
	got := s.codeHash(id, code)
	approved := false
	rec, err := s.store.UpdateVerification(ctx, id, func(r *gateway.OTPRecord) (bool, error) {
		if r.Status == gateway.OTPApproved {
			return false, gateway.ErrNotFound
		}
		if (r.Status == gateway.OTPPending || r.Status == gateway.OTPBlocked) && !now.Before(r.ExpiresAt) {
			r.Status, r.FinishedAt = gateway.OTPExpired, now
			r.ClearSecrets()
			return true, nil
		}
		if r.Status != gateway.OTPPending && r.Status != gateway.OTPBlocked {
			return false, nil
		}
		match := hmac.Equal(got, r.CodeHash) && wellFormed && len(code) == r.Length && r.Status == gateway.OTPPending
		if match {
			r.Status, r.FinishedAt = gateway.OTPApproved, now
			r.ClearSecrets()
			approved = true
			return true, nil
		}
		r.Attempts++
		if r.Attempts >= r.MaxAttempts {
			r.Status, r.FinishedAt = gateway.OTPMaxAttempts, now
			r.ClearSecrets()
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("check verification: %w", err)
	}
	if approved {
		s.log.Info("otp approved", "verification_id", rec.ID, "to", gateway.MaskNumber(rec.To), "sends", rec.Sends, "attempts", rec.Attempts)
	} else if rec.Status == gateway.OTPMaxAttempts && rec.FinishedAt.Equal(now) {
		s.log.Info("otp attempts exhausted", "verification_id", rec.ID, "to", gateway.MaskNumber(rec.To))
	}
	return &rec.Verification, nil
}

// CheckByNumber checks code against the newest pending verification of
// (to, purpose); ErrNotFound when there is none.
func (s *Service) CheckByNumber(ctx context.Context, to, code, purpose string) (*gateway.Verification, error) {
	recipient := strings.TrimSpace(to)
	if !strings.Contains(recipient, "@") {
		n, err := gateway.NormalizeNumber(to, s.svc.DefaultRegion(), false)
		if err != nil {
			return nil, &gateway.ValidationError{Field: "to", Reason: "number " + err.Error()}
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
func (s *Service) Resend(ctx context.Context, id string) (*gateway.Verification, error) {
	now := s.clock.Now()
	var (
		code    string
		msg     *gateway.Message
		blocked bool
	)
	rec, err := s.store.UpdateVerification(ctx, id, func(r *gateway.OTPRecord) (bool, error) {
		if r.Status == gateway.OTPApproved {
			return false, gateway.ErrNotFound
		}
		if r.Status != gateway.OTPPending && r.Status != gateway.OTPBlocked {
			return false, nil
		}
		if !now.Before(r.ExpiresAt) {
			r.Status, r.FinishedAt = gateway.OTPExpired, now
			r.ClearSecrets()
			return true, nil
		}
		if wait := r.LastSentAt.Add(s.cfg.ResendInterval).Sub(now); wait > 0 {
			return false, &gateway.RetryAfterError{Wait: wait, Reason: "a code was sent less than " + s.cfg.ResendInterval.String() + " ago"}
		}
		if r.Sends >= r.MaxSends && r.Status == gateway.OTPPending {
			return false, &gateway.RetryAfterError{Wait: r.ExpiresAt.Sub(now), Reason: fmt.Sprintf("this verification has had its %d sends", r.MaxSends)}
		}
		r.LastSentAt = now
		if r.Status == gateway.OTPBlocked {
			blocked = true
			if r.Channel == gateway.ChannelSMS {
				r.MessageID = gateway.NewID("msg_", now)
			}
			return true, nil
		}
		code = newCode(r.Length)
		r.CodeHash = s.codeHash(r.ID, code)
		r.Sends++
		if r.CodeSealed != nil || r.Channel == gateway.ChannelEmail {
			r.CodeSealed = s.seal.sealCode(r.ID, code)
		}
		if r.Channel == gateway.ChannelSMS {
			ttl := r.ExpiresAt.Sub(now)
			text, err := s.tmpl.sms(r.Template, r.Locale, code, s.cfg.App, r.ExpiresAt.Sub(r.CreatedAt), r.Domain, r.AppHash)
			if err != nil {
				return false, err
			}
			m, err := s.svc.NewMessage(ctx, gateway.SendRequest{To: r.To, Text: text, Priority: "high", TTL: ttl, APIKey: r.APIKey})
			if err != nil {
				return false, err
			}
			m.Text = s.seal.sealText(m.ID, text)
			msg, r.QueueSMS, r.CancelSMS = m, m, r.MessageID
			r.MessageID = m.ID
			r.Watch = true
			r.FallbackDone = false
			if r.Fallback {
				r.FallbackAt = now.Add(s.cfg.FallbackAfter)
			}
			r.Channels = append(r.Channels, gateway.ChannelAttempt{Channel: gateway.ChannelSMS, MessageID: m.ID, Status: gateway.AttemptQueued, At: now})
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
		s.svc.Queued(msg)
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
func (s *Service) Cancel(ctx context.Context, id string) (*gateway.Verification, error) {
	now := s.clock.Now()
	rec, err := s.store.UpdateVerification(ctx, id, func(r *gateway.OTPRecord) (bool, error) {
		if r.Status == gateway.OTPApproved {
			return false, gateway.ErrNotFound
		}
		if r.Status != gateway.OTPPending && r.Status != gateway.OTPBlocked {
			return false, nil
		}
		if r.Status == gateway.OTPPending && r.Channel == gateway.ChannelSMS {
			// A code that has not left yet need not leave at all.
			r.CancelSMS = r.MessageID
		}
		r.Status, r.FinishedAt = gateway.OTPCanceled, now
		r.ClearSecrets()
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("cancel verification: %w", err)
	}
	return &rec.Verification, nil
}

// Get returns a verification, its code never included. A pending one past
// its expiry reads as expired.
func (s *Service) Get(ctx context.Context, id string) (*gateway.Verification, error) {
	rec, err := s.store.Verification(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get verification: %w", err)
	}
	if (rec.Status == gateway.OTPPending || rec.Status == gateway.OTPBlocked) && !s.clock.Now().Before(rec.ExpiresAt) {
		rec.Status = gateway.OTPExpired
	}
	return &rec.Verification, nil
}

// Stats returns OTP traffic per UTC day and country since since.
func (s *Service) Stats(ctx context.Context, since time.Time) ([]gateway.OTPStat, error) {
	st, err := s.store.OTPStats(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("otp stats: %w", err)
	}
	return st, nil
}

// BlockedPrefixes lists the prefixes blocked now.
func (s *Service) BlockedPrefixes(ctx context.Context) ([]gateway.BlockedPrefix, error) {
	b, err := s.store.BlockedPrefixes(ctx, s.clock.Now())
	if err != nil {
		return nil, fmt.Errorf("blocked prefixes: %w", err)
	}
	return b, nil
}

// clearSecrets drops what could ever confirm a code: a finished
// verification needs neither.
// codeHash is HMAC-SHA256(key, id ‖ 0 ‖ code): bound to the verification, so
// a hash copied to another row approves nothing.
func (s *Service) codeHash(id, code string) []byte {
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
