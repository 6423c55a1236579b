package otp

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/pdu"
)

// DefaultOTPTemplate is the built-in SMS text. "code" comes early, which
// iOS Security Code AutoFill looks for; the warning follows OWASP's advice.
const DefaultOTPTemplate = "Your {app} code is {code}. It expires in {minutes} min. Don't share it."

// EmailTemplate is the email channel's content. Subject, Text and HTML are
// Go templates (text/template, and html/template for HTML) over
// {{.Code}}, {{.App}} and {{.Minutes}}.
type EmailTemplate struct {
	Subject string
	Text    string
	HTML    string
}

// Built-in email content.
const (
	DefaultEmailSubject = "Your {{.App}} code: {{.Code}}"
	DefaultEmailText    = "Your {{.App}} verification code is {{.Code}}.\n\nIt expires in {{.Minutes}} minutes. Don't share it with anyone.\n"
	DefaultEmailHTML    = `<!doctype html><html><body style="font-family:sans-serif">` +
		`<p>Your {{.App}} verification code is</p>` +
		`<p style="font-size:28px;font-weight:bold;letter-spacing:4px">{{.Code}}</p>` +
		`<p>It expires in {{.Minutes}} minutes. Don't share it with anyone.</p></body></html>`
)

type otpTemplates struct {
	texts         map[string]map[string]string // name → locale → text
	defaultLocale string
	subject       *texttemplate.Template
	text          *texttemplate.Template
	html          *htmltemplate.Template
}

// newOTPTemplates checks every SMS template: it must hold {code} and, with
// the longest code and the app name, fit one segment, leaving room for the
// optional auto-fill lines when they are asked for (checked per request).
func newOTPTemplates(cfg Config) (*otpTemplates, error) {
	t := &otpTemplates{texts: map[string]map[string]string{}, defaultLocale: cfg.DefaultLocale}
	for name, locales := range cfg.Templates {
		t.texts[name] = map[string]string{}
		for loc, text := range locales {
			t.texts[name][strings.ToLower(loc)] = text
		}
	}
	if t.texts["default"] == nil {
		t.texts["default"] = map[string]string{}
	}
	if _, ok := t.texts["default"][t.defaultLocale]; !ok {
		t.texts["default"][t.defaultLocale] = DefaultOTPTemplate
	}
	for name, locales := range t.texts {
		if _, ok := locales[t.defaultLocale]; !ok {
			return nil, fmt.Errorf("otp template %q: no text for the default locale %q", name, t.defaultLocale)
		}
		for loc, text := range locales {
			if !strings.Contains(text, "{code}") {
				return nil, fmt.Errorf("otp template %q (%s): no {code}", name, loc)
			}
			longest := expand(text, strings.Repeat("0", MaxOTPLength), cfg.App, minutes(cfg.MaxTTL))
			if est := pdu.Preview(longest); est.Segments > 1 {
				return nil, fmt.Errorf("otp template %q (%s): %d segments in %s with a %d-digit code; an OTP must fit one",
					name, loc, est.Segments, est.Encoding, MaxOTPLength)
			}
		}
	}
	em := cfg.Email
	if em.Subject == "" {
		em.Subject = DefaultEmailSubject
	}
	if em.Text == "" {
		em.Text = DefaultEmailText
	}
	if em.HTML == "" {
		em.HTML = DefaultEmailHTML
	}
	var err error
	if t.subject, err = texttemplate.New("subject").Option("missingkey=error").Parse(em.Subject); err != nil {
		return nil, fmt.Errorf("otp email subject: %w", err)
	}
	if t.text, err = texttemplate.New("text").Option("missingkey=error").Parse(em.Text); err != nil {
		return nil, fmt.Errorf("otp email text: %w", err)
	}
	if t.html, err = htmltemplate.New("html").Option("missingkey=error").Parse(em.HTML); err != nil {
		return nil, fmt.Errorf("otp email html: %w", err)
	}
	if _, err := t.email("0000", "app", time.Minute); err != nil {
		return nil, err
	}
	return t, nil
}

// resolve picks a template and locale: the exact locale, then its language
// ("pt-BR" → "pt"), then the default locale.
func (t *otpTemplates) resolve(name, locale string) (string, string, error) {
	if name == "" {
		name = "default"
	}
	locales, ok := t.texts[name]
	if !ok {
		names := make([]string, 0, len(t.texts))
		for n := range t.texts {
			names = append(names, n)
		}
		slices.Sort(names)
		return "", "", &gateway.ValidationError{Field: "template", Reason: fmt.Sprintf("is %q; this gateway has %s", name, strings.Join(names, ", "))}
	}
	loc := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(locale), "_", "-"))
	if _, ok := locales[loc]; ok {
		return name, loc, nil
	}
	if lang, _, ok := strings.Cut(loc, "-"); ok {
		if _, ok := locales[lang]; ok {
			return name, lang, nil
		}
	}
	return name, t.defaultLocale, nil
}

// sms composes the text: the template, then the Android app hash on its
// own line, then the origin-bound line "@domain #code", which must be last
// (WICG sms-one-time-codes). It must fit one segment.
func (t *otpTemplates) sms(name, locale, code, app string, ttl time.Duration, domain, appHash string) (string, error) {
	text, ok := t.texts[name][locale]
	if !ok {
		text = t.texts["default"][t.defaultLocale]
	}
	var b strings.Builder
	b.WriteString(expand(text, code, app, minutes(ttl)))
	if appHash != "" {
		b.WriteString("\n")
		b.WriteString(appHash)
	}
	if domain != "" {
		b.WriteString("\n\n@")
		b.WriteString(domain)
		b.WriteString(" #")
		b.WriteString(code)
	}
	out := b.String()
	if est := pdu.Preview(out); est.Segments > 1 {
		field := "domain"
		if domain == "" {
			field = "app_hash"
		}
		return "", &gateway.ValidationError{Field: field, Reason: "makes the code's SMS longer than one segment; use a shorter domain or template"}
	}
	return out, nil
}

func expand(text, code, app, mins string) string {
	return strings.NewReplacer("{code}", code, "{app}", app, "{minutes}", mins).Replace(text)
}

type emailData struct {
	Code, App, Minutes string
}

// email renders the three parts of a code's email.
func (t *otpTemplates) email(code, app string, ttl time.Duration) (gateway.Mail, error) {
	d := emailData{Code: code, App: app, Minutes: minutes(ttl)}
	var subj, text, html bytes.Buffer
	if err := t.subject.Execute(&subj, d); err != nil {
		return gateway.Mail{}, fmt.Errorf("otp email subject: %w", err)
	}
	if err := t.text.Execute(&text, d); err != nil {
		return gateway.Mail{}, fmt.Errorf("otp email text: %w", err)
	}
	if err := t.html.Execute(&html, d); err != nil {
		return gateway.Mail{}, fmt.Errorf("otp email html: %w", err)
	}
	return gateway.Mail{Subject: strings.TrimSpace(subj.String()), Text: text.String(), HTML: html.String()}, nil
}

// minutes is ttl in whole minutes, rounded up, for {minutes}.
func minutes(ttl time.Duration) string {
	return strconv.Itoa(int((ttl + time.Minute - 1) / time.Minute))
}
