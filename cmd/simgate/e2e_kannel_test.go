package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
)

// dlrReceiver is a loopback HTTP server that keeps the query of every
// request it gets: the witness of the DLRs a dlr-url received.
type dlrReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	hits []string // raw queries, in arrival order
}

func newDLRReceiver(t *testing.T) *dlrReceiver {
	r := &dlrReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.hits = append(r.hits, req.URL.RawQuery)
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	return r
}

// waitType waits for the DLR of type typ and returns its raw query.
func (r *dlrReceiver) waitType(t *testing.T, typ string) string {
	t.Helper()
	var got string
	waitFor(t, 30*time.Second, "the DLR of type "+typ, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, h := range r.hits {
			if strings.HasPrefix(h, "type="+typ+"&") {
				got = h
				return true
			}
		}
		return false
	})
	return got
}

// kannelCall sends a sendsms request and returns Kannel's answer.
func kannelCall(t *testing.T, g *gatewayProc, method string, q url.Values) (int, string, string) {
	t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodGet {
		resp, err = http.Get(g.url + "/cgi-bin/sendsms?" + q.Encode())
	} else {
		resp, err = http.PostForm(g.url+"/cgi-bin/sendsms", q)
	}
	if err != nil {
		t.Fatalf("sendsms: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Content-Type")
}

// messageTo finds the only message to number through the native API.
func messageTo(t *testing.T, g *gatewayProc, number string) apiv1.Message {
	t.Helper()
	var list apiv1.MessageList
	if s := g.get(t, "/api/v1/messages?to="+url.QueryEscape(number), &list); s != 200 || len(list.Messages) != 1 {
		t.Fatalf("messages to %s: %d, %d messages; want 1", number, s, len(list.Messages))
	}
	return list.Messages[0]
}

func TestE2E_KannelSendsmsDLR(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	netw := startNetwork(t, 2, "--report-delay", "300ms", "--fail", "+12025550199:1")
	g := startGateway(t, t.TempDir(), freePort(t), "", netw.ports)
	recv := newDLRReceiver(t)
	pattern := recv.URL + "/dlr?type=%d&reply=%A&to=%p&from=%P&qto=%q&qfrom=%Q&t=%t&T=%T&smsc=%i&id=%I&mr=%F"
	modem, to := netw.imeis[0], netw.numbers[1]

	// GET, with the escapes of delivered (1) and accepted by the SMSC (8).
	q := url.Values{"username": {"e2e"}, "password": {g.key}, "to": {to}, "text": {"Kannel says hi"},
		"from": {"0012345"}, "smsc": {modem}, "dlr-mask": {"9"}, "dlr-url": {pattern}}
	status, body, ctype := kannelCall(t, g, http.MethodGet, q)
	if status != 202 || body != "0: Accepted for delivery" || ctype != "text/html" {
		t.Fatalf("sendsms = %d %q (%s), want 202 \"0: Accepted for delivery\" text/html", status, body, ctype)
	}
	_, m := g.waitStatus(t, messageTo(t, g, to).ID, 30*time.Second, "delivered", "failed")
	if m.Status != "delivered" || len(m.Parts) != 1 || m.Parts[0].MR == nil {
		t.Fatalf("message %s: %s, parts %+v; want delivered with an MR", m.ID, m.Status, m.Parts)
	}
	for _, tc := range []struct{ typ, reply string }{{"8", "ACK/"}, {"1", "Success"}} {
		raw := recv.waitType(t, tc.typ)
		// Kannel's own encoding: '+' as %2B, '/' as %2F.
		for _, want := range []string{"to=" + strings.Replace(to, "+", "%2B", 1), "qfrom=%2B12345", "from=0012345"} {
			if !strings.Contains(raw, want) {
				t.Errorf("DLR %s: %q lacks %q", tc.typ, raw, want)
			}
		}
		v, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatalf("DLR %s: %q: %v", tc.typ, raw, err)
		}
		wantVals := map[string]string{"reply": tc.reply, "to": to, "qto": to, "from": "0012345", "qfrom": "+12345",
			"smsc": modem, "id": m.ID, "mr": strconv.Itoa(*m.Parts[0].MR)}
		for k, want := range wantVals {
			if v.Get(k) != want {
				t.Errorf("DLR %s: %s = %q, want %q", tc.typ, k, v.Get(k), want)
			}
		}
		at, err := time.Parse("2006-01-02 15:04:05", v.Get("t"))
		epoch, _ := strconv.ParseInt(v.Get("T"), 10, 64)
		if err != nil || at.Unix() != epoch || time.Since(at) > 5*time.Minute || time.Since(at) < -time.Minute {
			t.Errorf("DLR %s: t=%q T=%q: want the same recent UTC time", tc.typ, v.Get("t"), v.Get("T"))
		}
	}

	// POST (form), to a number the network refuses: rejected by the SMSC (16).
	q = url.Values{"user": {"e2e"}, "pass": {g.key}, "to": {"+12025550199"}, "text": {"to nowhere"},
		"smsc": {modem}, "dlr-mask": {"31"}, "dlr-url": {pattern}}
	if status, body, _ = kannelCall(t, g, http.MethodPost, q); status != 202 || body != "0: Accepted for delivery" {
		t.Fatalf("POST sendsms = %d %q", status, body)
	}
	raw := recv.waitType(t, "16")
	v, _ := url.ParseQuery(raw)
	if !strings.HasPrefix(v.Get("reply"), "NACK/") || !strings.Contains(v.Get("reply"), "CMS ERROR: 1") || v.Get("to") != "+12025550199" {
		t.Errorf("DLR 16: %q; want NACK/ with the modem's error, to the refused number", raw)
	}

	// 8-bit data with a UDH (application ports 2948 ← 9200), as a flash SMS:
	// the network receives the bytes, the ports and the class.
	q = url.Values{"username": {"e2e"}, "password": {g.key}, "to": {to}, "text": {"\xca\xfe"}, "smsc": {modem},
		"udh": {"\x06\x05\x04\x0b\x84\x23\xf0"}, "mclass": {"0"}}
	if status, body, _ = kannelCall(t, g, http.MethodGet, q); status != 202 || body != "0: Accepted for delivery" {
		t.Fatalf("data sendsms = %d %q", status, body)
	}
	waitFor(t, 30*time.Second, "the data SMS on the network", func() bool {
		for _, r := range netw.records(t) {
			if r.To == to && string(r.Data) == "\xca\xfe" && r.Port != nil && *r.Port == 2948 &&
				r.SourcePort != nil && *r.SourcePort == 9200 && r.Flash {
				return true
			}
		}
		return false
	})

	// Bad input: Kannel's answer, and nothing queued.
	q = url.Values{"username": {"e2e"}, "password": {g.key}, "text": {"no receiver"}}
	if status, body, _ = kannelCall(t, g, http.MethodGet, q); status != 400 || body != "Missing receiver number, rejected" {
		t.Errorf("without to: %d %q", status, body)
	}
	var list apiv1.MessageList
	if g.get(t, "/api/v1/messages", &list); len(list.Messages) != 3 {
		t.Errorf("%d messages queued, want the 3 accepted", len(list.Messages))
	}
}
