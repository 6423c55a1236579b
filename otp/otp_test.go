package otp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/dispatch"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/mailer"
	"github.com/simgate/simgate/mailer/mailtest"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/otp"
	"github.com/simgate/simgate/store"
)

// otpRig is the OTP service over the real store, the real dispatcher and
// the real modem driver on a virtual modem, with a handset on the same
// virtual network.
type otpRig struct {
	t     *testing.T
	dir   string
	st    *store.Store
	svc   *gateway.Service
	d     *dispatch.Dispatcher
	otp   *otp.Service
	clock *testkit.Clock
	net   *modemsim.Network
	modem *modemsim.Modem
	phone *modemsim.Modem
	logs  *testkit.SyncBuffer
}

type otpRigOptions struct {
	cfg      otp.Config
	mailer   gateway.Mailer
	noModem  bool // no modem attached: messages stay queued
	noRunner bool // the dispatcher does not run
}

func newOTPRig(t *testing.T, o otpRigOptions) *otpRig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &otpRig{t: t, dir: t.TempDir(), logs: &testkit.SyncBuffer{}}
	// Noon of today: a test that moves the clock on by hours must not
	// cross midnight, which splits the per-day stats.
	r.clock = testkit.NewClock(time.Now().UTC().Truncate(24 * time.Hour).Add(12 * time.Hour))
	logger := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := store.Open(ctx, filepath.Join(r.dir, "simgate.db"), logger)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	r.st = st
	key, err := otp.LoadKey(filepath.Join(r.dir, "otp.key"))
	if err != nil {
		t.Fatalf("LoadOTPKey: %v", err)
	}
	sealed := otp.SealedStore(st, key)
	r.d = dispatch.New(dispatch.Config{}, sealed, r.clock, logger)
	r.svc = gateway.NewService(gateway.ServiceConfig{}, sealed, r.d, r.clock, logger)
	r.otp, err = otp.New(o.cfg, r.svc, st, key, o.mailer, r.clock, logger)
	if err != nil {
		t.Fatalf("NewOTPService: %v", err)
	}
	r.net = modemsim.NewNetwork()
	r.modem = r.net.AddModem(modemsim.Config{})
	r.phone = r.net.AddModem(modemsim.Config{})

	runDone := make(chan error, 1)
	if !o.noRunner {
		go func() { runDone <- r.d.Run(ctx) }()
	} else {
		runDone <- nil
	}
	t.Cleanup(func() {
		cancel()
		if err := <-runDone; err != nil {
			t.Errorf("Dispatcher.Run: %v", err)
		}
		r.net.Close()
		if err := st.Close(); err != nil {
			t.Errorf("store Close: %v", err)
		}
	})
	if !o.noModem {
		r.attach(ctx)
	}
	return r
}

func (r *otpRig) attach(ctx context.Context) {
	r.t.Helper()
	if err := r.st.UpsertModem(ctx, gateway.ModemInfo{IMEI: r.modem.IMEI(), State: gateway.ModemOnline}); err != nil {
		r.t.Fatal(err)
	}
	r.d.Attach(r.modem.IMEI(), testkit.SimDevice(r.t, ctx, r.modem), gateway.ModemLimits{})
}

func (r *otpRig) send(req otp.Request) *gateway.Verification {
	r.t.Helper()
	if req.To == "" && req.Channel != gateway.ChannelEmail {
		req.To = r.phone.Number()
	}
	v, err := r.otp.Send(context.Background(), req)
	if err != nil {
		r.t.Fatalf("Send(%+v): %v", req, err)
	}
	return v
}

var codeRE = regexp.MustCompile(`code is (\d+)`)

