package api_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/web"
	"github.com/simgate/simgate/web/internal/webtest"
	"github.com/simgate/simgate/webhook"
)

func mustWebhookServer(t *testing.T) *webtest.Server {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "simgate.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n := webhook.New(webhook.Config{}, st, gateway.SystemClock{}, nil)
	return mustServer(t, &webtest.FakeService{}, web.Config{Webhooks: n})
}

func TestWebhooksAPI(t *testing.T) {
	ts := mustWebhookServer(t)

	r := ts.Do(t, http.MethodPost, "/api/v1/webhooks", `{"url":"https://example.test/hook","events":["message.sent","sms.received"]}`, webtest.Authed())
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

	r = ts.Do(t, http.MethodGet, "/api/v1/webhooks", "", webtest.Authed())
	if r.Status != http.StatusOK {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), created.Secret) || strings.Contains(string(r.Body), "whsec_") {
		t.Errorf("list shows the secret: %s", r.Body)
	}
	if strings.Contains(string(r.Body), "parked_until") {
		t.Errorf("an endpoint never parked shows parked_until: %s", r.Body)
	}
	var list apiv1.WebhookList
	if err := json.Unmarshal(r.Body, &list); err != nil || len(list.Webhooks) != 1 || list.Webhooks[0].ID != created.ID {
		t.Fatalf("list = %s (%v)", r.Body, err)
	}

	if r := ts.Do(t, http.MethodDelete, "/api/v1/webhooks/"+created.ID, "", webtest.Authed()); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	webtest.MustProblem(t, ts.Do(t, http.MethodDelete, "/api/v1/webhooks/"+created.ID, "", webtest.Authed()), http.StatusNotFound)
	r = ts.Do(t, http.MethodGet, "/api/v1/webhooks", "", webtest.Authed())
	webtest.AssertJSON(t, r.Body, `{"webhooks":[]}`)
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
		{"ftp", http.MethodPost, "/api/v1/webhooks", `{"url":"ftp://x.test/","events":["sms.received"]}`, webtest.Authed(), http.StatusUnprocessableEntity, "url"},
		{"javascript", http.MethodPost, "/api/v1/webhooks", `{"url":"javascript:alert(1)","events":["sms.received"]}`, webtest.Authed(), http.StatusUnprocessableEntity, "url"},
		{"relative", http.MethodPost, "/api/v1/webhooks", `{"url":"/hook","events":["sms.received"]}`, webtest.Authed(), http.StatusUnprocessableEntity, "url"},
		{"no events", http.MethodPost, "/api/v1/webhooks", `{"url":"http://x.test/"}`, webtest.Authed(), http.StatusUnprocessableEntity, "events"},
		{"unknown event", http.MethodPost, "/api/v1/webhooks", `{"url":"http://x.test/","events":["otp.code"]}`, webtest.Authed(), http.StatusUnprocessableEntity, "events"},
		{"unknown field", http.MethodPost, "/api/v1/webhooks", `{"url":"http://x.test/","events":["sms.received"],"secret":"x"}`, webtest.Authed(), http.StatusBadRequest, "secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := webtest.MustProblem(t, ts.Do(t, tc.method, tc.path, tc.body, tc.header), tc.status)
			if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field) {
				t.Errorf("errors = %+v, want field %q", p.Errors, tc.field)
			}
		})
	}
}
