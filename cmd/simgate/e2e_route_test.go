package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
)

// TestE2E_OTPReroute: an OTP sent on a modem whose delivery reports never
// come is sent again, same code, through the other modem once
// otp.reroute_after has passed, and the code approves the one verification.
func TestE2E_OTPReroute(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	// Neither modem's reports to +1202… ever come: whichever the router
	// picks first, the other is the second SIM.
	netw := startNetwork(t, 2, "--route", "1:+1202:drop", "--route", "2:+1202:drop")
	data := t.TempDir()
	cfg := filepath.Join(data, "simgate.yaml")
	if err := os.WriteFile(cfg, []byte("otp:\n  reroute_after: 2s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, data, freePort(t), "", netw.ports, "--config", cfg)

	to := "+12025550150"
	var v apiv1.OTPSendResponse
	// reroute_after counts from when the code was queued, after this; the
	// first send may leave a moment later.
	asked := time.Now()
	if s := g.call(t, http.MethodPost, "/api/v1/otp", strings.NewReader(`{"to":"`+to+`","length":10}`), &v); s != 201 && s != 202 {
		t.Fatalf("POST /api/v1/otp = %d", s)
	}
	codeRe := regexp.MustCompile(`\b(\d{10})\b`)
	var sends []recordJSON
	waitFor(t, 20*time.Second, "the code sent through both modems", func() bool {
		sends = sends[:0]
		for _, r := range netw.records(t) {
			if r.To == to && codeRe.MatchString(r.Text) {
				sends = append(sends, r)
			}
		}
		return len(sends) >= 2
	})
	first, second := sends[0], sends[1]
	if first.FromIMEI == second.FromIMEI {
		t.Errorf("the code went twice through %s, want the other modem the second time", first.FromIMEI)
	}
	if c1, c2 := codeRe.FindString(first.Text), codeRe.FindString(second.Text); c1 != c2 {
		t.Errorf("the second SMS carries code %s, the first %s: want the same code", c2, c1)
	}
	if gap := second.At.Sub(asked); gap < 2*time.Second {
		t.Errorf("sent again %v after the code was asked for: before reroute_after (2s)", gap)
	}
	var got apiv1.Verification
	g.get(t, "/api/v1/otp/"+v.ID, &got)
	sms := 0
	for _, a := range got.Channels {
		if a.Channel == "sms" {
			sms++
			if a.Modem == "" || a.Route == "" {
				t.Errorf("attempt %+v: want the modem chosen and why", a)
			}
		}
	}
	if n := len(got.Channels); sms != 2 || !got.Channels[n-1].Reroute || got.Channels[n-1].Modem != second.FromIMEI {
		b, _ := json.Marshal(got.Channels)
		t.Errorf("channels %s: want two SMS attempts, the second a reroute through %s", b, second.FromIMEI)
	}
	if out, err := g.cli(t, "otp", "check", v.ID, codeRe.FindString(second.Text)); err != nil || !strings.Contains(out, "approved") {
		t.Fatalf("the code: %v\n%s", err, out)
	}
}

// TestE2E_OTPRouting: two virtual modems, one whose reports to the
// destination come in 200 ms, the other in 3 s (the 1 s and 15 s,
// scaled down): after a warm-up of 20 OTPs, at least 80 % of the next 50
// go through the fast one — learned by the real binary from the real
// reports, and said in each message's route.
func TestE2E_OTPRouting(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	netw := startNetwork(t, 2, "--route", "1:+1202:200ms", "--route", "2:+1202:3s")
	data := t.TempDir()
	cfg := filepath.Join(data, "simgate.yaml")
	limits := "otp:\n  resend_interval: 1s\n  limits:\n    number_per_hour: 1000\n    number_per_day: 1000\n    prefix_per_hour: 1000\n    api_key_per_minute: 1000\n"
	if err := os.WriteFile(cfg, []byte(limits), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, data, freePort(t), "", netw.ports, "--config", cfg)

	send := func(i int) {
		t.Helper()
		to := fmt.Sprintf("+120255501%02d", i%100)
		body := `{"to":"` + to + `","purpose":"route ` + strconv.Itoa(i) + `"}`
		if s := g.call(t, http.MethodPost, "/api/v1/otp", strings.NewReader(body), nil); s != 201 && s != 202 {
			t.Fatalf("POST /api/v1/otp #%d = %d", i, s)
		}
	}
	sentBy := func() map[string]int {
		n := map[string]int{}
		for _, r := range netw.records(t) {
			n[r.FromIMEI]++
		}
		return n
	}
	for i := range 20 {
		send(i)
		time.Sleep(150 * time.Millisecond)
	}
	waitFor(t, 30*time.Second, "the warm-up sent", func() bool { n := sentBy(); return n[netw.imeis[0]]+n[netw.imeis[1]] >= 20 })
	time.Sleep(3500 * time.Millisecond) // the slow route's reports too
	before := sentBy()
	for i := 20; i < 70; i++ {
		send(i)
		time.Sleep(150 * time.Millisecond)
	}
	waitFor(t, 30*time.Second, "the next 50 sent", func() bool {
		n := sentBy()
		return n[netw.imeis[0]]+n[netw.imeis[1]] >= before[netw.imeis[0]]+before[netw.imeis[1]]+50
	})
	after := sentBy()
	fast := after[netw.imeis[0]] - before[netw.imeis[0]]
	if fast < 40 {
		t.Errorf("%d of the 50 OTPs after the warm-up went through the fast route, want ≥ 40 (before %v, after %v)", fast, before, after)
	}
	var list apiv1.MessageList
	g.get(t, "/api/v1/messages?limit=1", &list)
	if len(list.Messages) != 1 || list.Messages[0].Route == "" {
		t.Errorf("the last code SMS: %+v, want the router's reason in route", list.Messages)
	}
}
