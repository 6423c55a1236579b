package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/web/internal/webtest"
)

func TestRequireKey(t *testing.T) {
	var gotKey string
	svc := &webtest.FakeService{ModemsFn: func(context.Context) ([]gateway.ModemView, error) { return nil, nil }}
	svc.SendFn = func(_ context.Context, r gateway.SendRequest) (*gateway.Message, bool, error) {
		gotKey = r.APIKey
		return &gateway.Message{ID: "msg_1", Status: gateway.StatusQueued}, false, nil
	}
	ts := mustServer(t, svc, Config{})

	tests := []struct {
		name          string
		authorization string
		status        int
		challenge     string
	}{
		{"Missing", "", 401, `Bearer realm="simgate"`},
		{"OtherScheme", "Basic " + webtest.Key, 401, `Bearer realm="simgate"`},
		{"EmptyToken", "Bearer ", 401, `Bearer realm="simgate"`},
		{"Wrong", "Bearer sk_test_wrong", 401, `Bearer realm="simgate", error="invalid_token"`},
		{"Right", "Bearer " + webtest.Key, 200, ""},
		{"SchemeCaseInsensitive", "bearer " + webtest.Key, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.authorization != "" {
				h["Authorization"] = tt.authorization
			}
			r := ts.Do(t, http.MethodGet, "/api/v1/modems", "", h)
			if tt.status == http.StatusOK {
				if r.Status != http.StatusOK {
					t.Fatalf("status = %d, want 200; body %s", r.Status, r.Body)
				}
				return
			}
			p := webtest.MustProblem(t, r, tt.status)
			if p.Type != apiv1.ProblemUnauthorized {
				t.Errorf("type = %q, want %q", p.Type, apiv1.ProblemUnauthorized)
			}
			if got := r.Header.Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
		})
	}

	t.Run("EveryAPIRoute", func(t *testing.T) {
		for _, route := range []struct{ method, path string }{
			{"POST", "/api/v1/messages"}, {"GET", "/api/v1/messages"}, {"GET", "/api/v1/messages/msg_1"},
			{"DELETE", "/api/v1/messages/msg_1"}, {"GET", "/api/v1/inbox"}, {"GET", "/api/v1/modems"},
		} {
			r := ts.Do(t, route.method, route.path, `{"to":"+12025550123","text":"hi"}`, nil)
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s %s without a key: status %d, want 401", route.method, route.path, r.Status)
			}
		}
		if n := ts.Svc.Sends.Load(); n != 0 {
			t.Errorf("the gateway got %d sends without a key", n)
		}
	})
	t.Run("KeyNameReachesGateway", func(t *testing.T) {
		r := ts.Do(t, http.MethodPost, "/api/v1/messages", `{"to":"+12025550123","text":"hi"}`, webtest.Authed())
		if r.Status != http.StatusAccepted {
			t.Fatalf("status = %d; body %s", r.Status, r.Body)
		}
		if gotKey != webtest.KeyName {
			t.Errorf("SendRequest.APIKey = %q, want %q", gotKey, webtest.KeyName)
		}
	})
	t.Run("BackendDown", func(t *testing.T) {
		down := &webtest.FakeService{AuthenticateFn: func(context.Context, string) (gateway.APIKey, error) {
			return gateway.APIKey{}, errors.New("lookup api key: disk I/O error")
		}}
		ts := mustServer(t, down, Config{})
		r := ts.Do(t, http.MethodGet, "/api/v1/modems", "", webtest.Authed())
		webtest.MustProblem(t, r, http.StatusInternalServerError)
		if strings.Contains(string(r.Body), "disk") {
			t.Errorf("answer leaks the cause: %s", r.Body)
		}
	})
}

func TestProbes_NoAuth(t *testing.T) {
	ready := errors.New("no modem online")
	svc := &webtest.FakeService{ReadyFn: func(context.Context) error { return ready }}
	ts := mustServer(t, svc, Config{})

	r := ts.Do(t, http.MethodGet, "/readyz", "", nil)
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz status = %d, want 503", r.Status)
	}
	webtest.AssertJSON(t, r.Body, `{"status":"unavailable","reason":"no modem online"}`)

	ready = nil
	if r := ts.Do(t, http.MethodGet, "/readyz", "", nil); r.Status != http.StatusOK {
		t.Errorf("readyz once ready: status %d, want 200", r.Status)
	}
	if r := ts.Do(t, http.MethodGet, "/healthz", "", nil); r.Status != http.StatusOK {
		t.Errorf("healthz: status %d, want 200", r.Status)
	}
	r = ts.Do(t, http.MethodGet, "/metrics", "", nil)
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("metrics: status %d, Content-Type %q", r.Status, r.Header.Get("Content-Type"))
	}
}

