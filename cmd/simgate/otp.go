package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/mailer"
	"github.com/simgate/simgate/otp"
)

// otpKeyFile is the HMAC and sealing key of OTP codes, in the data
// directory and never in the database.
const otpKeyFile = "otp.key"

// otpConfig is the otp: section of simgate.yaml; zero values take the
// gateway's defaults (docs/OTP.md).
type otpConfig struct {
	App            string                       `yaml:"app"`
	Length         int                          `yaml:"length"`
	TTL            time.Duration                `yaml:"ttl"`
	MaxTTL         time.Duration                `yaml:"max_ttl"`
	AllowLongTTL   bool                         `yaml:"allow_long_ttl"` // max_ttl over 10 minutes, against NIST's advice
	MaxAttempts    int                          `yaml:"max_attempts"`
	MaxSends       int                          `yaml:"max_sends"`
	ResendInterval time.Duration                `yaml:"resend_interval"`
	FallbackAfter  time.Duration                `yaml:"fallback_after"`
	RerouteAfter   time.Duration                `yaml:"reroute_after"`
	Retention      time.Duration                `yaml:"retention"`
	DefaultLocale  string                       `yaml:"default_locale"`
	Templates      map[string]map[string]string `yaml:"templates"`
	Email          struct {
		Subject string `yaml:"subject"`
		Text    string `yaml:"text"`
		HTML    string `yaml:"html"`
	} `yaml:"email"`
	Limits struct {
		NumberPerHour           int           `yaml:"number_per_hour"`
		NumberPerDay            int           `yaml:"number_per_day"`
		APIKeyPerMinute         int           `yaml:"api_key_per_minute"`
		AllowedCountries        []string      `yaml:"allowed_countries"`
		RefusedTypes            []string      `yaml:"refused_types"`
		PrefixPerHour           int           `yaml:"prefix_per_hour"`
		BreakerEvery            time.Duration `yaml:"breaker_every"`
		BreakerWindow           time.Duration `yaml:"breaker_window"`
		BreakerMinVerifications int           `yaml:"breaker_min_verifications"`
		BreakerMinConversion    float64       `yaml:"breaker_min_conversion"`
		BlockFor                time.Duration `yaml:"block_for"`
	} `yaml:"limits"`
}

// smtpConfig is the smtp: section; an empty host disables email.
type smtpConfig struct {
	Host     string        `yaml:"host"`
	Port     int           `yaml:"port"`
	Username string        `yaml:"username"`
	Password string        `yaml:"password"`
	From     string        `yaml:"from"`
	TLS      string        `yaml:"tls"`
	Timeout  time.Duration `yaml:"timeout"`
}

func (c otpConfig) gateway() otp.Config {
	l := c.Limits
	return otp.Config{
		App: c.App, Length: c.Length, TTL: c.TTL, MaxTTL: c.MaxTTL, MaxAttempts: c.MaxAttempts,
		MaxSends: c.MaxSends, ResendInterval: c.ResendInterval, FallbackAfter: c.FallbackAfter, RerouteAfter: c.RerouteAfter,
		Retention: c.Retention, Templates: c.Templates, DefaultLocale: c.DefaultLocale,
		Email: otp.EmailTemplate{Subject: c.Email.Subject, Text: c.Email.Text, HTML: c.Email.HTML},
		Limits: otp.Limits{
			NumberPerHour: l.NumberPerHour, NumberPerDay: l.NumberPerDay, APIKeyPerMinute: l.APIKeyPerMinute,
			AllowedCountries: l.AllowedCountries, RefusedTypes: l.RefusedTypes, PrefixPerHour: l.PrefixPerHour,
			BreakerEvery: l.BreakerEvery, BreakerWindow: l.BreakerWindow,
			BreakerMinVerifications: l.BreakerMinVerifications, BreakerMinConversion: l.BreakerMinConversion,
			BlockFor: l.BlockFor,
		},
	}
}

