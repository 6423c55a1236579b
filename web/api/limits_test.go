package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/web/internal/webtest"
)

// mustTooMany checks a 429 problem and returns its Retry-After in seconds.
func mustTooMany(t *testing.T, r webtest.Response) int {
	t.Helper()
	p := webtest.MustProblem(t, r, http.StatusTooManyRequests)
	if p.Type != apiv1.ProblemTooManyRequests {
		t.Errorf("type %q, want too-many-requests", p.Type)
	}
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("Retry-After %q, want whole seconds", r.Header.Get("Retry-After"))
	}
	return secs
}

// Each key has its own bucket: over the rate, 429 with Retry-After; the
// other key is not slowed, and the first may send again once it refilled.
func TestSendLimits_Rate(t *testing.T) {
	s := mustTenantStack(t, gateway.ServiceConfig{Limits: gateway.SendLimits{Rate: 0.5, Burst: 2}})
	s.key(t, "a")
	s.key(t, "b")
	send := func(key string) webtest.Response {
		return s.do(t, key, "POST", "/api/v1/messages", `{"to":"+12025550123","text":"hi"}`)
	}
	for i := range 2 {
		wantStatus(t, "a send "+strconv.Itoa(i), send("a"), http.StatusAccepted)
	}
	if secs := mustTooMany(t, send("a")); secs != 2 {
		t.Errorf("Retry-After %d s, want 2 (one message per 2 s)", secs)
	}
	wantStatus(t, "b's first send", send("b"), http.StatusAccepted)
	s.clock.Add(2 * time.Second)
	wantStatus(t, "a after Retry-After", send("a"), http.StatusAccepted)
}

// A daily quota counts a key's messages of the UTC day; at the quota the
// answer is 429 until midnight UTC.
func TestSendLimits_DailyQuota(t *testing.T) {
	s := mustTenantStack(t, gateway.ServiceConfig{Limits: gateway.SendLimits{DailyQuota: 2}})
	s.key(t, "a")
	s.key(t, "b")
	send := func(key string) webtest.Response {
		return s.do(t, key, "POST", "/api/v1/messages", `{"to":"+12025550123","text":"hi"}`)
	}
	wantStatus(t, "a 1", send("a"), http.StatusAccepted)
	wantStatus(t, "a 2", send("a"), http.StatusAccepted)
	// The stack's clock reads 09:00 UTC: 15 h to midnight.
	if secs := mustTooMany(t, send("a")); secs != 15*3600 {
		t.Errorf("Retry-After %d s, want %d (until midnight UTC)", secs, 15*3600)
	}
	wantStatus(t, "b 1", send("b"), http.StatusAccepted)
	s.clock.Add(15 * time.Hour)
	wantStatus(t, "a the next day", send("a"), http.StatusAccepted)
}

// /api/v1/messages has OTP's destination policy: by default only the
// region's country, and no premium-rate, shared-cost or toll-free numbers.
func TestSendLimits_Destinations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy gateway.DestinationPolicy
		to     string
		ok     bool
		reason string
	}{
		{"home mobile", gateway.DestinationPolicy{}, "+12025550123", true, ""},
		{"foreign", gateway.DestinationPolicy{}, "+4915112345678", false, "home region US"},
		{"premium rate", gateway.DestinationPolicy{}, "+19002530000", false, "premium-rate"},
		{"toll free", gateway.DestinationPolicy{}, "+18005550123", false, "toll-free"},
		{"foreign premium", gateway.DestinationPolicy{AllowedCountries: []string{"*"}}, "+448712345678", false, "premium-rate"},
		{"foreign allowed", gateway.DestinationPolicy{AllowedCountries: []string{"us", "DE"}}, "+4915112345678", true, ""},
		{"premium allowed", gateway.DestinationPolicy{RefusedTypes: []string{"none"}}, "+19002530000", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustTenantStack(t, gateway.ServiceConfig{Destinations: tc.policy})
			s.key(t, "a")
			r := s.do(t, "a", "POST", "/api/v1/messages", `{"to":"`+tc.to+`","text":"hi"}`)
			if tc.ok {
				wantStatus(t, tc.to, r, http.StatusAccepted)
				return
			}
			p := webtest.MustProblem(t, r, http.StatusUnprocessableEntity)
			if len(p.Errors) != 1 || p.Errors[0].Field != "to" || !strings.Contains(p.Errors[0].Reason, tc.reason) {
				t.Errorf("errors %+v, want to: …%s…", p.Errors, tc.reason)
			}
		})
	}
	if err := gateway.CheckDestinations(gateway.DestinationPolicy{RefusedTypes: []string{"premium"}}); err == nil {
		t.Error("CheckDestinations accepted the number type premium")
	}
	if err := gateway.CheckDestinations(gateway.DestinationPolicy{AllowedCountries: []string{"USA"}}); err == nil {
		t.Error("CheckDestinations accepted the country USA")
	}
}
