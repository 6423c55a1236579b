package web

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/store"
)

func mustWebhookServer(t *testing.T) *testServer {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "simgate.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n := gateway.NewNotifier(gateway.NotifierConfig{}, st, gateway.SystemClock{}, nil)
	return mustServer(t, &fakeService{}, Config{Webhooks: n})
}

func TestWebhooksAPI(t *testing.T) {
	ts := mustWebhookServer(t)

	r := ts.do(t, http.MethodPost, "/api/v1/webhooks", `{"url":"https://example.test/hook","events":["message.sent","sms.received"]}`, authed())
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var created apiv1.Webhook
	if err := json.Unmarshal(r.Body, &created); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.ID, "wh_") || !strings.HasPrefix(created.Secret, "whsec_") || len(created.Events) != 2 {
		t.Errorf("created = %+v", created)
	}

	r = ts.do(t, http.MethodGet, "/api/v1/webhooks", "", authed())
	if r.Status != http.StatusOK {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), created.Secret) || strings.Contains(string(r.Body), "whsec_") {
		t.Errorf("list shows the secret: %s", r.Body)
	}
	var list apiv1.WebhookList
	if err := json.Unmarshal(r.Body, &list); err != nil || len(list.Webhooks) != 1 || list.Webhooks[0].ID != created.ID {
		t.Fatalf("list = %s (%v)", r.Body, err)
	}

	if r := ts.do(t, http.MethodDelete, "/api/v1/webhooks/"+created.ID, "", authed()); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	mustProblem(t, ts.do(t, http.MethodDelete, "/api/v1/webhooks/"+created.ID, "", authed()), http.StatusNotFound)
	r = ts.do(t, http.MethodGet, "/api/v1/webhooks", "", authed())
	assertJSON(t, r.Body, `{"webhooks":[]}`)
}

func TestWebhooksAPI_Refused(t *testing.T) {
	ts := mustWebhookServer(t)
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   string
		header map[string]string
		status int
		field  string
	}{
		{"no key", http.MethodGet, "/api/v1/webhooks", "", nil, http.StatusUnauthorized, ""},
		{"bad key", http.MethodPost, "/api/v1/webhooks", `{"url":"http://x.test","events":["sms.received"]}`, map[string]string{"Authorization": "Bearer nope"}, http.StatusUnauthorized, ""},
		{"no key delete", http.MethodDelete, "/api/v1/webhooks/wh_x", "", nil, http.StatusUnauthorized, ""},
		{"ftp", http.MethodPost, "/api/v1/webhooks", `{"url":"ftp://x.test/","events":["sms.received"]}`, authed(), http.StatusUnprocessableEntity, "url"},
		{"javascript", http.MethodPost, "/api/v1/webhooks", `{"url":"javascript:alert(1)","events":["sms.received"]}`, authed(), http.StatusUnprocessableEntity, "url"},
		{"relative", http.MethodPost, "/api/v1/webhooks", `{"url":"/hook","events":["sms.received"]}`, authed(), http.StatusUnprocessableEntity, "url"},
		{"no events", http.MethodPost, "/api/v1/webhooks", `{"url":"http://x.test/"}`, authed(), http.StatusUnprocessableEntity, "events"},
		{"unknown event", http.MethodPost, "/api/v1/webhooks", `{"url":"http://x.test/","events":["otp.code"]}`, authed(), http.StatusUnprocessableEntity, "events"},
		{"unknown field", http.MethodPost, "/api/v1/webhooks", `{"url":"http://x.test/","events":["sms.received"],"secret":"x"}`, authed(), http.StatusBadRequest, "secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustProblem(t, ts.do(t, tc.method, tc.path, tc.body, tc.header), tc.status)
			if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field) {
				t.Errorf("errors = %+v, want field %q", p.Errors, tc.field)
			}
		})
	}
}