// codeOf waits until the virtual network carried message msgID's text to
// the handset and returns the code in it.
func (r *otpRig) codeOf(v *gateway.Verification) string {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		m, err := r.st.Message(context.Background(), v.MessageID)
		if err == nil && m.Status == gateway.StatusFailed {
			r.t.Fatalf("otp sms %s failed: %s", m.ID, m.Error)
		}
		if err == nil && m.Status == gateway.StatusSent {
			for _, rec := range r.net.Records() {
				if rec.FromIMEI == m.Modem && rec.MR == m.Parts[0].MR && rec.To == v.To {
					if c := codeRE.FindStringSubmatch(rec.Text); c != nil {
						return c[1]
					}
					r.t.Fatalf("no code in %q", rec.Text)
				}
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("otp sms %s not on the network after 20s", v.MessageID)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (r *otpRig) check(id, code string) *gateway.Verification {
	r.t.Helper()
	v, err := r.otp.Check(context.Background(), id, code)
	if err != nil {
		r.t.Fatalf("Check(%s): %v", id, err)
	}
	return v
}

func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

func wantStatus(t *testing.T, what string, v *gateway.Verification, status string, attemptsLeft int) {
	t.Helper()
	if v.PublicStatus() != status || v.AttemptsLeft != attemptsLeft {
		t.Fatalf("%s: status %s, attempts_left %d; want %s, %d", what, v.PublicStatus(), v.AttemptsLeft, status, attemptsLeft)
	}
}

// TestOTP_VirtualNetwork is the whole life of a code over a virtual modem:
// the code is read from what the network carried; a wrong one costs an
// attempt; the right one approves once.
func TestOTP_VirtualNetwork(t *testing.T) {
	r := newOTPRig(t, otpRigOptions{})
	v := r.send(otp.Request{Domain: "example.com"})
	if v.Status != gateway.OTPPending || v.MessageID == "" || v.AttemptsLeft != 5 || v.Channel != gateway.ChannelSMS {
		t.Fatalf("Send = %+v", v)
	}
	if want := r.clock.Now().Add(otp.DefaultOTPTTL); !v.ExpiresAt.Equal(want) {
		t.Errorf("expires_at %v, want %v", v.ExpiresAt, want)
	}
	code := r.codeOf(v)
	if len(code) != otp.DefaultOTPLength {
		t.Fatalf("code %q, want %d digits", code, otp.DefaultOTPLength)
	}

	// The SMS went in the high lane with TP-VP no longer than the code lives.
	m, err := r.st.Message(t.Context(), v.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Priority != gateway.PriorityHigh || !m.ExpiresAt.Equal(v.ExpiresAt) {
		t.Errorf("message priority %v expires %v; want high, %v", m.Priority, m.ExpiresAt, v.ExpiresAt)
	}
	var text string
	for _, rec := range r.net.Records() {
		if rec.To == v.To {
			text = rec.Text
			if rec.Validity <= 0 || rec.Validity > otp.DefaultOTPTTL {
				t.Errorf("TP-VP %v, want (0, %v]", rec.Validity, otp.DefaultOTPTTL)
			}
		}
	}
	if !strings.HasSuffix(text, "\n@example.com #"+code) {
		t.Errorf("text %q does not end with the origin-bound line", text)
	}

	wantStatus(t, "wrong code", r.check(v.ID, wrongCode(code)), gateway.OTPPending, 4)
	wantStatus(t, "right code", r.check(v.ID, code), gateway.OTPApproved, 4)
	if _, err := r.otp.Check(t.Context(), v.ID, code); !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("second check with the right code: err %v, want ErrNotFound", err)
	}
	got, err := r.otp.Get(t.Context(), v.ID)
	if err != nil || got.Status != gateway.OTPApproved {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}

func TestOTP_MaxAttempts(t *testing.T) {
	r := newOTPRig(t, otpRigOptions{})
	v := r.send(otp.Request{})
	code := r.codeOf(v)
	for i := 4; i >= 1; i-- {
		wantStatus(t, "wrong code", r.check(v.ID, wrongCode(code)), gateway.OTPPending, i)
	}
	wantStatus(t, "fifth wrong code", r.check(v.ID, wrongCode(code)), gateway.OTPMaxAttempts, 0)
	wantStatus(t, "right code after", r.check(v.ID, code), gateway.OTPMaxAttempts, 0)
}

func TestOTP_Resend(t *testing.T) {
	r := newOTPRig(t, otpRigOptions{})
	v := r.send(otp.Request{})
	old := r.codeOf(v)
	r.check(v.ID, wrongCode(old)) // the budget carries over

	_, err := r.otp.Resend(t.Context(), v.ID)
	var ra *gateway.RetryAfterError
	if !errors.As(err, &ra) || ra.Wait <= 0 || ra.Wait > 30*time.Second {
		t.Fatalf("Resend at once: err %v, want RetryAfterError within 30s", err)
	}
	// A new request for the same number within the cooldown is the same
	// verification, not a second code.
	if again := r.send(otp.Request{}); again.ID != v.ID {
		t.Fatalf("Send within the cooldown made %s, want %s back", again.ID, v.ID)
	}

	r.clock.Add(31 * time.Second)
	v2, err := r.otp.Resend(t.Context(), v.ID)
	if err != nil {
		t.Fatalf("Resend after 31s: %v", err)
	}
	if v2.MessageID == v.MessageID || v2.Sends != 2 || len(v2.Channels) != 2 {
		t.Fatalf("Resend = %+v", v2)
	}
	fresh := r.codeOf(v2)
	if fresh == old {
		t.Skip("the new code equals the old one (p = 1e-6)")
	}
	wantStatus(t, "old code", r.check(v.ID, old), gateway.OTPPending, 3)
	wantStatus(t, "new code", r.check(v.ID, fresh), gateway.OTPApproved, 3)
}

func TestOTP_Expiry(t *testing.T) {
	r := newOTPRig(t, otpRigOptions{cfg: otp.Config{TTL: 2 * time.Minute}})
	v := r.send(otp.Request{})
	code := r.codeOf(v)
	r.clock.Add(2*time.Minute + time.Second)
	got, err := r.otp.Get(t.Context(), v.ID)
	if err != nil || got.Status != gateway.OTPExpired {
		t.Fatalf("Get after expiry = %+v, %v", got, err)
	}
	wantStatus(t, "right code after expiry", r.check(v.ID, code), gateway.OTPExpired, 5)
	if _, err := r.otp.Resend(t.Context(), v.ID); err != nil {
		t.Fatalf("Resend after expiry: %v", err)
	}
	if got, _ := r.otp.Get(t.Context(), v.ID); got.Status != gateway.OTPExpired {
		t.Fatalf("Resend revived an expired verification: %s", got.Status)
	}
}

func TestOTP_ConcurrentChecks(t *testing.T) {
	r := newOTPRig(t, otpRigOptions{})
	v := r.send(otp.Request{})
	code := r.codeOf(v)
	var approved, notFound atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			got, err := r.otp.Check(context.Background(), v.ID, code)
			switch {
			case errors.Is(err, gateway.ErrNotFound):
				notFound.Add(1)
			case err != nil:
				t.Errorf("Check: %v", err)
			case got.Status == gateway.OTPApproved:
				approved.Add(1)
			default:
				t.Errorf("Check = %s", got.Status)
			}
		})
	}
	close(start)
	wg.Wait()
	if approved.Load() != 1 || notFound.Load() != 49 {
		t.Fatalf("%d approved, %d not found; want 1 and 49", approved.Load(), notFound.Load())
	}
}

// TestOTP_NoCodeAtRest sends and checks codes, then looks for them in the
// key file's neighbours: the database (with its WAL) and the logs at
// debug level. Ten-digit codes make a chance match negligible.
func TestOTP_NoCodeAtRest(t *testing.T) {
	r := newOTPRig(t, otpRigOptions{cfg: otp.Config{Length: 10}})
	var codes []string
	for i, purpose := range []string{"login", "reset", "signup"} {
		v := r.send(otp.Request{Purpose: purpose})
		code := r.codeOf(v)
		codes = append(codes, code)
		if i == 0 {
			r.check(v.ID, wrongCode(code))
			r.check(v.ID, code)
		}
	}
	fi, err := os.Stat(filepath.Join(r.dir, "otp.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != otp.OTPKeySize {
		t.Errorf("otp.key mode %v size %d, want 0600 and %d", fi.Mode().Perm(), fi.Size(), otp.OTPKeySize)
	}
	key, _ := os.ReadFile(filepath.Join(r.dir, "otp.key"))
	var files []string
	filepath.WalkDir(r.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "simgate.db") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatal("no database file")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range codes {
			if bytes.Contains(b, []byte(c)) {
				t.Errorf("%s holds code %s", filepath.Base(f), c)
			}
		}
		if bytes.Contains(b, key) {
			t.Errorf("%s holds the otp key", filepath.Base(f))
		}
	}
	logs := r.logs.String()
	if !strings.Contains(logs, "otp approved") {
		t.Fatalf("the logs are not the service's: %q", logs)
	}
	for _, c := range codes {
		if strings.Contains(logs, c) {
			t.Errorf("the logs hold code %s", c)
		}
	}
	// Read back for people, an OTP message shows no code either.
	ms, _, err := r.svc.Messages(t.Context(), gateway.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Text != otp.RedactedOTPText {
			t.Errorf("message %s reads %q", m.ID, m.Text)
		}
	}
}

// TestOTP_HighLane: a code sent while 1,000 normal messages wait on the same
// modem goes out next, after at most the one already in flight.
func TestOTP_HighLane(t *testing.T) {
	r := newOTPRig(t, otpRigOptions{})
	r.modem.SetSendLatency(2 * time.Millisecond)
	const bulk = "+12025550150" // off the virtual network: accepted, never delivered
	for i := range 1000 {
		if _, _, err := r.svc.Send(t.Context(), gateway.SendRequest{To: bulk, Text: "bulk " + string(rune('a'+i%26))}); err != nil {
			t.Fatal(err)
		}
	}
	v := r.send(otp.Request{})
	before := len(r.net.Records())
	r.codeOf(v)
	recs := r.net.Records()
	at := -1
	for i, rec := range recs {
		if rec.To == v.To {
			at = i
			break
		}
	}
	if at > before+1 {
		t.Fatalf("the code went out as send %d; %d had gone when it was queued (at most one more may be in flight)", at, before)
	}
	if before >= 1000 {
		t.Fatalf("the bulk was gone before the code was queued; the test proves nothing")
	}
	t.Logf("code sent as number %d, with %d of 1000 bulk messages still waiting", at+1, 1000-before)
}

// emailCode finds the code in a mail's text part.
func emailCode(t *testing.T, m mailtest.Message) string {
	t.Helper()
	msg := mailtest.Parse(t, m)
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no text part with a code: %v", err)
		}
		b, _ := io.ReadAll(p)
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			c := codeRE.FindStringSubmatch(string(b))
			if c == nil {
				t.Fatalf("no code in %q", b)
			}
			return c[1]
		}
	}
}

