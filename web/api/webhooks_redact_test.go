package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/web/internal/webtest"
)

// The full URL is shown once, at creation, like the secret; a list shows
// neither user info nor query values, which often hold credentials.
func TestWebhooksAPI_ListRedactsURL(t *testing.T) {
	ts := mustWebhookServer(t)
	const full = "https://alice:s3cret-pass@hooks.example.test/in/sms?token=tok_9f8e7d&v=2"
	r := ts.Do(t, http.MethodPost, "/api/v1/webhooks", `{"url":"`+full+`","events":["sms.received"]}`, webtest.Authed())
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var created apiv1.Webhook
	if err := json.Unmarshal(r.Body, &created); err != nil || created.URL != full {
		t.Fatalf("created URL = %q (%v), want the full URL once", created.URL, err)
	}
	r = ts.Do(t, http.MethodGet, "/api/v1/webhooks", "", webtest.Authed())
	var list apiv1.WebhookList
	if err := json.Unmarshal(r.Body, &list); err != nil || len(list.Webhooks) != 1 {
		t.Fatalf("list = %s (%v)", r.Body, err)
	}
	const want = "https://hooks.example.test/in/sms?token=redacted&v=redacted"
	if got := list.Webhooks[0].URL; got != want {
		t.Errorf("listed URL = %q, want %q", got, want)
	}
	for _, secret := range []string{"alice", "s3cret-pass", "tok_9f8e7d"} {
		if strings.Contains(string(r.Body), secret) {
			t.Errorf("the list shows %q: %s", secret, r.Body)
		}
	}
}
