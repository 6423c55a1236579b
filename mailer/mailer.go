package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/simgate/simgate/gateway"
)

// TLS modes of Config.TLS.
const (
	TLSStartTLS = "starttls" // STARTTLS on the submission port, required (default)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // plaintext; only for a relay on the same host
)

// DefaultTimeout bounds connecting and each SMTP command.
const DefaultTimeout = 15 * time.Second

// Config is an SMTP account.
type Config struct {
	Host     string
	Port     int    // default 587, or 465 for TLS "tls", 25 for "none"
	Username string // "" = no authentication
	Password string
	From     string // "Name <addr>" or "addr"
	TLS      string // starttls (default), tls or none
	// TLSConfig overrides the TLS settings (tests trust their own CA with
	// it); nil verifies the server against the system roots.
	TLSConfig *tls.Config
	Timeout   time.Duration
}

// Mailer sends mail through one SMTP server, a connection per message. It
// is safe for concurrent use.
type Mailer struct {
	cfg  Config
	from string
	name string
}

var _ gateway.Mailer = (*Mailer)(nil)

// New checks cfg and returns a Mailer; it connects only when sending.
func New(cfg Config) (*Mailer, error) {
	if cfg.Host == "" {
		return nil, errors.New("smtp: host is empty")
	}
	if cfg.From == "" {
		return nil, errors.New("smtp: from is empty")
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	switch cfg.TLS {
	case TLSStartTLS:
		if cfg.Port == 0 {
			cfg.Port = 587
		}
	case TLSImplicit:
		if cfg.Port == 0 {
			cfg.Port = 465
		}
	case TLSNone:
		if cfg.Port == 0 {
			cfg.Port = 25
		}
		if cfg.Username != "" {
			return nil, errors.New("smtp: a password is never sent without TLS; use tls starttls or tls")
		}
	default:
		return nil, fmt.Errorf("smtp: tls %q: want starttls, tls or none", cfg.TLS)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	m := &Mailer{cfg: cfg, from: cfg.From}
	if name, addr, ok := strings.Cut(cfg.From, "<"); ok {
		m.name, m.from = strings.TrimSpace(name), strings.TrimSuffix(strings.TrimSpace(addr), ">")
	}
	if err := mail.NewMsg().From(m.from); err != nil {
		return nil, fmt.Errorf("smtp: from %q: %w", cfg.From, err)
	}
	return m, nil
}

// SendMail delivers msg: a multipart/alternative of its text and HTML.
func (m *Mailer) SendMail(ctx context.Context, msg gateway.Mail) error {
	e := mail.NewMsg()
	var err error
	if m.name != "" {
		err = e.FromFormat(m.name, m.from)
	} else {
		err = e.From(m.from)
	}
	if err != nil {
		return fmt.Errorf("send mail: from: %w", err)
	}
	if err := e.To(msg.To); err != nil {
		return fmt.Errorf("send mail: to: %w", err)
	}
	e.Subject(msg.Subject)
	e.SetDate()
	e.SetMessageID()
	e.SetBodyString(mail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		e.AddAlternativeString(mail.TypeTextHTML, msg.HTML)
	}

	opts := []mail.Option{
		mail.WithPort(m.cfg.Port),
		mail.WithTimeout(m.cfg.Timeout),
	}
	tc := m.cfg.TLSConfig
	if tc == nil {
		tc = &tls.Config{ServerName: m.cfg.Host, MinVersion: tls.VersionTLS12}
	}
	switch m.cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory), mail.WithTLSConfig(tc))
	case TLSImplicit:
		opts = append(opts, mail.WithSSL(), mail.WithTLSConfig(tc))
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if m.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(m.cfg.Username), mail.WithPassword(m.cfg.Password))
	}
	c, err := mail.NewClient(m.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("send mail: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, e); err != nil {
		return fmt.Errorf("send mail via %s:%d: %w", m.cfg.Host, m.cfg.Port, err)
	}
	return nil
}
