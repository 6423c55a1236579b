package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/otp"
	"github.com/simgate/simgate/web"
	"github.com/simgate/simgate/web/internal/webtest"
)

// routeScopes is the scope each /api/v1 route needs ("" for none: the
// route is public). A route added to the server without a row here fails
// TestRoutes_Scopes, and so does a row whose route is gone: the table is
// the reviewed list of who may do what. TestOpenAPI holds openapi.json's
// x-scope to it.
var routeScopes = map[string]string{
	"GET /api/v1/openapi.json":       "",
	"POST /api/v1/messages":          gateway.ScopeMessagesSend,
	"GET /api/v1/messages":           gateway.ScopeMessagesRead,
	"GET /api/v1/messages/:id":       gateway.ScopeMessagesRead,
	"DELETE /api/v1/messages/:id":    gateway.ScopeMessagesSend,
	"GET /api/v1/inbox":              gateway.ScopeInboxRead,
	"GET /api/v1/modems":             gateway.ScopeModemsRead,
	"POST /api/v1/modems/:imei/ussd": gateway.ScopeAdmin,
	"POST /api/v1/otp":               gateway.ScopeOTP,
	"POST /api/v1/otp/check":         gateway.ScopeOTP,
	"GET /api/v1/otp/:id":            gateway.ScopeOTP,
	"DELETE /api/v1/otp/:id":         gateway.ScopeOTP,
	"POST /api/v1/otp/:id/check":     gateway.ScopeOTP,
	"POST /api/v1/otp/:id/resend":    gateway.ScopeOTP,
	"POST /api/v1/webhooks":          gateway.ScopeWebhooks,
	"GET /api/v1/webhooks":           gateway.ScopeWebhooks,
	"DELETE /api/v1/webhooks/:id":    gateway.ScopeWebhooks,
}

// scopeKeys is one key per scope, plus one with none: its token is the
// scope's name.
func scopeKeys(_ context.Context, token string) (gateway.APIKey, error) {
	if token == "none" {
		return gateway.APIKey{ID: 100, Name: "none"}, nil
	}
	for i, s := range gateway.Scopes {
		if token == s {
			return gateway.APIKey{ID: int64(i + 1), Name: "key-" + strings.ReplaceAll(s, ":", "-"), Scopes: []string{s}}, nil
		}
	}
	return gateway.APIKey{}, gateway.ErrUnauthorized
}

// nothingOTP and nothingWebhooks know no verification and no endpoint.
type nothingOTP struct{}

func (nothingOTP) Send(context.Context, otp.Request) (*gateway.Verification, error) {
	return nil, gateway.ErrNotFound
}
func (nothingOTP) Check(context.Context, string, string) (*gateway.Verification, error) {
	return nil, gateway.ErrNotFound
}
func (nothingOTP) CheckByNumber(context.Context, int64, string, string, string) (*gateway.Verification, error) {
	return nil, gateway.ErrNotFound
}
func (nothingOTP) Resend(context.Context, string) (*gateway.Verification, error) {
	return nil, gateway.ErrNotFound
}
func (nothingOTP) Cancel(context.Context, string) (*gateway.Verification, error) {
	return nil, gateway.ErrNotFound
}
func (nothingOTP) Get(context.Context, string) (*gateway.Verification, error) {
	return nil, gateway.ErrNotFound
}

// noModems has no modem connected.
type noModems struct{}

func (noModems) USSD(context.Context, string, string) (gateway.USSDReply, error) {
	return gateway.USSDReply{}, gateway.ErrModemNotConnected
}

type nothingWebhooks struct{}

func (nothingWebhooks) CreateWebhook(context.Context, gateway.Caller, string, []string) (gateway.WebhookEndpoint, error) {
	return gateway.WebhookEndpoint{}, gateway.ErrNotFound
}
func (nothingWebhooks) Webhooks(context.Context) ([]gateway.WebhookEndpoint, error) { return nil, nil }
func (nothingWebhooks) DeleteWebhook(context.Context, string) error                 { return gateway.ErrNotFound }

// TestRoutes_Scopes walks echo's route table: every /api/v1 route has its
// row in routeScopes, refuses a request without a key (401), and is tried
// with a key of each scope: the route's own scope and admin get past the
// check, every other key gets 403 with the forbidden problem.
func TestRoutes_Scopes(t *testing.T) {
	none := func(context.Context, string) (*gateway.Message, error) { return nil, gateway.ErrNotFound }
	svc := &webtest.FakeService{
		AuthenticateFn: scopeKeys,
		MessageFn:      none,
		CancelFn:       none,
		SendFn: func(context.Context, gateway.SendRequest) (*gateway.Message, bool, error) {
			return nil, false, gateway.ErrNotFound
		},
		MessagesFn: func(context.Context, gateway.MessageFilter) ([]*gateway.Message, string, error) { return nil, "", nil },
		InboxFn:    func(context.Context, time.Time, int) ([]*gateway.InboundMessage, error) { return nil, nil },
		ModemsFn:   func(context.Context) ([]gateway.ModemView, error) { return nil, nil },
	}
	s := web.NewServer(web.Config{Registry: prometheus.NewRegistry(), OTP: nothingOTP{}, Webhooks: nothingWebhooks{}, Modems: noModems{}},
		svc, slog.New(slog.DiscardHandler))
	ts := webtest.Start(t, s.Handler())

	seen := map[string]bool{}
	for _, r := range s.Handler().(*echo.Echo).Routes() {
		if !strings.HasPrefix(r.Path, "/api/") {
			continue
		}
		route := r.Method + " " + r.Path
		seen[route] = true
		want, ok := routeScopes[route]
		if !ok {
			t.Errorf("%s is served but has no scope in routeScopes: decide which scope it needs", route)
			continue
		}
		path := strings.ReplaceAll(r.Path, ":id", "otp_x")
		if want == "" {
			if got := ts.Do(t, r.Method, path, "", nil); got.Status != http.StatusOK {
				t.Errorf("%s is public but answers %d without a key", route, got.Status)
			}
			continue
		}
		body := ""
		if r.Method == http.MethodPost {
			body = `{"code":"123456","to":"+12025550123","text":"x","url":"http://127.0.0.1:9/","events":["modem.online"]}`
		}
		if got := ts.Do(t, r.Method, path, body, nil); got.Status != http.StatusUnauthorized {
			t.Errorf("%s without a key: %d, want 401", route, got.Status)
		}
		for _, scope := range append([]string{"none"}, gateway.Scopes...) {
			got := ts.Do(t, r.Method, path, body, map[string]string{"Authorization": "Bearer " + scope})
			allowed := scope == want || scope == gateway.ScopeAdmin
			switch {
			case allowed && (got.Status == http.StatusForbidden || got.Status == http.StatusUnauthorized):
				t.Errorf("%s with scope %s: %d, want past the scope check; %s", route, scope, got.Status, got.Body)
			case !allowed && got.Status != http.StatusForbidden:
				t.Errorf("%s with scope %s: %d, want 403 (it needs %s); %s", route, scope, got.Status, want, got.Body)
			case !allowed:
				if p := webtest.MustProblem(t, got, http.StatusForbidden); p.Type != apiv1.ProblemForbidden || !strings.Contains(p.Detail, want) {
					t.Errorf("%s with scope %s: problem %+v, want type forbidden naming %s", route, scope, p, want)
				}
			}
		}
	}
	for route := range routeScopes {
		if !seen[route] {
			t.Errorf("routeScopes lists %s, which the server does not serve", route)
		}
	}
}
