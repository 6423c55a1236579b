package otp

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
)

// otpParams is a Request checked and completed.
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
		p.country, p.numberType = gateway.NumberInfo(to)
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

// validDomain accepts a host name as WebOTP's last line names it
// ("@example.com #123456"): dot-separated labels of ASCII letters, digits
// and inner hyphens (an IDN as its xn-- form), at least two, each 1–63
// characters, 253 in all. Anything else — a newline that would add a line
// to the SMS, a space, a scheme, a port — is refused.
func validDomain(d string) error {
	bad := errors.New(`must be a host name like "example.com" (letters, digits, '-' and '.'; an IDN in its xn-- form), without scheme, port or path`)
	labels := strings.Split(d, ".")
	if len(d) > 253 || len(labels) < 2 {
		return bad
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return bad
		}
		for i := range len(l) {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return bad
			}
		}
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
