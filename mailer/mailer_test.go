package mailer_test

import (
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/mailer"
	"github.com/simgate/simgate/mailer/mailtest"
)

func mustMailer(t *testing.T, cfg mailer.Config) *mailer.Mailer {
	t.Helper()
	m, err := mailer.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func serverConfig(srv *mailtest.Server) mailer.Config {
	return mailer.Config{
		Host: srv.Host, Port: srv.Port, Username: srv.Username, Password: srv.Password,
		From: "Acme <otp@example.com>", TLSConfig: srv.ClientTLS, Timeout: 5 * time.Second,
	}
}

// TestMailer_SendMail sends through a real SMTP server with STARTTLS and
// AUTH PLAIN, and reads the text and HTML parts back.
func TestMailer_SendMail(t *testing.T) {
	srv := mailtest.Start(t)
	m := mustMailer(t, serverConfig(srv))
	err := m.SendMail(t.Context(), gateway.Mail{
		To: "user@example.org", Subject: "Your code", Text: "code 123456\n", HTML: "<p>code <b>123456</b></p>",
	})
	if err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	msgs := srv.Wait(t, 1, 5*time.Second)
	got := msgs[0]
	if got.From != "otp@example.com" || len(got.To) != 1 || got.To[0] != "user@example.org" || got.User != srv.Username {
		t.Errorf("envelope from %q to %v user %q", got.From, got.To, got.User)
	}
	msg := mailtest.Parse(t, got)
	if s := msg.Header.Get("Subject"); s != "Your code" {
		t.Errorf("Subject = %q", s)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, _ := io.ReadAll(p) // quoted-printable is decoded by NextPart
		parts[ct] = string(b)
	}
	if !strings.Contains(parts["text/plain"], "code 123456") {
		t.Errorf("text part %q", parts["text/plain"])
	}
	if !strings.Contains(parts["text/html"], "<b>123456</b>") {
		t.Errorf("html part %q", parts["text/html"])
	}
}

func TestMailer_Errors(t *testing.T) {
	srv := mailtest.Start(t)
	t.Run("WrongPassword", func(t *testing.T) {
		cfg := serverConfig(srv)
		cfg.Password = "wrong"
		if err := mustMailer(t, cfg).SendMail(t.Context(), gateway.Mail{To: "a@example.org", Subject: "s", Text: "t"}); err == nil {
			t.Fatal("SendMail with a wrong password succeeded")
		}
	})
	t.Run("UntrustedCertificate", func(t *testing.T) {
		cfg := serverConfig(srv)
		cfg.TLSConfig = nil // the system roots do not know the test CA
		if err := mustMailer(t, cfg).SendMail(t.Context(), gateway.Mail{To: "a@example.org", Subject: "s", Text: "t"}); err == nil {
			t.Fatal("SendMail to an untrusted server succeeded")
		}
	})
	t.Run("Refused", func(t *testing.T) {
		srv.Fail(io.ErrUnexpectedEOF)
		defer srv.Fail(nil)
		if err := mustMailer(t, serverConfig(srv)).SendMail(t.Context(), gateway.Mail{To: "a@example.org", Subject: "s", Text: "t"}); err == nil {
			t.Fatal("SendMail refused by the server succeeded")
		}
	})
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages accepted, want 0", n)
	}
}

func TestNew_Invalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  mailer.Config
	}{
		{"NoHost", mailer.Config{From: "a@example.org"}},
		{"NoFrom", mailer.Config{Host: "smtp.example.org"}},
		{"BadTLS", mailer.Config{Host: "h", From: "a@example.org", TLS: "ssl3"}},
		{"PasswordInClear", mailer.Config{Host: "h", From: "a@example.org", TLS: "none", Username: "u"}},
		{"BadFrom", mailer.Config{Host: "h", From: "not an address"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := mailer.New(tt.cfg); err == nil {
				t.Errorf("New(%+v) = nil error", tt.cfg)
			}
		})
	}
}
