package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/dispatch"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/otp"
	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/webhook"
)

// hit is one request a receiver got.
type hit struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint on loopback answering with status(n) to
// its n-th request (1-based).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	hits   []hit
	status func(n int) int
	got    chan struct{}
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	t.Helper()
	r := &receiver{status: status, got: make(chan struct{}, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.hits = append(r.hits, hit{req.Header.Clone(), b})
		n := len(r.hits)
		r.mu.Unlock()
		w.WriteHeader(r.status(n))
		r.got <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) all() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

func always(code int) func(int) int { return func(int) int { return code } }

// verify checks a request's signature the way a receiver would, from the
// Standard Webhooks spec rather than with the package's own signer.
func verify(t *testing.T, secret string, h hit) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	id, ts := h.header.Get("webhook-id"), h.header.Get("webhook-timestamp")
	if id == "" || ts == "" {
		t.Fatalf("missing webhook-id or webhook-timestamp: %v", h.header)
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		t.Errorf("webhook-timestamp %q is not unix seconds", ts)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(h.body)))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for sig := range strings.FieldsSeq(h.header.Get("webhook-signature")) {
		if v, ok := strings.CutPrefix(sig, "v1,"); ok && hmac.Equal([]byte(v), []byte(want)) {
			return
		}
	}
	t.Errorf("webhook-signature %q does not verify (want v1,%s)", h.header.Get("webhook-signature"), want)
}

type notifierRig struct {
	t     *testing.T
	path  string
	st    *store.Store
	clock *testkit.Clock
	keys  [][]byte // the Notifier's Keys
	n     *webhook.Notifier
	stop  func()
}

func newNotifierRig(t *testing.T) *notifierRig {
	t.Helper()
	r := &notifierRig{t: t, path: filepath.Join(t.TempDir(), "simgate.db"), clock: testkit.NewClock(time.Now())}
	r.open()
	t.Cleanup(func() { r.close() })
	return r
}

func (r *notifierRig) open() {
	st, err := store.Open(r.t.Context(), r.path, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	r.st = st
	r.n = webhook.New(webhook.Config{PollEvery: 5 * time.Millisecond, Timeout: 5 * time.Second, Keys: r.keys}, st, r.clock, nil)
}

// run starts the Notifier until close.
func (r *notifierRig) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	n := r.n
	go func() { done <- n.Run(ctx) }()
	r.stop = func() {
		cancel()
		if err := <-done; err != context.Canceled {
			r.t.Errorf("Run = %v, want context.Canceled", err)
		}
	}
}

func (r *notifierRig) close() {
	if r.stop != nil {
		r.stop()
		r.stop = nil
	}
	if r.st != nil {
		if err := r.st.Close(); err != nil {
			r.t.Errorf("store Close: %v", err)
		}
		r.st = nil
	}
}

func (r *notifierRig) endpoint(url string, events ...string) gateway.WebhookEndpoint {
	r.t.Helper()
	e, err := r.n.CreateWebhook(context.Background(), gateway.Caller{Admin: true}, url, events)
	if err != nil {
		r.t.Fatalf("CreateWebhook(%s): %v", url, err)
	}
	return e
}

func (r *notifierRig) notify(event string, data any) {
	r.t.Helper()
	ev, err := gateway.NewEvent(event, "subject", data, r.clock.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.st.AppendEvent(context.Background(), ev); err != nil {
		r.t.Fatalf("AppendEvent(%s): %v", event, err)
	}
}

// waitRow waits until endpoint's only outbox row satisfies ok.
func (r *notifierRig) waitRow(endpoint string, what string, ok func(gateway.WebhookDelivery) bool) gateway.WebhookDelivery {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, err := r.st.WebhookDeliveries(context.Background(), endpoint)
		if err != nil {
			r.t.Fatal(err)
		}
		if len(rows) == 1 && ok(rows[0]) {
			return rows[0]
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("outbox of %s never %s: %+v", endpoint, what, rows)
		}
		time.Sleep(time.Millisecond) // polling the database for a state, not timing
	}
}