// validate checks what a YAML type cannot; the OTP service checks the
// templates and the rest when it is built.
func (c otpConfig) validate() error {
	bad := func(field, format string, args ...any) error {
		return &configError{"merged", "otp." + field, fmt.Errorf(format, args...)}
	}
	switch {
	case c.Length != 0 && (c.Length < otp.MinOTPLength || c.Length > otp.MaxOTPLength):
		return bad("length", "must be within %d–%d, got %d", otp.MinOTPLength, otp.MaxOTPLength, c.Length)
	case c.TTL < 0 || c.MaxTTL < 0 || c.ResendInterval < 0 || c.FallbackAfter < 0 || c.Retention < 0:
		return bad("ttl/max_ttl/resend_interval/fallback_after/retention", "must not be negative")
	case c.MaxTTL > otp.DefaultOTPMaxTTL && !c.AllowLongTTL:
		return bad("max_ttl", "%v is over 10 minutes (NIST SP 800-63B §5.1.3.2); set otp.allow_long_ttl: true to override", c.MaxTTL)
	case c.MaxTTL > 24*time.Hour:
		return bad("max_ttl", "must be at most 24h, got %v", c.MaxTTL)
	case c.TTL > max(c.MaxTTL, otp.DefaultOTPMaxTTL):
		return bad("ttl", "%v is longer than max_ttl", c.TTL)
	case c.Retention != 0 && c.Retention < 48*time.Hour:
		return bad("retention", "must be at least 48h (the limits look back a day), got %v", c.Retention)
	case c.MaxAttempts < 0 || c.MaxAttempts > 100:
		return bad("max_attempts", "must be within 1–100 (NIST SP 800-63B §5.2.2), got %d", c.MaxAttempts)
	case c.Limits.BreakerMinConversion > 1:
		return bad("limits.breaker_min_conversion", "is a fraction within 0–1, got %v", c.Limits.BreakerMinConversion)
	}
	return nil
}

func (c smtpConfig) validate() error {
	if c.Host == "" {
		return nil
	}
	if _, err := c.mailer(); err != nil {
		return &configError{"merged", "smtp", err}
	}
	return nil
}

func (c smtpConfig) mailer() (*mailer.Mailer, error) {
	return mailer.New(mailer.Config{Host: c.Host, Port: c.Port, Username: c.Username, Password: c.Password,
		From: c.From, TLS: c.TLS, Timeout: c.Timeout})
}

// newOTP loads (or creates) the OTP key under the data directory and builds
// the OTP service on svc, which must have been built on SealedStore(db, key).
func newOTP(cfg config, key []byte, svc *gateway.Service, st otp.Store, router gateway.Router, clock gateway.Clock, logger *slog.Logger) (*otp.Service, error) {
	var m gateway.Mailer
	if cfg.SMTP.Host != "" {
		mm, err := cfg.SMTP.mailer()
		if err != nil {
			return nil, fmt.Errorf("smtp: %w", err)
		}
		m = mm
	}
	gc := cfg.OTP.gateway()
	gc.Router = router
	s, err := otp.New(gc, svc, st, key, m, clock, logger)
	if err != nil {
		return nil, fmt.Errorf("otp: %w", err)
	}
	return s, nil
}

// loadOTPKey reads <data>/otp.key, creating it on first start.
func loadOTPKey(dataDir string) ([]byte, error) {
	return otp.LoadKey(filepath.Join(dataDir, otpKeyFile))
}

// previousKeyFile is the key file before a rotation (docs/SECURITY.md):
// while it is there, what it sealed is still opened and sealed again with
// the new key. OTP codes and texts are not: they live minutes.
const previousKeyFile = otpKeyFile + ".previous"

// webhookKeys are the keys that seal webhook secrets: otp.key, then the
// previous one when a rotation left it.
func webhookKeys(dataDir string, otpKey []byte) ([][]byte, error) {
	prev, err := otp.ReadKey(filepath.Join(dataDir, previousKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return [][]byte{otpKey}, nil
	}
	if err != nil {
		return nil, err
	}
	return [][]byte{otpKey, prev}, nil
}

// dataKey derives the key of one use (label) from the data directory's key
// file, so that one file to back up serves them all and no two uses share
// a key.
func dataKey(otpKey []byte, label string) []byte {
	m := hmac.New(sha256.New, otpKey)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// runOTP is "simgate otp send|check|get|resend|cancel".
func runOTP(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("otp: want send, check, get, resend or cancel")
	}
	switch args[0] {
	case "send":
		return runOTPSend(ctx, e, args[1:])
	case "check":
		return runOTPCheck(ctx, e, args[1:])
	case "get", "resend", "cancel":
		return runOTPOne(ctx, e, args[0], args[1:])
	}
	return usagef("otp: unknown subcommand %q; want send, check, get, resend or cancel", args[0])
}

// otpLine is what the CLI prints of an OTP answer: To is empty in the
// answer to a check, AttemptsLeft nil in the answer to a send.
type otpLine struct {
	ID, Status, To, Channel string
	ExpiresAt               time.Time
	AttemptsLeft            *int
}

func runOTPSend(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "otp send", "--to NUMBER [--channel sms|email] [--email ADDR] [--fallback] [--json]")
	server, key, asJSON := clientFlags(fs)
	to := fs.String("to", "", "phone number to send the code to")
	channel := fs.String("channel", "", "sms (default) or email")
	email := fs.String("email", "", "email address, for channel email or --fallback")
	fallback := fs.Bool("fallback", false, "send the code by email when the SMS fails or is late")
	purpose := fs.String("purpose", "", "what the code is for (one pending code per number and purpose)")
	length := fs.Int("length", 0, "digits, 4–10 (default from the gateway)")
	domain := fs.String("domain", "", "web origin for the auto-fill line \"@domain #code\"")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("otp send: unexpected argument %q", pos[0])
	}
	if *to == "" && *email == "" {
		return usagef("otp send: --to is required (or --channel email --email ADDR)")
	}
	c, err := newAPIClient(e, *server, *key)
	if err != nil {
		return err
	}
	body := apiv1.OTPSendRequest{To: *to, Channel: *channel, Email: *email, Purpose: *purpose, Domain: *domain,
		Fallback: *fallback, Length: *length}
	raw, err := c.do(ctx, http.MethodPost, "/api/v1/otp", body)
	if err != nil {
		return err
	}
	return printOTP(e, raw, *asJSON, &apiv1.OTPSendResponse{})
}

