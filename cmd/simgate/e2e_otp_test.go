package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
)

// TestE2E_OTP: "simgate otp send" through a running gateway, the code read
// where a phone would read it (the virtual network's record), a wrong code
// refused, the right one approved once; the code never in the database
// file nor in the gateway's log.
func TestE2E_OTP(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	netw := startNetwork(t, 2)
	data := t.TempDir()
	g := startGateway(t, data, freePort(t), "", netw.ports, "--log-level", "debug")
	cli := func(args ...string) (string, error) { t.Helper(); return g.cli(t, args...) }
	// An app's webhook receiver, subscribed to what an OTP flow emits.
	hooks := newHookReceiver(t)
	var wh apiv1.Webhook
	body := `{"url":"` + hooks.srv.URL + `/hook","events":["otp.approved","message.sent"]}`
	if s := g.call(t, http.MethodPost, "/api/v1/webhooks", strings.NewReader(body), &wh); s != 201 || !strings.HasPrefix(wh.Secret, "whsec_") {
		t.Fatalf("POST /api/v1/webhooks = %d %+v", s, wh)
	}

	// A phone outside the gateway: sent to one of its own modems, the code
	// would rightly be in its inbox.
	to := "+12025550150"
	// Ten digits: a six-digit code could turn up by chance in a timestamp.
	out, err := cli("otp", "send", "--to", to, "--length", "10", "--json")
	if err != nil {
		t.Fatalf("otp send: %v\n%s", err, out)
	}
	var v apiv1.OTPSendResponse
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Status != "pending" {
		t.Fatalf("otp send answered %q (%v), want a pending verification", out, err)
	}

	// The phone's view: the SMS the network carried to the number.
	codeRe := regexp.MustCompile(`\b(\d{10})\b`)
	var code string
	waitFor(t, 15*time.Second, "the code SMS on the network", func() bool {
		for _, r := range netw.records(t) {
			if r.To == to {
				if m := codeRe.FindStringSubmatch(r.Text); m != nil {
					code = m[1]
				}
			}
		}
		return code != ""
	})
	wrong := "0000000000"
	if code == wrong {
		wrong = "1111111111"
	}
	if out, err := cli("otp", "check", v.ID, wrong); err == nil || !strings.Contains(out, "pending") {
		t.Errorf("wrong code: err %v, output %q; want refused, still pending", err, out)
	}
	if out, err := cli("otp", "check", v.ID, code); err != nil || !strings.Contains(out, "approved") {
		t.Fatalf("right code: %v\n%s", err, out)
	}
	if out, err := cli("otp", "check", v.ID, code); err == nil {
		t.Errorf("the same code a second time was accepted: %s", out)
	}

	// The webhooks came, signed with the endpoint's secret, without the code.
	waitFor(t, 15*time.Second, "otp.approved and message.sent webhooks", func() bool {
		return hooks.has("otp.approved") && hooks.has("message.sent")
	})
	for _, d := range hooks.all() {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(wh.Secret, "whsec_"))
		if err != nil {
			t.Fatal(err)
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(d.id + "." + d.timestamp + "." + d.body))
		if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); !strings.Contains(d.signature, want) {
			t.Errorf("webhook %s: signature %q, want %q", d.id, d.signature, want)
		}
		if strings.Contains(d.body, code) {
			t.Errorf("webhook body contains the code: %s", d.body)
		}
	}

	// Nowhere in clear: not in the database files, not in the debug log.
	g.stop(t)
	files, _ := filepath.Glob(filepath.Join(data, "simgate.db*"))
	if len(files) == 0 {
		t.Fatal("no database file")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if i := strings.Index(string(b), code); i >= 0 {
			lo, hi := max(0, i-60), min(len(b), i+60)
			t.Errorf("%s contains the code: %q", filepath.Base(f), b[lo:hi])
		}
	}
	if strings.Contains(g.stderr.String(), code) || strings.Contains(g.stdout.String(), code) {
		t.Error("the gateway's output contains the code")
	}
	if fi, err := os.Stat(filepath.Join(data, "otp.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("otp.key: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
}

// hookReceiver is an app's webhook endpoint on loopback.
type hookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []delivery
}

type delivery struct{ id, timestamp, signature, body, event string }

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var env struct {
			Type string `json:"type"`
		}
		json.Unmarshal(b, &env)
		h.mu.Lock()
		h.got = append(h.got, delivery{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"),
			r.Header.Get("webhook-signature"), string(b), env.Type})
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) has(event string) bool {
	for _, d := range h.all() {
		if d.event == event {
			return true
		}
	}
	return false
}

func (h *hookReceiver) all() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]delivery(nil), h.got...)
}
