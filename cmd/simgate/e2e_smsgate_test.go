package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// smsgateHook is one webhook as SMSGate's receiver sees it.
type smsgateHook struct {
	signature, timestamp string
	body                 []byte
	env                  struct {
		DeviceID  string         `json:"deviceId"`
		Event     string         `json:"event"`
		ID        string         `json:"id"`
		WebhookID string         `json:"webhookId"`
		Payload   map[string]any `json:"payload"`
	}
}

// smsgateReceiver records SMSGate webhooks on loopback.
type smsgateReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hook []smsgateHook
}

func newSMSGateReceiver(t *testing.T) *smsgateReceiver {
	r := &smsgateReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h := smsgateHook{signature: req.Header.Get("X-Signature"), timestamp: req.Header.Get("X-Timestamp")}
		h.body, _ = io.ReadAll(req.Body)
		if err := json.Unmarshal(h.body, &h.env); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.hook = append(r.hook, h)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *smsgateReceiver) events() []smsgateHook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.hook)
}

// clientResult is what testdata/smsgate_client.mjs prints.
type clientResult struct {
	Health struct {
		Status string `json:"status"`
	} `json:"health"`
	Devices []struct {
		ID string `json:"id"`
	} `json:"devices"`
	Hooks map[string]struct {
		ID         string `json:"id"`
		Event      string `json:"event"`
		SigningKey string `json:"signingKey"`
	} `json:"hooks"`
	Listed []struct {
		ID    string `json:"id"`
		Event string `json:"event"`
	} `json:"listed"`
	Sent  []smsgateState `json:"sent"`
	Final []smsgateState `json:"final"`
	Bad   struct {
		Status int `json:"status"`
		Body   struct {
			Message string `json:"message"`
		} `json:"body"`
	} `json:"badInput"`
}

type smsgateState struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	Recipients []struct {
		PhoneNumber string `json:"phoneNumber"`
		State       string `json:"state"`
	} `json:"recipients"`
	States map[string]string `json:"states"`
}

// npmClient installs the published android-sms-gateway v3 into a temp dir
// and returns the directory holding the test's script beside the client.
func npmClient(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed; .ci/run installs it, so CI never skips the SMSGate client test", tool)
			}
			t.Skipf("%s is not installed: the SMSGate client test needs node and npm (.ci/run installs them)", tool)
		}
	}
	dir := t.TempDir()
	cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "android-sms-gateway@3")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install android-sms-gateway@3: %v\n%s", err, out)
	}
	// The package's dist is an ES module without "type": "module"; a copy
	// named .mjs loads on every node version.
	for src, dst := range map[string]string{
		filepath.Join(dir, "node_modules", "android-sms-gateway", "dist", "index.js"): filepath.Join(dir, "client.mjs"),
		filepath.Join("testdata", "smsgate_client.mjs"):                               filepath.Join(dir, "run.mjs"),
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestE2E_SMSGateClient runs SMSGate's published npm client against the
// real gateway on virtual modems: health, devices, webhooks registered,
// listed and deleted, a message to one number, one to two and a data
// message to a port followed until delivered, signed webhooks received
// (a data SMS as sms:data-received), and bad input refused in SMSGate's
// error shape.
func TestE2E_SMSGateClient(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	start := time.Now()
	dir := npmClient(t)
	t.Logf("npm install: %v", time.Since(start).Round(time.Millisecond))
	net := startNetwork(t, 2)
	g := startGateway(t, t.TempDir(), freePort(t), "", net.ports)
	recv := newSMSGateReceiver(t)

	numbers, _ := json.Marshal(net.numbers)
	node := exec.Command("node", filepath.Join(dir, "run.mjs"))
	node.Env = append(os.Environ(), "SMSGATE_URL="+g.url+"/3rdparty/v1", "SMSGATE_USER=e2e", "SMSGATE_KEY="+g.key,
		"SMSGATE_RECEIVER="+recv.srv.URL+"/hook", "SMSGATE_NUMBERS="+string(numbers))
	stdin, _ := node.StdinPipe()
	stdout, _ := node.StdoutPipe()
	var stderr strings.Builder
	node.Stderr = &stderr
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Process.Kill(); _ = node.Wait() })
	// A client that hangs must not hold the test until go test's timeout.
	watchdog := time.AfterFunc(5*time.Minute, func() { _ = node.Process.Kill() })
	defer watchdog.Stop()
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	if !lines.Scan() {
		_ = node.Wait()
		t.Fatalf("the client printed nothing; stderr:\n%s", stderr.String())
	}
	var res clientResult
	if err := json.Unmarshal(lines.Bytes(), &res); err != nil {
		t.Fatalf("client output %s: %v", lines.Bytes(), err)
	}
	t.Logf("client ran: %v", time.Since(start).Round(time.Millisecond))
	checkClientResult(t, res, net.imeis, net.numbers)

	// A message between two virtual modems arrives as an SMS: every event
	// registered comes, signed with its webhook's key.
	keys := map[string]string{}
	for _, h := range res.Hooks {
		keys[h.ID] = h.SigningKey
	}
	waitFor(t, 120*time.Second, "sms:received, sms:data-received, sms:sent and sms:delivered webhooks", func() bool {
		seen := map[string]int{}
		for _, h := range recv.events() {
			seen[h.env.Event]++
		}
		return seen["sms:received"] >= 2 && seen["sms:data-received"] >= 1 && seen["sms:sent"] >= 4 && seen["sms:delivered"] >= 4
	})
	for _, h := range recv.events() {
		checkSMSGateHook(t, h, keys, res)
	}

	if _, err := io.WriteString(stdin, "checked\n"); err != nil {
		t.Fatal(err)
	}
	if !lines.Scan() {
		_ = node.Wait()
		t.Fatalf("the client stopped before deleting its webhooks; stderr:\n%s", stderr.String())
	}
	if got := strings.TrimSpace(lines.Text()); got != `{"afterDelete":[]}` {
		t.Errorf("webhooks after deleting them all: %s", got)
	}
}

