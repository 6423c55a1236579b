package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
)

// TestE2E_WebhooksSurviveSIGKILL: the gateway is SIGKILLed again and
// again while messages are being sent, reported and received, and
// restarted on the same data. In the end every state change a client can
// see through the API has had its webhook: each message that was sent a
// message.sent, each delivered one a message.delivered, each failed one a
// message.failed, each SMS in the inbox an sms.received. A delivery made
// again after a crash carries the same webhook-id as the first, so a
// receiver can drop it; two different ids for one event would make it
// look like two.
//
// It looks only at what is outside the gateway: the HTTP API, the
// webhooks a receiver gets, and the virtual network ("simgate sim", a
// process of its own that lives through the kills).
//
// The data the test relies on in each webhook: the body's "type", and
// "data.id": the message's ID for message.*, the inbound SMS's ID (as in
// GET /api/v1/inbox) for sms.received ("data.imei" for modem.*, which are
// only counted). An event is its (type, data.id): one message is sent,
// delivered or failed once, so the same (type, data.id) under two
// webhook-ids is an error, whatever the cause (a crash, or a status report
// read again and applied to a message already delivered).
//
// The receiver checks every signature, refuses the first attempt of every
// 7th event with a 500 (retried 2.5–5 s later) and answers the first of
// every 5th slowly, so that kills find requests in flight. Kill moments
// come from a seeded generator (SIMGATE_E2E_SEED to change it); the moments
// a kill lands at still vary from run to run with the machine's timing.
func TestE2E_WebhooksSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	start := time.Now()
	seed := uint64(20240611)
	if s := os.Getenv("SIMGATE_E2E_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SIMGATE_E2E_SEED=%q: %v", s, err)
		}
		seed = n
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))

	const failing = "+12025550199"
	const external = "+12025550150"
	// Reports come a moment after each send, so that "sent" and
	// "delivered" are two state changes apart in time, each a chance for
	// a kill to land between a change and its event.
	// The receiver first, so that it is closed last, after the gateway.
	hooks := newEventReceiver(t)
	netw := startNetwork(t, 2, "--report-delay", "40ms", "--fail", failing+":1")
	data, listen := t.TempDir(), freePort(t)
	g := startGateway(t, data, listen, "", netw.ports)

	var wh struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	body := `{"url":"` + hooks.srv.URL + `/events","events":["message.sent","message.delivered","message.failed","sms.received","modem.online","modem.offline"]}`
	if s := g.call(t, http.MethodPost, "/api/v1/webhooks", strings.NewReader(body), &wh); s != 201 || !strings.HasPrefix(wh.Secret, "whsec_") {
		t.Fatalf("POST /api/v1/webhooks = %d %+v", s, wh)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(wh.Secret, "whsec_"))
	if err != nil {
		t.Fatalf("secret %q: %v", wh.Secret, err)
	}
	hooks.setKey(key)

	// Each round: a burst of messages, then SIGKILL at a moment that
	// varies with the round, then a restart on the same data directory.
	type sentMsg struct{ id, to, text string }
	var (
		msgs  []sentMsg
		kills []string
	)
	const rounds = 8
	for r := range rounds {
		linesBefore := netw.recordLines(t)
		// Pinned so that each modem also sends to the other's number: those
		// arrive in the gateway's inbox as sms.received.
		burst := []struct{ to, modem string }{
			{external, ""}, {netw.numbers[1], netw.imeis[0]}, {external, ""}, {netw.numbers[0], netw.imeis[1]},
			{failing, ""}, {external, ""}, {netw.numbers[1], netw.imeis[0]}, {external, ""},
			{netw.numbers[0], netw.imeis[1]}, {external, ""}, {failing, ""}, {external, ""},
		}
		for i, b := range burst {
			text := fmt.Sprintf("events r%d m%02d", r, i)
			req := map[string]any{"to": b.to, "text": text}
			if b.modem != "" {
				req["modem"] = b.modem
			}
			status, s := g.send(t, req)
			if status != 202 {
				t.Fatalf("round %d: POST %d = %d %+v", r, i, status, s)
			}
			msgs = append(msgs, sentMsg{s.ID, b.to, text})
		}
		// Where the kill lands: right after the burst, after a short delay,
		// or just as the network has accepted the k-th send of this round
		// (the gateway is then committing that part as sent).
		var what string
		switch r % 3 {
		case 0:
			d := time.Duration(rng.IntN(5)) * time.Millisecond
			time.Sleep(d)
			what = fmt.Sprintf("%v after the burst", d)
		case 1:
			d := time.Duration(30+rng.IntN(300)) * time.Millisecond
			time.Sleep(d)
			what = fmt.Sprintf("%v after the burst", d)
		case 2:
			k := 1 + rng.IntN(8)
			d := time.Duration(rng.IntN(4)) * time.Millisecond
			if netw.waitRecordLines(linesBefore+k, 5*time.Second) {
				time.Sleep(d)
				what = fmt.Sprintf("%v after send %d of the round reached the network", d, k)
			} else {
				what = fmt.Sprintf("5 s after the burst (send %d never came)", k)
			}
		}
		g.kill()
		kills = append(kills, what)
		g = startGateway(t, data, listen, g.key, netw.ports)
	}

	// Let it settle: every message leaves queued and sending (it ends
	// delivered, or failed for the failing number), and every SMS the
	// network carried to one of the gateway's own numbers (its record log
	// is the witness) is in the inbox. Crashes also break things this test
	// is not about (see the log lines below): a message can stay "sent"
	// with its report never applied, an SMS can stay unread in the modem.
	// So once nothing has changed for 15 s (a loaded machine reconnects and
	// catches up slowly), what the API shows is
	// what the events are checked against.
	settled := map[string]bool{"sent": true, "delivered": true, "failed": true, "expired": true, "canceled": true}
	var (
		states     map[string]apiv1.Message
		inbox      apiv1.Inbox
		absent     []string
		prev       string
		lastChange = time.Now()
	)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		states = g.allMessages(t)
		if s := g.get(t, "/api/v1/inbox?limit=500", &inbox); s != 200 {
			t.Fatalf("GET /api/v1/inbox: %d", s)
		}
		var open, snapshot []string
		waiting := 0
		for _, m := range msgs {
			st := states[m.id]
			snapshot = append(snapshot, st.Status)
			if !settled[st.Status] {
				open = append(open, fmt.Sprintf("%s %q to %s: %s", m.id, m.text, m.to, st.Status))
			}
			if st.Status == "sent" {
				waiting++
			}
		}
		have := map[string]bool{}
		for _, in := range inbox.Messages {
			have[in.Text] = true
		}
		absent = absent[:0]
		for _, r := range netw.records(t) {
			if (r.To == netw.numbers[0] || r.To == netw.numbers[1]) && !have[r.Text] {
				absent = append(absent, fmt.Sprintf("%q to %s at %s", r.Text, r.To, r.At.Format("15:04:05.000")))
			}
		}
		snapshot = append(snapshot, strconv.Itoa(len(inbox.Messages)))
		if k := strings.Join(snapshot, ","); k != prev {
			prev, lastChange = k, time.Now()
		}
		if len(open) == 0 && ((waiting == 0 && len(absent) == 0) || time.Since(lastChange) > 15*time.Second) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s, %d messages are still queued or sending:\n%s\ngateway warnings:\n%s", len(open), strings.Join(open, "\n"), tail(warnings(g.stderr.String()), 6000))
		}
	}
	var noReport []string
	for _, m := range msgs {
		if states[m.id].Status == "sent" {
			noReport = append(noReport, fmt.Sprintf("%q", m.text))
		}
	}
	if len(noReport) > 0 {
		// A status report that reached the modem while the gateway was
		// down waits in the modem's "SR" store: the catch-up at start must
		// list that store too.
		t.Errorf("%d messages still sent, their delivery report never applied: %s", len(noReport), strings.Join(noReport, ", "))
	}
	if len(absent) > 0 {
		// A kill between AT+CPMS="SR" and the switch back leaves the
		// modem's read store at SR: the next Init must switch it back, or
		// reading an SMS announced in SM fails.
		t.Errorf("%d SMS the network carried to the gateway's own numbers are not in its inbox: %s\ngateway warnings:\n%s",
			len(absent), strings.Join(absent, ", "), tail(warnings(g.stderr.String()), 3000))
	}

	// What the API says happened, as the events that must have come.
	type want struct{ typ, subject string }
	var wants []want
	for _, m := range msgs {
		st := states[m.id]
		switch {
		case st.Status == "delivered":
			wants = append(wants, want{"message.sent", m.id}, want{"message.delivered", m.id})
		case st.Status == "failed":
			if st.SentAt != nil {
				wants = append(wants, want{"message.sent", m.id})
			}
			wants = append(wants, want{"message.failed", m.id})
		case st.Status == "sent":
			wants = append(wants, want{"message.sent", m.id})
		}
	}
	for _, in := range inbox.Messages {
		wants = append(wants, want{"sms.received", in.ID})
	}
	missing := func() []want {
		got := hooks.accepted()
		var out []want
		for _, w := range wants {
			if !got[w.typ+" "+w.subject] {
				out = append(out, w)
			}
		}
		return out
	}
	// Webhooks trail the state changes: a refused first attempt goes
	// again 2.5–5 s later. Wait until all are in, or until nothing has
	// come for long enough that nothing more will.
	deadline := time.Now().Add(45 * time.Second)
	for len(missing()) > 0 && time.Now().Before(deadline) && time.Since(hooks.lastRequest()) < 12*time.Second {
		time.Sleep(50 * time.Millisecond)
	}

	for _, w := range missing() {
		desc := ""
		for _, m := range msgs {
			if m.id == w.subject {
				desc = fmt.Sprintf(" (%q to %s, now %s)", m.text, m.to, states[m.id].Status)
			}
		}
		t.Errorf("lost event: %s for %s%s: the API shows the change, no webhook came", w.typ, w.subject, desc)
	}

	// One event, one webhook-id, however many times it is delivered; and
	// one webhook-id, one event.
	all := hooks.all()
	ids := map[string]map[string]bool{} // type+subject → webhook-ids
	events := map[string]string{}       // webhook-id → type+subject
	okTimes := map[string]int{}         // webhook-id → 2xx answers
	perType := map[string]int{}
	refused := 0
	for _, d := range all {
		if d.err != "" {
			t.Errorf("webhook %s: %s", d.id, d.err)
			continue
		}
		k := d.typ + " " + d.subject
		if prev, ok := events[d.id]; ok && prev != k {
			t.Errorf("webhook-id %s carried %s, and again %s", d.id, prev, k)
		}
		events[d.id] = k
		if !strings.HasPrefix(d.typ, "modem.") {
			// A modem goes online at each start: that is a new event each
			// time, under the same (type, IMEI).
			if ids[k] == nil {
				ids[k] = map[string]bool{}
			}
			ids[k][d.id] = true
		}
		if d.status/100 == 2 {
			if okTimes[d.id] == 0 {
				perType[d.typ]++
			}
			okTimes[d.id]++
		} else {
			refused++
		}
	}
	keys := make([]string, 0, len(ids))
	for k := range ids {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(ids[k]) > 1 {
			t.Errorf("%s came under %d webhook-ids %v: a receiver dropping repeats by id would take it for %d events", k, len(ids[k]), slices.Sorted(maps.Keys(ids[k])), len(ids[k]))
		}
	}
	repeats := 0
	for _, n := range okTimes {
		repeats += n - 1
	}
	t.Logf("seed %d; %d kills: %s", seed, len(kills), strings.Join(kills, "; "))
	t.Logf("%d messages, %d inbound; %d events wanted, %d missing", len(msgs), len(inbox.Messages), len(wants), len(missing()))
	t.Logf("%d requests, %d events accepted (%v), %d repeats of an accepted event, %d refused on purpose; %v in all",
		len(all), len(okTimes), perType, repeats, refused, time.Since(start).Round(time.Millisecond))
}