func mustSMTP(t *testing.T) (*mailtest.Server, *mailer.Mailer) {
	t.Helper()
	srv := mailtest.Start(t)
	m, err := mailer.New(mailer.Config{Host: srv.Host, Port: srv.Port, Username: srv.Username,
		Password: srv.Password, From: "OTP <otp@example.com>", TLSConfig: srv.ClientTLS, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return srv, m
}

func TestOTP_Email(t *testing.T) {
	srv, m := mustSMTP(t)
	r := newOTPRig(t, otpRigOptions{mailer: m, noModem: true})
	v := r.send(otp.Request{Channel: gateway.ChannelEmail, Email: "user@example.org"})
	if v.Channel != gateway.ChannelEmail || v.MessageID != "" || len(v.Channels) != 1 || v.Channels[0].Status != gateway.AttemptSent {
		t.Fatalf("Send = %+v", v)
	}
	mails := srv.Wait(t, 1, 10*time.Second)
	if mails[0].To[0] != "user@example.org" {
		t.Errorf("mail to %v", mails[0].To)
	}
	code := emailCode(t, mails[0])
	wantStatus(t, "emailed code", r.check(v.ID, code), gateway.OTPApproved, 5)
}

// TestOTP_Fallback: an SMS the virtual network refuses falls back to
// email, and the emailed code approves.
func TestOTP_Fallback(t *testing.T) {
	srv, m := mustSMTP(t)
	r := newOTPRig(t, otpRigOptions{mailer: m})
	r.net.SetFailure(r.phone.Number(), 1) // unassigned number
	v := r.send(otp.Request{Email: "user@example.org", Fallback: true})
	deadline := time.Now().Add(20 * time.Second)
	for {
		msg, err := r.st.Message(t.Context(), v.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		if msg.Status == gateway.StatusFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the SMS is %s, want failed", msg.Status)
		}
		time.Sleep(2 * time.Millisecond)
	}
	r.otp.Tick(t.Context())
	code := emailCode(t, srv.Wait(t, 1, 10*time.Second)[0])
	got, err := r.otp.Get(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Channels) != 2 || got.Channels[0].Status != gateway.AttemptFailed || got.Channels[0].Error == "" ||
		got.Channels[1].Channel != gateway.ChannelEmail || got.Channels[1].Status != gateway.AttemptSent {
		t.Fatalf("channels %+v", got.Channels)
	}
	wantStatus(t, "emailed code", r.check(v.ID, code), gateway.OTPApproved, 5)
}

// TestOTP_FallbackLate: an SMS still not delivered after FallbackAfter is
// followed by an email with the same code; without fallback, a refused SMS
// fails the verification.
func TestOTP_FallbackLate(t *testing.T) {
	srv, m := mustSMTP(t)
	r := newOTPRig(t, otpRigOptions{mailer: m, noModem: true})
	v := r.send(otp.Request{Email: "user@example.org", Fallback: true})
	r.otp.Tick(t.Context())
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d mails before the fallback time", n)
	}
	r.clock.Add(otp.DefaultOTPFallbackAfter)
	r.otp.Tick(t.Context())
	code := emailCode(t, srv.Wait(t, 1, 10*time.Second)[0])
	wantStatus(t, "emailed code", r.check(v.ID, code), gateway.OTPApproved, 5)

	r2 := newOTPRig(t, otpRigOptions{})
	r2.net.SetFailure(r2.phone.Number(), 1)
	v2 := r2.send(otp.Request{})
	deadline := time.Now().Add(20 * time.Second)
	for {
		r2.otp.Tick(t.Context())
		got, err := r2.otp.Get(t.Context(), v2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == gateway.OTPFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("verification %s after its SMS was refused, want failed", got.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOTP_Blocked(t *testing.T) {
	tests := []struct {
		name   string
		limits otp.Limits
		to     string
		sends  int // allowed sends before the one that is blocked
	}{
		{"CountryNotAllowed", otp.Limits{}, "+447911123456", 0},
		{"TollFree", otp.Limits{AllowedCountries: []string{"*"}}, "+18005550123", 0},
		{"NumberPerHour", otp.Limits{NumberPerHour: 2}, "+12025550177", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newOTPRig(t, otpRigOptions{cfg: otp.Config{Limits: tt.limits}, noModem: true})
			for i := range tt.sends {
				v := r.send(otp.Request{To: tt.to, Purpose: string(rune('a' + i))})
				if v.Status != gateway.OTPPending {
					t.Fatalf("send %d: %s (%s)", i, v.Status, v.BlockReason)
				}
			}
			v := r.send(otp.Request{To: tt.to, Purpose: "last"})
			if v.Status != gateway.OTPBlocked || v.BlockReason == "" || v.PublicStatus() != gateway.OTPPending || v.MessageID == "" {
				t.Fatalf("Send = %+v, want blocked shown as pending with a message id", v)
			}
			if _, err := r.st.Message(t.Context(), v.MessageID); !errors.Is(err, gateway.ErrNotFound) {
				t.Fatalf("a blocked verification queued message %s (%v)", v.MessageID, err)
			}
			for i := 4; i >= 1; i-- {
				wantStatus(t, "check of a blocked verification", r.check(v.ID, "123456"), gateway.OTPPending, i)
			}
			wantStatus(t, "fifth check of a blocked verification", r.check(v.ID, "123456"), gateway.OTPMaxAttempts, 0)
		})
	}
}

// TestOTP_Breaker: a prefix whose codes are never approved is blocked.
func TestOTP_Breaker(t *testing.T) {
	r := newOTPRig(t, otpRigOptions{noModem: true, cfg: otp.Config{Limits: otp.Limits{
		BreakerMinVerifications: 5, PrefixPerHour: 100,
	}}})
	for i := range 5 {
		r.send(otp.Request{To: "+1202555016" + string(rune('0'+i))})
	}
	r.clock.Add(otp.DefaultOTPMaxTTL + time.Minute)
	r.otp.Tick(t.Context())
	bl, err := r.otp.BlockedPrefixes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(bl) != 1 || bl[0].Prefix != "+1202555" || bl[0].Sends != 5 || bl[0].Approvals != 0 {
		t.Fatalf("blocked %+v, want +1202555 with 5 sends", bl)
	}
	v := r.send(otp.Request{To: "+12025550169"})
	if v.Status != gateway.OTPBlocked {
		t.Fatalf("send to a blocked prefix: %s", v.Status)
	}
	stats, err := r.otp.Stats(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 1 || stats[0].Country != "US" || stats[0].Verifications != 6 || stats[0].Blocked != 1 || stats[0].Sends != 5 {
		t.Fatalf("stats %+v", stats)
	}
}

func TestLoadOTPKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "otp.key")
	k1, err := otp.LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := otp.LoadKey(path)
	if err != nil || !bytes.Equal(k1, k2) || len(k1) != otp.OTPKeySize {
		t.Fatalf("second load: %x, %v; want %x", k2, err, k1)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := otp.LoadKey(path); err == nil {
		t.Fatal("a world-readable key file was accepted")
	}
	short := filepath.Join(dir, "short.key")
	if err := os.WriteFile(short, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := otp.LoadKey(short); err == nil {
		t.Fatal("a 3-byte key was accepted")
	}
}