func checkClientResult(t *testing.T, res clientResult, imeis, numbers []string) {
	t.Helper()
	if res.Health.Status != "pass" {
		t.Errorf("health: %q, want pass", res.Health.Status)
	}
	var devices []string
	for _, d := range res.Devices {
		devices = append(devices, d.ID)
	}
	if slices.Sort(devices); !slices.Equal(devices, slices.Sorted(slices.Values(imeis))) {
		t.Errorf("devices %v, want the modems %v", devices, imeis)
	}
	if len(res.Listed) != 4 {
		t.Errorf("listed webhooks %+v, want the 4 registered", res.Listed)
	}
	for ev, h := range res.Hooks {
		if h.ID == "" || h.Event != ev || len(h.SigningKey) < 32 {
			t.Errorf("registered webhook %s: %+v", ev, h)
		}
	}
	if len(res.Final) != 3 || len(res.Sent) != 3 {
		t.Fatalf("sent %+v, final %+v", res.Sent, res.Final)
	}
	if r := res.Final[1].Recipients; len(r) != 2 || r[0].PhoneNumber != numbers[0] || r[1].PhoneNumber != numbers[1] {
		t.Errorf("recipients of the message to two: %+v", r)
	}
	for i, st := range res.Final {
		if st.ID != res.Sent[i].ID || st.State != "Delivered" {
			t.Errorf("message %d: %+v, want Delivered under the id %s", i, st, res.Sent[i].ID)
		}
		for _, s := range []string{"Pending", "Processed", "Sent", "Delivered"} {
			if st.States[s] == "" {
				t.Errorf("message %d: no time for state %s in %v", i, s, st.States)
			}
		}
	}
	if res.Bad.Status != 400 || !strings.Contains(res.Bad.Body.Message, "phoneNumbers[1]") {
		t.Errorf("bad number: %+v, want 400 naming phoneNumbers[1]", res.Bad)
	}
}

// checkSMSGateHook verifies a webhook's signature and envelope.
func checkSMSGateHook(t *testing.T, h smsgateHook, keys map[string]string, res clientResult) {
	t.Helper()
	key, ok := keys[h.env.WebhookID]
	if !ok {
		t.Errorf("webhook for unknown webhookId %q: %s", h.env.WebhookID, h.body)
		return
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(h.body)
	mac.Write([]byte(h.timestamp))
	if want := hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(want), []byte(h.signature)) {
		t.Errorf("%s: X-Signature %q, want %q (HMAC-SHA256 of body + X-Timestamp %q)", h.env.Event, h.signature, want, h.timestamp)
	}
	if h.env.ID == "" || h.env.DeviceID == "" || h.env.Payload["phoneNumber"] == nil {
		t.Errorf("%s: envelope %s", h.env.Event, h.body)
	}
	switch h.env.Event {
	case "sms:received", "sms:data-received":
		if _, ok := h.env.Payload["receivedAt"]; !ok {
			t.Errorf("%s without receivedAt: %s", h.env.Event, h.body)
		}
		return
	}
	id, _ := h.env.Payload["messageId"].(string)
	if !slices.ContainsFunc(res.Sent, func(s smsgateState) bool { return s.ID == id }) {
		t.Errorf("%s: messageId %q is not one the client sent (%+v)", h.env.Event, id, res.Sent)
	}
}