func TestNotifier_SignedAndDeliveredOnce(t *testing.T) {
	r := newNotifierRig(t)
	rcv := newReceiver(t, always(http.StatusNoContent))
	other := newReceiver(t, always(http.StatusOK))
	ep := r.endpoint(rcv.URL+"/hook", gateway.EventSMSReceived)
	r.endpoint(other.URL, gateway.EventModemOnline) // not subscribed: gets nothing
	r.run()

	in := &gateway.InboundMessage{ID: "in_1", From: "+14155550101", Text: "hi there", Modem: "490154203237518", ReceivedAt: r.clock.Now()}
	r.notify(gateway.EventSMSReceived, gateway.NewInboundEventData(in, false))
	row := r.waitRow(ep.ID, "delivered", func(d gateway.WebhookDelivery) bool { return d.Status == gateway.WebhookDelivered })
	if row.Attempts != 1 {
		t.Errorf("attempts = %d, want 1", row.Attempts)
	}
	hits := rcv.all()
	if len(hits) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(hits))
	}
	verify(t, ep.Secret, hits[0])
	if got := hits[0].header.Get("webhook-id"); got != row.EventID {
		t.Errorf("webhook-id = %q, want the event's %q", got, row.EventID)
	}
	var body struct {
		Type      string
		Timestamp time.Time
		Data      map[string]any
	}
	if err := json.Unmarshal(hits[0].body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != gateway.EventSMSReceived || body.Data["from"] != in.From || body.Data["text"] != in.Text || body.Timestamp.IsZero() {
		t.Errorf("body = %s", hits[0].body)
	}
	if n := len(other.all()); n != 0 {
		t.Errorf("unsubscribed endpoint got %d requests", n)
	}
}