func TestMetrics(t *testing.T) {
	svc := &webtest.FakeService{
		SendFn: func(context.Context, gateway.SendRequest) (*gateway.Message, bool, error) {
			return &gateway.Message{ID: "msg_1", Status: gateway.StatusQueued}, false, nil
		},
		MessageFn: func(_ context.Context, id string) (*gateway.Message, error) {
			return nil, fmt.Errorf("message %s: %w", id, gateway.ErrNotFound)
		},
	}
	ts := mustServer(t, svc, Config{})
	var last string
	for range 3 {
		last = ts.Do(t, http.MethodPost, "/api/v1/messages", `{"to":"+12025550123","text":"hi"}`, webtest.Authed()).Header.Get("X-Request-Id")
	}
	ts.Do(t, http.MethodGet, "/api/v1/messages/msg_a", "", webtest.Authed())
	ts.Do(t, http.MethodGet, "/api/v1/messages/msg_b", "", webtest.Authed())
	nf := ts.Do(t, http.MethodGet, "/no/such/+12025550123", "", nil).Header.Get("X-Request-Id")
	// The access log comes after the counters; once it is there, so are they.
	ts.Log.WaitFor(t, `"msg":"http request"`, last)
	ts.Log.WaitFor(t, `"msg":"http request"`, nf)

	body := string(ts.Do(t, http.MethodGet, "/metrics", "", nil).Body)
	for _, want := range []string{
		`simgate_http_requests_total{method="POST",route="/api/v1/messages",status="202"} 3`,
		`simgate_http_requests_total{method="GET",route="/api/v1/messages/:id",status="404"} 2`,
		`simgate_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`simgate_http_request_duration_seconds_count{method="POST",route="/api/v1/messages",status="202"} 3`,
		`simgate_http_request_duration_seconds_bucket{method="GET",route="/api/v1/messages/:id",status="404",le="+Inf"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "12025550123") || strings.Contains(body, "msg_a") {
		t.Error("metrics are labelled with paths instead of routes")
	}
}

func TestRequestLog(t *testing.T) {
	const text = "Your verification code is 834512"
	svc := &webtest.FakeService{
		SendFn: func(_ context.Context, r gateway.SendRequest) (*gateway.Message, bool, error) {
			return nil, false, &gateway.ValidationError{Field: "to", Reason: "number " + r.To + " is not mobile"}
		},
		MessagesFn: func(context.Context, gateway.MessageFilter) ([]*gateway.Message, string, error) {
			return nil, "", nil
		},
	}
	ts := mustServer(t, svc, Config{})
	post := ts.Do(t, http.MethodPost, "/api/v1/messages", `{"to":"+12025550123","text":"`+text+`"}`, webtest.Authed())
	list := ts.Do(t, http.MethodGet, "/api/v1/messages?to=%2B12025550123&limit=5&token=tok_s3cr3t&empty=", "", webtest.Authed())
	stray := ts.Do(t, http.MethodGet, "/v2/+1 (202) 555-0123?q=2025550123", "", nil)

	ts.Log.WaitFor(t, `"msg":"http request"`, post.Header.Get("X-Request-Id"),
		`"method":"POST"`, `"route":"/api/v1/messages"`, `"status":422`, `"latency":`, `"api_key":"`+webtest.KeyName+`"`)
	ts.Log.WaitFor(t, `"msg":"http request"`, list.Header.Get("X-Request-Id"),
		`"query":{"empty":"","limit":"[redacted]","to":"[redacted]","token":"[redacted]"}`)
	logs := ts.Log.WaitFor(t, `"msg":"http request"`, stray.Header.Get("X-Request-Id"),
		`"route":"unmatched"`, `"path":"/v2/+1202…0123"`, `"query":{"q":"[redacted]"}`)

	for _, secret := range []string{"12025550123", "2025550123", "555-0123", "834512", "verification", "tok_s3cr3t"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
}

func TestRequestID(t *testing.T) {
	ts := mustServer(t, &webtest.FakeService{}, Config{})
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"Plain", "req-42.a_B", true},
		{"None", "", false},
		{"Spaces", "bad id", false},
		{"TooLong", strings.Repeat("a", 65), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.sent != "" {
				h["X-Request-Id"] = tt.sent
			}
			got := ts.Do(t, http.MethodGet, "/healthz", "", h).Header.Get("X-Request-Id")
			if tt.kept && got != tt.sent {
				t.Errorf("X-Request-Id = %q, want %q kept", got, tt.sent)
			}
			if !tt.kept && (got == tt.sent || !plainID(got)) {
				t.Errorf("X-Request-Id = %q, want a fresh plain id", got)
			}
		})
	}
}

func TestHandleError_ClientGone(t *testing.T) {
	// A client that hangs up is not a server error: no 5xx, no error log.
	entered := make(chan struct{})
	svc := &webtest.FakeService{ModemsFn: func(ctx context.Context) ([]gateway.ModemView, error) {
		close(entered)
		<-ctx.Done()
		return nil, fmt.Errorf("list modems: %w", ctx.Err())
	}}
	ts := mustServer(t, svc, Config{})
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/api/v1/modems", nil)
	req.Header.Set("Authorization", "Bearer "+webtest.Key)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if res, err := ts.Client.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	<-entered
	cancel()
	<-done
	logs := ts.Log.WaitFor(t, `"msg":"http request"`, `"route":"/api/v1/modems"`, `"status":499`)
	if strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("a client hanging up was logged as an error:\n%s", logs)
	}
}

// Probes and the status page's polling are logged at debug when they
// succeed; everything else, and their failures, at info.
func TestRequestLog_QuietRoutes(t *testing.T) {
	svc := &webtest.FakeService{ReadyFn: func(context.Context) error { return errors.New("no modem online") }}
	ts := mustServer(t, svc, Config{})
	ok := ts.Do(t, http.MethodGet, "/healthz", "", nil)
	bad := ts.Do(t, http.MethodGet, "/readyz", "", nil)
	ts.Log.WaitFor(t, `"msg":"http request"`, ok.Header.Get("X-Request-Id"), `"level":"DEBUG"`, `"route":"/healthz"`)
	ts.Log.WaitFor(t, `"msg":"http request"`, bad.Header.Get("X-Request-Id"), `"level":"INFO"`, `"route":"/readyz"`, `"status":503`)
}