// recordLines is how many messages the network has accepted so far.
func (n *virtualNetwork) recordLines(t testing.TB) int {
	b, err := os.ReadFile(n.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte{'\n'})
}

// waitRecordLines polls the record log closely (a kill aimed at a send
// must land within a few milliseconds of it) until it has want lines.
func (n *virtualNetwork) waitRecordLines(want int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(n.log)
		if bytes.Count(b, []byte{'\n'}) >= want {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

// allMessages lists every message, page by page.
func (g *gatewayProc) allMessages(t testing.TB) map[string]apiv1.Message {
	t.Helper()
	out := map[string]apiv1.Message{}
	cursor := ""
	for range 100 {
		var page apiv1.MessageList
		path := "/api/v1/messages?limit=500"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		if s := g.get(t, path, &page); s != 200 {
			t.Fatalf("GET %s: %d", path, s)
		}
		for _, m := range page.Messages {
			out[m.ID] = m
		}
		if page.NextCursor == nil || *page.NextCursor == "" {
			return out
		}
		cursor = *page.NextCursor
	}
	t.Fatal("more than 100 pages of messages")
	return nil
}

// eventReceiver is an app's webhook endpoint that checks each request's
// signature and records it. It refuses the first attempt of every 7th
// event with a 500 and answers the first attempt of every 5th slowly, so
// that retries happen and kills land with requests in flight.
type eventReceiver struct {
	srv *httptest.Server

	mu    sync.Mutex
	key   []byte
	seen  map[string]int // webhook-id → order of first sight
	got   []eventDelivery
	last  time.Time
	okSet map[string]bool // type+subject answered 2xx
}

type eventDelivery struct {
	id, typ, subject string
	status           int
	err              string // what was wrong with the request
}

func newEventReceiver(t *testing.T) *eventReceiver {
	h := &eventReceiver{seen: map[string]int{}, okSet: map[string]bool{}, last: time.Now()}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve)) // on 127.0.0.1
	t.Cleanup(h.srv.Close)
	return h
}

