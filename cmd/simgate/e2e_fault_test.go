package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
)

// TestE2E_BadInput: each bad request gets a clear 4xx and nothing is stored.
func TestE2E_BadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	netw := startNetwork(t, 1)
	g := startGateway(t, t.TempDir(), freePort(t), "", netw.ports)
	to := netw.numbers[0]
	tests := []struct {
		name       string
		body       string
		key        string // "" = the right key; "-" = none
		wantStatus int    // 400 for what is not JSON of the right shape, 422 for values the gateway refuses
		wantField  string // in the problem's errors, when set
	}{
		{"invalid number", `{"to":"+1202","text":"hi"}`, "", 422, "to"},
		{"letters for a number", `{"to":"call me","text":"hi"}`, "", 422, "to"},
		{"empty text", `{"to":"` + to + `","text":""}`, "", 422, "text"},
		{"oversize text", `{"to":"` + to + `","text":"` + strings.Repeat("x", 153*10+1) + `"}`, "", 422, "text"},
		{"invalid utf-8", "{\"to\":\"" + to + "\",\"text\":\"\xff\xfe\"}", "", 400, ""},
		{"bad json", `{"to":`, "", 400, ""},
		{"wrong type", `{"to":12025550101,"text":"hi"}`, "", 400, "to"},
		{"unknown field", `{"to":"` + to + `","text":"hi","colour":"red"}`, "", 400, ""},
		{"bad priority", `{"to":"` + to + `","text":"hi","priority":"urgent"}`, "", 422, "priority"},
		{"missing key", `{"to":"` + to + `","text":"hi"}`, "-", 401, ""},
		{"wrong key", `{"to":"` + to + `","text":"hi"}`, "sg_not_a_real_key", 401, ""},
		{"10 MB body", `{"to":"` + to + `","text":"` + strings.Repeat("y", 10<<20) + `"}`, "", 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, g.url+"/api/v1/messages", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			switch tt.key {
			case "":
				req.Header.Set("Authorization", "Bearer "+g.key)
			case "-":
			default:
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var p apiv1.Problem
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatalf("status %d, body is not a problem: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d (%+v), want %d", resp.StatusCode, p, tt.wantStatus)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("Content-Type %q, want application/problem+json", ct)
			}
			if p.Detail == "" && len(p.Errors) == 0 {
				t.Errorf("problem has no detail: %+v", p)
			}
			if tt.wantField != "" {
				found := false
				for _, e := range p.Errors {
					found = found || (e.Field == tt.wantField && e.Reason != "")
				}
				if !found {
					t.Errorf("problem %+v does not name field %q", p, tt.wantField)
				}
			}
		})
	}
	var list apiv1.MessageList
	if s := g.get(t, "/api/v1/messages?limit=100", &list); s != 200 || len(list.Messages) != 0 {
		t.Errorf("after bad requests: GET /api/v1/messages = %d with %d messages, want none stored", s, len(list.Messages))
	}
	if n := len(netw.records(t)); n != 0 {
		t.Errorf("the network saw %d messages, want none", n)
	}
}

// TestE2E_Failover: of two modems, one is unplugged mid-burst; its queue
// drains through the other, it comes back by itself when replugged, and no
// message is lost.
func TestE2E_Failover(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	netw := startNetwork(t, 2, "--latency", "20ms")
	g := startGateway(t, t.TempDir(), freePort(t), "", netw.ports)
	const n = 200
	ids := make([]string, 0, n)
	for i := range n {
		status, sent := g.send(t, map[string]any{"to": "+12025550150", "text": fmt.Sprintf("failover %03d", i), "status_report": false})
		if status != 202 {
			t.Fatalf("POST %d: %d", i, status)
		}
		ids = append(ids, sent.ID)
	}
	// Mid-burst: modem 1 has sent some, far from all.
	waitFor(t, 30*time.Second, "modem 1 to have sent a few", func() bool {
		c := 0
		for _, r := range netw.records(t) {
			if r.FromIMEI == netw.imeis[0] {
				c++
			}
		}
		return c >= 5
	})
	netw.control(t, "unplug 1")
	waitFor(t, 30*time.Second, "modem 1 offline", func() bool { return g.modemState(t, netw.imeis[0]) == "offline" })

	for _, id := range ids {
		_, m := g.waitStatus(t, id, 60*time.Second, "sent", "delivered", "failed", "expired", "canceled")
		if m.Status != "sent" {
			t.Fatalf("message %s ended %s (%s)", id, m.Status, m.Error)
		}
	}
	seen := map[string]int{}
	for _, r := range netw.records(t) {
		seen[r.Text]++
	}
	for i := range n {
		if seen[fmt.Sprintf("failover %03d", i)] == 0 {
			t.Errorf("message %03d never reached the network", i)
		}
	}
	netw.control(t, "replug 1")
	waitFor(t, 60*time.Second, "modem 1 online again", func() bool { return g.modemState(t, netw.imeis[0]) == "online" })
	// And it sends again.
	_, sent := g.send(t, map[string]any{"to": "+12025550150", "text": "after replug", "modem": netw.imeis[0], "status_report": false})
	if _, m := g.waitStatus(t, sent.ID, 30*time.Second, "sent", "failed"); m.Status != "sent" {
		t.Errorf("message pinned to the replugged modem: %s (%s)", m.Status, m.Error)
	}
}