func runOTPCheck(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "otp check", "ID CODE [--json]")
	server, key, asJSON := clientFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("otp check: want ID CODE")
	}
	c, err := newAPIClient(e, *server, *key)
	if err != nil {
		return err
	}
	raw, err := c.do(ctx, http.MethodPost, "/api/v1/otp/"+url.PathEscape(pos[0])+"/check", apiv1.OTPCheckRequest{Code: pos[1]})
	if err != nil {
		return err
	}
	if err := printOTP(e, raw, *asJSON, &apiv1.OTPCheckResponse{}); err != nil {
		return err
	}
	var v apiv1.OTPCheckResponse
	if err := json.Unmarshal(raw, &v); err == nil && v.Status != apiv1.OTPApproved {
		return errors.New("code not approved")
	}
	return nil
}

func runOTPOne(ctx context.Context, e env, verb string, args []string) error {
	fs := newFlagSet(e, "otp "+verb, "ID [--json]")
	server, key, asJSON := clientFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("otp %s: want ID", verb)
	}
	c, err := newAPIClient(e, *server, *key)
	if err != nil {
		return err
	}
	method, path := http.MethodGet, "/api/v1/otp/"+url.PathEscape(pos[0])
	switch verb {
	case "resend":
		method, path = http.MethodPost, path+"/resend"
	case "cancel":
		method = http.MethodDelete
	}
	raw, err := c.do(ctx, method, path, nil)
	if err != nil {
		return err
	}
	return printOTP(e, raw, *asJSON, &apiv1.Verification{})
}

// printOTP prints an answer of the OTP API: raw with --json, else one line
// read from raw into answer, an *apiv1.OTPSendResponse, *OTPCheckResponse
// or *Verification.
func printOTP(e env, raw []byte, asJSON bool, answer any) error {
	if asJSON {
		_, err := e.stdout.Write(raw)
		return err
	}
	if err := json.Unmarshal(raw, answer); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	var v otpLine
	switch a := answer.(type) {
	case *apiv1.OTPSendResponse:
		v = otpLine{ID: a.ID, Status: a.Status, To: a.To, Channel: a.Channel, ExpiresAt: a.ExpiresAt}
	case *apiv1.OTPCheckResponse:
		v = otpLine{ID: a.ID, Status: a.Status, AttemptsLeft: &a.AttemptsLeft}
	case *apiv1.Verification:
		v = otpLine{ID: a.ID, Status: a.Status, To: a.To, Channel: a.Channel, ExpiresAt: a.ExpiresAt, AttemptsLeft: &a.AttemptsLeft}
	default:
		return fmt.Errorf("printOTP: unexpected %T", answer)
	}
	fmt.Fprintf(e.stdout, "%s %s", v.ID, v.Status)
	if v.To != "" {
		fmt.Fprintf(e.stdout, " to %s by %s, expires %s", v.To, v.Channel, v.ExpiresAt.Local().Format(time.TimeOnly))
	}
	if v.AttemptsLeft != nil {
		fmt.Fprintf(e.stdout, " (%d attempts left)", *v.AttemptsLeft)
	}
	fmt.Fprintln(e.stdout)
	return nil
}