func TestNotifier_RetryWithBackoff(t *testing.T) {
	r := newNotifierRig(t)
	rcv := newReceiver(t, func(n int) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	barrier := newReceiver(t, always(http.StatusOK))
	ep := r.endpoint(rcv.URL, gateway.EventMessageSent)
	bar := r.endpoint(barrier.URL, gateway.EventModemOnline)
	r.run()

	start := r.clock.Now()
	r.notify(gateway.EventMessageSent, gateway.MessageEventData{ID: "msg_1", To: "+14155550101", Status: gateway.StatusSent, Segments: 1})
	row := r.waitRow(ep.ID, "retried", func(d gateway.WebhookDelivery) bool { return d.Attempts == 1 })
	if row.Status != gateway.WebhookPending || row.LastError != "http 500" {
		t.Fatalf("after a 500: %+v", row)
	}
	// FirstRetry is 5 s, drawn from its upper half.
	if wait := row.NextAttempt.Sub(start); wait < 2500*time.Millisecond || wait > 5*time.Second {
		t.Errorf("next attempt in %s, want 2.5 s to 5 s", wait)
	}

	// Before the retry is due, a delivery round (seen through another
	// endpoint's event) leaves the row alone.
	r.clock.Add(2 * time.Second)
	r.notify(gateway.EventModemOnline, gateway.ModemEventData{IMEI: "1", State: gateway.ModemOnline})
	r.waitRow(bar.ID, "delivered", func(d gateway.WebhookDelivery) bool { return d.Status == gateway.WebhookDelivered })
	if n := len(rcv.all()); n != 1 {
		t.Fatalf("retried before due: %d requests", n)
	}

	r.clock.Add(3 * time.Second)
	r.n.Wake()
	row = r.waitRow(ep.ID, "delivered", func(d gateway.WebhookDelivery) bool { return d.Status == gateway.WebhookDelivered })
	hits := rcv.all()
	if row.Attempts != 2 || len(hits) != 2 {
		t.Fatalf("attempts %d, requests %d; want 2, 2", row.Attempts, len(hits))
	}
	if hits[0].header.Get("webhook-id") != hits[1].header.Get("webhook-id") {
		t.Errorf("webhook-id changed across retries: %q, %q", hits[0].header.Get("webhook-id"), hits[1].header.Get("webhook-id"))
	}
	verify(t, ep.Secret, hits[1])
}

func TestNotifier_GivesUp(t *testing.T) {
	r := newNotifierRig(t)
	r.n = webhook.New(webhook.Config{PollEvery: 5 * time.Millisecond, GiveUpAfter: 10 * time.Second}, r.st, r.clock, nil)
	rcv := newReceiver(t, always(http.StatusServiceUnavailable))
	ep := r.endpoint(rcv.URL, gateway.EventModemOffline)
	r.run()
	r.notify(gateway.EventModemOffline, gateway.ModemEventData{IMEI: "1", State: gateway.ModemOffline})
	r.waitRow(ep.ID, "attempted", func(d gateway.WebhookDelivery) bool { return d.Attempts == 1 })
	r.clock.Add(6 * time.Second)
	r.n.Wake()
	row := r.waitRow(ep.ID, "failed", func(d gateway.WebhookDelivery) bool { return d.Status != gateway.WebhookPending })
	if row.Status != gateway.WebhookFailed || row.Attempts != 2 {
		t.Errorf("row = %+v, want failed after 2 attempts", row)
	}
}

func TestNotifier_Gone(t *testing.T) {
	r := newNotifierRig(t)
	rcv := newReceiver(t, always(http.StatusGone))
	ep := r.endpoint(rcv.URL, gateway.EventModemOffline)
	r.run()
	r.notify(gateway.EventModemOffline, gateway.ModemEventData{IMEI: "1", State: gateway.ModemOffline})
	r.waitRow(ep.ID, "failed", func(d gateway.WebhookDelivery) bool { return d.Status == gateway.WebhookFailed })
	live, err := r.n.Webhooks(context.Background())
	if err != nil || len(live) != 0 {
		t.Errorf("after 410 the endpoints are %+v, %v; want none", live, err)
	}
}

func TestNotifier_RefusesRedirectToOtherHost(t *testing.T) {
	r := newNotifierRig(t)
	elsewhere := newReceiver(t, always(http.StatusOK))
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, elsewhere.URL+"/stolen", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	// Same IP, other port: another host as far as URLs go.
	ep := r.endpoint(redirector.URL, gateway.EventSMSReceived)
	r.run()
	r.notify(gateway.EventSMSReceived, gateway.InboundEventData{ID: "in_1"})
	row := r.waitRow(ep.ID, "attempted", func(d gateway.WebhookDelivery) bool { return d.Attempts == 1 })
	if row.Status != gateway.WebhookPending || !strings.Contains(row.LastError, "redirect") {
		t.Errorf("row = %+v, want pending with a redirect error", row)
	}
	if n := len(elsewhere.all()); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
}

func TestNotifier_DurableAcrossRestart(t *testing.T) {
	r := newNotifierRig(t)
	rcv := newReceiver(t, always(http.StatusOK))
	ep := r.endpoint(rcv.URL, gateway.EventMessageDelivered)
	// Committed while no Notifier runs, as if the gateway stopped at once.
	r.notify(gateway.EventMessageDelivered, gateway.MessageEventData{ID: "msg_1", Status: gateway.StatusDelivered})
	r.close()
	if n := len(rcv.all()); n != 0 {
		t.Fatalf("delivered without Run: %d", n)
	}

	r.open()
	r.run()
	row := r.waitRow(ep.ID, "delivered", func(d gateway.WebhookDelivery) bool { return d.Status == gateway.WebhookDelivered })
	hits := rcv.all()
	if len(hits) != 1 || hits[0].header.Get("webhook-id") != row.EventID {
		t.Fatalf("after restart: %d requests", len(hits))
	}
	verify(t, ep.Secret, hits[0])
}

// TestNotifier_OTPFlowHasNoCode runs an OTP through the real dispatcher on
// a virtual modem with every event subscribed: the code is in no webhook
// body and in no log line.
func TestNotifier_OTPFlowHasNoCode(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	logs := &testkit.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := store.Open(ctx, filepath.Join(dir, "simgate.db"), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := otp.LoadKey(filepath.Join(dir, "otp.key"))
	if err != nil {
		t.Fatal(err)
	}
	clock := testkit.NewClock(time.Now())
	n := webhook.New(webhook.Config{PollEvery: 5 * time.Millisecond}, st, clock, logger)
	sealed := otp.SealedStore(st, key)
	d := dispatch.New(dispatch.Config{}, sealed, clock, logger)
	svc := gateway.NewService(gateway.ServiceConfig{}, sealed, d, clock, logger)
	otps, err := otp.New(otp.Config{}, svc, st, key, nil, clock, logger)
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, always(http.StatusOK))
	ep, err := n.CreateWebhook(ctx, gateway.Caller{Admin: true}, rcv.URL, gateway.WebhookEvents)
	if err != nil {
		t.Fatal(err)
	}

	network := modemsim.NewNetwork()
	defer network.Close()
	mdm, phone := network.AddModem(modemsim.Config{}), network.AddModem(modemsim.Config{})
	// The sending modem online, with its number: the store knows its own
	// line.
	if err := st.UpsertModem(ctx, gateway.ModemInfo{IMEI: mdm.IMEI(), Number: mdm.Number(), State: gateway.ModemOnline, UpdatedAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = d.Run(ctx) }()
	go func() { defer wg.Done(); _ = n.Run(ctx) }()
	defer wg.Wait()
	defer cancel()
	// The driver's AT trace too: the SMS-SUBMIT's PDU holds the code.
	d.Attach(mdm.IMEI(), testkit.SimDeviceTraced(t, ctx, mdm, logger), gateway.ModemLimits{})

	v, err := otps.Send(ctx, otp.Request{To: phone.Number()})
	if err != nil {
		t.Fatal(err)
	}
	var code, text string
	deadline := time.Now().Add(10 * time.Second)
	for code == "" {
		for _, rec := range network.Records() {
			if c := codeRE.FindStringSubmatch(rec.Text); rec.To == v.To && c != nil {
				code, text = c[1], rec.Text
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the OTP SMS never reached the network")
		}
		time.Sleep(time.Millisecond) // polling the network's record, not timing
	}
	// The handset is the gateway's own line too (a test of the gateway on
	// itself, or --sim): the code arrives as inbound SMS.
	if err := st.SaveInbound(ctx, &gateway.InboundMessage{ID: "in_1", Modem: "350000000000099", From: mdm.Number(), Text: text, Parts: 1, ReceivedAt: clock.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := otps.Check(ctx, v.ID, code); err != nil || got.Status != gateway.OTPApproved {
		t.Fatalf("Check = %+v, %v", got, err)
	}

	want := map[string]bool{gateway.EventModemOnline: false, gateway.EventMessageQueued: false, gateway.EventMessageSent: false,
		gateway.EventSMSReceived: false, gateway.EventOTPApproved: false}
	seen := func() int { // distinct wanted kinds received so far
		kinds := map[string]bool{}
		for _, h := range rcv.all() {
			var body struct{ Type string }
			if json.Unmarshal(h.body, &body) != nil {
				continue
			}
			if _, ok := want[body.Type]; ok {
				kinds[body.Type] = true
			}
		}
		return len(kinds)
	}
	for deadline := time.After(10 * time.Second); seen() < len(want); {
		select {
		case <-rcv.got:
		case <-deadline:
			t.Fatalf("webhooks received: %d, of which %d wanted kinds; want %d", len(rcv.all()), seen(), len(want))
		}
	}
	for _, h := range rcv.all() {
		verify(t, ep.Secret, h)
		var body struct{ Type string }
		if err := json.Unmarshal(h.body, &body); err != nil {
			t.Fatal(err)
		}
		want[body.Type] = true
		if strings.Contains(string(h.body), code) {
			t.Errorf("webhook %s carries the code %s: %s", body.Type, code, h.body)
		}
		if strings.Contains(string(h.body), `"text"`) {
			t.Errorf("webhook %s carries a text: %s", body.Type, h.body)
		}
	}
	for ev, seen := range want {
		if !seen {
			t.Errorf("no %s webhook", ev)
		}
	}
	if strings.Contains(logs.String(), code) {
		t.Errorf("the code %s is in the logs", code)
	}
	if !strings.Contains(logs.String(), `msg="at tx"`) {
		t.Fatal("no AT trace in the logs: the next check would prove nothing")
	}
	for _, rec := range network.Records() {
		if rec.To == v.To && strings.Contains(logs.String(), rec.PDU[len(rec.PDU)-16:]) {
			t.Errorf("the OTP's PDU %s is in the AT trace", rec.PDU)
		}
	}
}

// codeRE finds the code in the default template's text.
var codeRE = regexp.MustCompile(`code is (\d+)`)

func TestNotifier_ModemTransitions(t *testing.T) {
	r := newNotifierRig(t)
	rcv := newReceiver(t, always(http.StatusOK))
	ep := r.endpoint(rcv.URL, gateway.EventModemOnline, gateway.EventModemOffline)
	ctx := context.Background()
	r.run()
	for _, st := range []gateway.ModemState{
		gateway.ModemOffline, // never online: nothing
		gateway.ModemOnline,  // modem.online
		gateway.ModemOnline,  // no change
		gateway.ModemError,   // modem.offline
		gateway.ModemOffline, // still not online: nothing
		gateway.ModemOnline,  // modem.online
	} {
		if err := r.st.UpsertModem(ctx, gateway.ModemInfo{IMEI: "350000000000014", State: st, UpdatedAt: r.clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	var rows []gateway.WebhookDelivery
	for deadline := time.Now().Add(10 * time.Second); len(rows) < 3 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // polling the outbox for a state, not timing
		var err error
		if rows, err = r.st.WebhookDeliveries(ctx, ep.ID); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, d := range rows {
		var body struct {
			Type string
			Data struct{ State string }
		}
		if err := json.Unmarshal(d.Payload, &body); err != nil {
			t.Fatal(err)
		}
		got = append(got, body.Type+"/"+body.Data.State)
	}
	want := []string{"modem.online/online", "modem.offline/error", "modem.online/online"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("events = %v, want %v", got, want)
	}
}

func TestNewInboundEventData(t *testing.T) {
	for _, tc := range []struct {
		name     string
		text     string
		own      bool
		wantText string
	}{
		{"plain", "see you at 5", false, "see you at 5"},
		{"own line", "Your code is 123456", true, ""},
		{"sealed", "otp-sealed:v1:abcd", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := gateway.NewInboundEventData(&gateway.InboundMessage{ID: "in_1", From: "+14155550101", Text: tc.text}, tc.own)
			if d.Text != tc.wantText || d.TextWithheld != (tc.wantText == "") {
				t.Errorf("text %q withheld %v; want %q", d.Text, d.TextWithheld, tc.wantText)
			}
		})
	}
}

func TestValidWebhookURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://example.test/hook", true},
		{"http://127.0.0.1:8080/x?token=1", true},
		{"", false},
		{"ftp://example.test/", false},
		{"file:///etc/passwd", false},
		{"http:///nohost", false},
		{"example.test/hook", false},
		{"https://example.test/#frag", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			if err := webhook.ValidURL(tc.url); (err == nil) != tc.ok {
				t.Errorf("ValidWebhookURL(%q) = %v, want ok %v", tc.url, err, tc.ok)
			}
		})
	}
}

func BenchmarkSignWebhook(b *testing.B) {
	body := []byte(`{"type":"message.sent","timestamp":"2026-01-01T00:00:00Z","data":{"id":"msg_01","to":"+14155550101","status":"sent","segments":1}}`)
	for b.Loop() {
		if _, err := webhook.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "evt_01", 1700000000, body); err != nil {
			b.Fatal(err)
		}
	}
}