func (h *eventReceiver) setKey(key []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.key = key
}

func (h *eventReceiver) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	id, ts, sig := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	var env struct {
		Type string `json:"type"`
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	d := eventDelivery{id: id}
	if err := json.Unmarshal(b, &env); err != nil {
		d.err = fmt.Sprintf("body %q is not JSON: %v", b, err)
	}
	d.typ, d.subject = env.Type, env.Data.ID
	if strings.HasPrefix(env.Type, "modem.") {
		var m struct {
			Data struct {
				IMEI string `json:"imei"`
			} `json:"data"`
		}
		json.Unmarshal(b, &m)
		d.subject = m.Data.IMEI
	}

	h.mu.Lock()
	key := h.key
	n, ok := h.seen[id]
	first := !ok
	if first {
		n = len(h.seen) + 1
		h.seen[id] = n
	}
	h.mu.Unlock()

	switch {
	case d.err != "":
	case id == "" || ts == "" || sig == "":
		d.err = fmt.Sprintf("missing header: webhook-id %q, webhook-timestamp %q, webhook-signature %q", id, ts, sig)
	case d.typ == "" || d.subject == "":
		d.err = fmt.Sprintf("body without type or data.id: %s", b)
	default:
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(b)
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if !slices.Contains(strings.Fields(sig), want) {
			d.err = fmt.Sprintf("signature %q, want %q", sig, want)
		} else if sec, err := strconv.ParseInt(ts, 10, 64); err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
			d.err = fmt.Sprintf("webhook-timestamp %q is not within 5 minutes of now", ts)
		}
	}
	// A bad request is recorded and answered 2xx all the same: a retry
	// would only repeat it.
	d.status = http.StatusNoContent
	if d.err == "" && first && n%7 == 0 {
		d.status = http.StatusInternalServerError
	}
	if d.err == "" && first && n%5 == 2 {
		time.Sleep(150 * time.Millisecond)
	}
	h.mu.Lock()
	h.got = append(h.got, d)
	h.last = time.Now()
	if d.status/100 == 2 && d.err == "" {
		h.okSet[d.typ+" "+d.subject] = true
	}
	h.mu.Unlock()
	w.WriteHeader(d.status)
}

// accepted is the set of "type subject" answered 2xx.
func (h *eventReceiver) accepted() map[string]bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]bool, len(h.okSet))
	for k := range h.okSet {
		out[k] = true
	}
	return out
}

func (h *eventReceiver) lastRequest() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

func (h *eventReceiver) all() []eventDelivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]eventDelivery(nil), h.got...)
}

// warnings keeps a log's WARN and ERROR lines.
func warnings(log string) string {
	var b strings.Builder
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
