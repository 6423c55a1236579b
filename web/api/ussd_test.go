package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/web"
	"github.com/simgate/simgate/web/api"
	"github.com/simgate/simgate/web/internal/webtest"
)

// ussdFn is a modem that answers USSD by a function.
type ussdFn func(ctx context.Context, imei, code string) (gateway.USSDReply, error)

func (f ussdFn) USSD(ctx context.Context, imei, code string) (gateway.USSDReply, error) {
	return f(ctx, imei, code)
}

const ussdIMEI = "490154203237518"

// TestUSSD_API: POST /api/v1/modems/{imei}/ussd answers {code, reply,
// status}, and each way it can fail is its own problem. The end-to-end run
// on a virtual modem is TestE2E_USSD in cmd/simgate.
func TestUSSD_API(t *testing.T) {
	var gotIMEI, gotCode string
	var hadDeadline bool
	modems := ussdFn(func(ctx context.Context, imei, code string) (gateway.USSDReply, error) {
		gotIMEI, gotCode = imei, code
		_, hadDeadline = ctx.Deadline()
		switch code {
		case "*100#":
			return gateway.USSDReply{Text: "Menu\n1 Balance", Status: gateway.USSDMore}, nil
		case "*1#":
			return gateway.USSDReply{}, fmt.Errorf("ussd: %w", gateway.ErrModemNotConnected)
		case "*2#":
			return gateway.USSDReply{}, fmt.Errorf("ussd: %w", gateway.ErrUSSDUnsupported)
		case "*3#":
			return gateway.USSDReply{}, fmt.Errorf("ussd: %w: %w", gateway.ErrUSSDTimeout, context.DeadlineExceeded)
		}
		return gateway.USSDReply{}, errors.New("+CME ERROR: 30 (no network service)")
	})
	svc := &webtest.FakeService{ModemsFn: func(context.Context) ([]gateway.ModemView, error) {
		return []gateway.ModemView{{ModemInfo: gateway.ModemInfo{IMEI: ussdIMEI}}}, nil
	}}
	ts := mustServer(t, svc, web.Config{Modems: modems})
	path := "/api/v1/modems/" + ussdIMEI + "/ussd"

	got := ts.Do(t, http.MethodPost, path, `{"code":"*100#"}`, webtest.Authed())
	if got.Status != http.StatusOK {
		t.Fatalf("status %d: %s", got.Status, got.Body)
	}
	webtest.AssertJSON(t, got.Body, `{"code":"*100#","reply":"Menu\n1 Balance","status":"more"}`)
	if gotIMEI != ussdIMEI || gotCode != "*100#" || !hadDeadline {
		t.Errorf("modem asked for imei %q code %q (deadline %v)", gotIMEI, gotCode, hadDeadline)
	}

	tests := []struct {
		name, path, body string
		status           int
		typ              string
	}{
		{"NotConnected", path, `{"code":"*1#"}`, http.StatusConflict, apiv1.ProblemModemNotConnected},
		{"UnknownModem", "/api/v1/modems/111111111111111/ussd", `{"code":"*1#"}`, http.StatusNotFound, apiv1.ProblemNotFound},
		{"Unsupported", path, `{"code":"*2#"}`, http.StatusUnprocessableEntity, apiv1.ProblemUSSDUnsupported},
		{"Timeout", path, `{"code":"*3#"}`, http.StatusGatewayTimeout, apiv1.ProblemUSSDTimeout},
		{"ModemError", path, `{"code":"*4#"}`, http.StatusBadGateway, apiv1.ProblemModemError},
		{"NotACode", path, `{"code":"balance"}`, http.StatusUnprocessableEntity, apiv1.ProblemValidation},
		{"Empty", path, `{"code":""}`, http.StatusUnprocessableEntity, apiv1.ProblemValidation},
		{"UnknownField", path, `{"code":"*100#","session":1}`, http.StatusBadRequest, apiv1.ProblemInvalidJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotCode = ""
			got := ts.Do(t, http.MethodPost, tt.path, tt.body, webtest.Authed())
			if p := webtest.MustProblem(t, got, tt.status); p.Type != tt.typ {
				t.Errorf("problem %+v, want type %s", p, tt.typ)
			}
			if tt.typ == apiv1.ProblemValidation && gotCode != "" {
				t.Errorf("a refused code reached the modem: %q", gotCode)
			}
		})
	}
}

// TestUSSD_APITimeoutBound: the handler gives the modem a deadline of
// USSDTimeout, not the client's patience.
func TestUSSD_APITimeoutBound(t *testing.T) {
	var left time.Duration
	modems := ussdFn(func(ctx context.Context, _, _ string) (gateway.USSDReply, error) {
		d, _ := ctx.Deadline()
		left = time.Until(d)
		return gateway.USSDReply{Text: "ok", Status: gateway.USSDDone}, nil
	})
	ts := mustServer(t, &webtest.FakeService{}, web.Config{Modems: modems})
	if got := ts.Do(t, http.MethodPost, "/api/v1/modems/"+ussdIMEI+"/ussd", `{"code":"*100#"}`, webtest.Authed()); got.Status != http.StatusOK {
		t.Fatalf("status %d: %s", got.Status, got.Body)
	}
	if left <= 0 || left > api.USSDTimeout {
		t.Errorf("deadline %v away, want within %v", left, api.USSDTimeout)
	}
}