func (g *gatewayProc) modemState(t testing.TB, imei string) string {
	t.Helper()
	var out apiv1.ModemList
	g.get(t, "/api/v1/modems", &out)
	for _, m := range out.Modems {
		if m.ID == imei {
			return m.State
		}
	}
	return ""
}

// TestE2E_Crash: 500 messages accepted, the gateway SIGKILLed mid-burst and
// restarted: every accepted message reaches a final state, the network saw
// each at least once, and duplicates are at most one per modem.
func TestE2E_Crash(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	netw := startNetwork(t, 2, "--latency", "5ms")
	data, listen := t.TempDir(), freePort(t)
	// The burst is faster than a key's default send rate (20/s, 200 at
	// once), which would refuse half of it: this test is about the crash.
	t.Setenv("SIMGATE_MESSAGES_KEY_RATE", "0")
	g := startGateway(t, data, listen, "", netw.ports)

	const n = 500
	var (
		mu       sync.Mutex
		accepted = map[string]string{} // id → text
		wg       sync.WaitGroup
	)
	// Four clients post concurrently; the kill lands while they still are.
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				text := fmt.Sprintf("crash %03d", i)
				b, _ := json.Marshal(map[string]any{"to": "+12025550150", "text": text, "status_report": false})
				req, _ := http.NewRequest(http.MethodPost, g.url+"/api/v1/messages", bytes.NewReader(b))
				req.Header.Set("Authorization", "Bearer "+g.key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue // the gateway died under this request: not accepted
				}
				var s apiv1.SendResponse
				json.NewDecoder(resp.Body).Decode(&s)
				resp.Body.Close()
				if resp.StatusCode == 202 {
					mu.Lock()
					accepted[s.ID] = text
					mu.Unlock()
				}
			}
		}()
	}
	killed := false
	for i := range n {
		next <- i
		if i == n/2 {
			// Wait until the modems are busy, then pull the plug.
			waitFor(t, 30*time.Second, "sends under way", func() bool { return len(netw.records(t)) >= 20 })
			g.kill()
			killed = true
		}
		if killed && i > n/2+20 {
			break // the rest would only fail to connect
		}
	}
	close(next)
	wg.Wait()
	if len(accepted) < n/2-10 { // the clients may have had a few requests in flight
		t.Fatalf("only %d messages accepted before the kill", len(accepted))
	}

	// Restart on the same data with the same key; post the rest.
	g2 := startGateway(t, data, listen, g.key, netw.ports)
	for i := n/2 + 1; i < n; i++ {
		text := fmt.Sprintf("crash %03d", i)
		status, s := g2.send(t, map[string]any{"to": "+12025550150", "text": text, "status_report": false})
		if status == 202 {
			accepted[s.ID] = text
		}
	}
	for id := range accepted {
		_, m := g2.waitStatus(t, id, 120*time.Second, "sent", "delivered", "failed", "expired", "canceled")
		if m.Status != "sent" {
			t.Errorf("message %s ended %s (%s)", id, m.Status, m.Error)
		}
	}
	seen := map[string]int{}
	for _, r := range netw.records(t) {
		seen[r.Text]++
	}
	dups := 0
	for _, text := range accepted {
		switch c := seen[text]; {
		case c == 0:
			t.Errorf("%q accepted but never reached the network", text)
		case c > 1:
			dups += c - 1
		}
	}
	if dups > len(netw.imeis) {
		t.Errorf("%d duplicates, want at most one per modem (%d)", dups, len(netw.imeis))
	}
	t.Logf("accepted %d, duplicates %d", len(accepted), dups)
}
