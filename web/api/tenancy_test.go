package api_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/otp"
	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/web"
	"github.com/simgate/simgate/web/internal/webtest"
	"github.com/simgate/simgate/webhook"
)

// tenantStack is the API over the real store, gateway service, OTP service
// and webhook notifier (no modem: messages stay queued), with keys made by
// the gateway as "simgate apikey create" makes them.
type tenantStack struct {
	ts    *webtest.Server
	svc   *gateway.Service
	clock *testkit.Clock
	keys  map[string]string // name → secret
}

func mustTenantStack(t *testing.T, cfg gateway.ServiceConfig) *tenantStack {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(t.Context(), filepath.Join(dir, "simgate.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := otp.LoadKey(filepath.Join(dir, "otp.key"))
	if err != nil {
		t.Fatal(err)
	}
	clock := testkit.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	svc := gateway.NewService(cfg, otp.SealedStore(st, key), nil, clock, nil)
	o, err := otp.New(otp.Config{}, svc, st, key, nil, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := webhook.New(webhook.Config{}, st, clock, nil)
	s := web.NewServer(web.Config{OTP: o, Webhooks: n, Registry: prometheus.NewRegistry()}, svc, slog.New(slog.DiscardHandler))
	return &tenantStack{ts: webtest.Start(t, s.Handler()), svc: svc, clock: clock, keys: map[string]string{}}
}

// key makes a key named name with scopes (none: the default ones).
func (s *tenantStack) key(t *testing.T, name string, scopes ...string) {
	t.Helper()
	secret, _, err := s.svc.CreateAPIKey(t.Context(), name, scopes)
	if err != nil {
		t.Fatal(err)
	}
	s.keys[name] = secret
}

func (s *tenantStack) do(t *testing.T, key, method, path, body string) webtest.Response {
	t.Helper()
	return s.ts.Do(t, method, path, body, map[string]string{"Authorization": "Bearer " + s.keys[key]})
}

// id posts body and returns the "id" of the answer, which must be want.
func (s *tenantStack) id(t *testing.T, key, path, body string, want int) string {
	t.Helper()
	r := s.do(t, key, http.MethodPost, path, body)
	if r.Status != want {
		t.Fatalf("%s POST %s: %d %s", key, path, r.Status, r.Body)
	}
	var out struct{ ID string }
	if err := json.Unmarshal(r.Body, &out); err != nil || out.ID == "" {
		t.Fatalf("%s POST %s: %s (%v)", key, path, r.Body, err)
	}
	return out.ID
}

func wantStatus(t *testing.T, what string, r webtest.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: %d, want %d; %s", what, r.Status, status, r.Body)
	}
}

// Two keys of one gateway (a web shop, a contractor) see and change only
// their own messages, verifications and webhooks; admin sees all.
func TestTenancy(t *testing.T) {
	s := mustTenantStack(t, gateway.ServiceConfig{})
	s.key(t, "shop")
	s.key(t, "contractor")
	s.key(t, "root", gateway.ScopeAdmin)

	mShop := s.id(t, "shop", "/api/v1/messages", `{"to":"+12025550123","text":"your order shipped"}`, http.StatusAccepted)
	mOther := s.id(t, "contractor", "/api/v1/messages", `{"to":"+12025550124","text":"hello"}`, http.StatusAccepted)

	wantStatus(t, "contractor GET shop's message", s.do(t, "contractor", "GET", "/api/v1/messages/"+mShop, ""), http.StatusNotFound)
	wantStatus(t, "contractor DELETE shop's message", s.do(t, "contractor", "DELETE", "/api/v1/messages/"+mShop, ""), http.StatusNotFound)
	wantStatus(t, "shop GET its message", s.do(t, "shop", "GET", "/api/v1/messages/"+mShop, ""), http.StatusOK)
	listIDs := func(key string) []string {
		r := s.do(t, key, "GET", "/api/v1/messages", "")
		var l apiv1.MessageList
		if err := json.Unmarshal(r.Body, &l); err != nil || r.Status != http.StatusOK {
			t.Fatalf("%s list: %d %s", key, r.Status, r.Body)
		}
		var ids []string
		for _, m := range l.Messages {
			ids = append(ids, m.ID)
			if m.Status != apiv1.StatusQueued {
				t.Errorf("%s: %s is %s, want queued (nothing canceled it)", key, m.ID, m.Status)
			}
		}
		slices.Sort(ids)
		return ids
	}
	if got := listIDs("contractor"); !slices.Equal(got, []string{mOther}) {
		t.Errorf("contractor lists %v, want only %s", got, mOther)
	}
	want := []string{mShop, mOther}
	slices.Sort(want)
	if got := listIDs("root"); !slices.Equal(got, want) {
		t.Errorf("admin lists %v, want %v", got, want)
	}

	// OTP: another key's verification is not found, whatever is tried.
	vShop := s.id(t, "shop", "/api/v1/otp", `{"to":"+12025550125","purpose":"login"}`, http.StatusCreated)
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/api/v1/otp/" + vShop, ""},
		{"POST", "/api/v1/otp/" + vShop + "/check", `{"code":"000000"}`},
		{"POST", "/api/v1/otp/" + vShop + "/resend", ""},
		{"DELETE", "/api/v1/otp/" + vShop, ""},
		{"POST", "/api/v1/otp/check", `{"to":"+12025550125","purpose":"login","code":"000000"}`},
	} {
		wantStatus(t, "contractor "+tc.method+" "+tc.path, s.do(t, "contractor", tc.method, tc.path, tc.body), http.StatusNotFound)
	}
	// The same number and purpose from another key is a verification of
	// its own, and leaves the first one alone.
	vOther := s.id(t, "contractor", "/api/v1/otp", `{"to":"+12025550125","purpose":"login"}`, http.StatusCreated)
	if vOther == vShop {
		t.Errorf("contractor got the shop's verification %s", vShop)
	}
	r := s.do(t, "shop", "GET", "/api/v1/otp/"+vShop, "")
	var v apiv1.Verification
	if err := json.Unmarshal(r.Body, &v); err != nil || v.Status != "pending" || v.AttemptsLeft != otp.DefaultOTPMaxAttempts {
		t.Errorf("shop's verification after the contractor's tries: %d %s", r.Status, r.Body)
	}
	wantStatus(t, "admin GET shop's verification", s.do(t, "root", "GET", "/api/v1/otp/"+vShop, ""), http.StatusOK)

	// Webhooks: listed and deleted by their own key (and admin) only.
	wShop := s.id(t, "shop", "/api/v1/webhooks", `{"url":"http://127.0.0.1:9/hook","events":["message.delivered"]}`, http.StatusCreated)
	hookIDs := func(key string) []string {
		var l apiv1.WebhookList
		r := s.do(t, key, "GET", "/api/v1/webhooks", "")
		if err := json.Unmarshal(r.Body, &l); err != nil {
			t.Fatalf("%s webhooks: %d %s", key, r.Status, r.Body)
		}
		var ids []string
		for _, w := range l.Webhooks {
			ids = append(ids, w.ID)
		}
		return ids
	}
	if got := hookIDs("contractor"); len(got) != 0 {
		t.Errorf("contractor lists webhooks %v, want none", got)
	}
	if got := hookIDs("root"); !slices.Equal(got, []string{wShop}) {
		t.Errorf("admin lists webhooks %v, want %s", got, wShop)
	}
	wantStatus(t, "contractor DELETE shop's webhook", s.do(t, "contractor", "DELETE", "/api/v1/webhooks/"+wShop, ""), http.StatusNotFound)
	if got := hookIDs("shop"); !slices.Equal(got, []string{wShop}) {
		t.Errorf("shop lists webhooks %v after the contractor's delete, want %s", got, wShop)
	}
	wantStatus(t, "shop DELETE its webhook", s.do(t, "shop", "DELETE", "/api/v1/webhooks/"+wShop, ""), http.StatusNoContent)
	wantStatus(t, "admin DELETE contractor's message", s.do(t, "root", "DELETE", "/api/v1/messages/"+mOther, ""), http.StatusOK)
}

// A webhook may carry only what its key could read: sms.received needs
// inbox:read, message events messages:read, and so on.
func TestTenancy_WebhookEventScopes(t *testing.T) {
	s := mustTenantStack(t, gateway.ServiceConfig{})
	s.key(t, "hooks", gateway.ScopeWebhooks, gateway.ScopeMessagesRead)
	for _, ev := range []string{"sms.received", "otp.approved", "modem.offline"} {
		r := s.do(t, "hooks", "POST", "/api/v1/webhooks", `{"url":"http://127.0.0.1:9/","events":["message.sent","`+ev+`"]}`)
		p := webtest.MustProblem(t, r, http.StatusForbidden)
		if len(p.Errors) != 1 || p.Errors[0].Field != "events" {
			t.Errorf("%s: errors %+v, want the events field", ev, p.Errors)
		}
	}
	s.id(t, "hooks", "/api/v1/webhooks", `{"url":"http://127.0.0.1:9/","events":["message.sent"]}`, http.StatusCreated)
}

// Unknown scope names are refused when a key is made; no scopes means every
// scope but admin.
func TestTenancy_KeyScopes(t *testing.T) {
	s := mustTenantStack(t, gateway.ServiceConfig{})
	if _, _, err := s.svc.CreateAPIKey(t.Context(), "typo", []string{"messages:sned"}); err == nil {
		t.Error("a key with the scope messages:sned was made")
	}
	_, k, err := s.svc.CreateAPIKey(t.Context(), "plain", nil)
	if err != nil || !slices.Equal(k.Scopes, gateway.DefaultScopes) || k.Has(gateway.ScopeAdmin) {
		t.Errorf("key without scopes = %+v, %v; want the default scopes, not admin", k, err)
	}
	if !slices.Contains(gateway.Scopes, gateway.ScopeAdmin) || len(gateway.DefaultScopes) != len(gateway.Scopes)-1 {
		t.Errorf("DefaultScopes %v: want every scope of %v but admin", gateway.DefaultScopes, gateway.Scopes)
	}
}
