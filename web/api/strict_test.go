package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/web/internal/webtest"
)

// Hostile input to POST /api/v1/messages is refused with a problem that
// names what is wrong, and nothing is stored; what a client may mean
// (line breaks, a character outside the BMP as a surrogate pair) goes.
func TestStrictInput_Messages(t *testing.T) {
	s := mustTenantStack(t, gateway.ServiceConfig{})
	s.key(t, "a")
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
		detail     string
	}{
		{"repeated key", `{"to":"+12025550123","text":"a","text":"b"}`, 400, "text", "twice"},
		{"repeated key escaped", `{"to":"+12025550123","text":"a","t\u0065xt":"b"}`, 400, "text", "twice"},
		{"field name case", `{"TO":"+12025550123","text":"a"}`, 400, "TO", "case-sensitive"},
		{"field name case 2", `{"to":"+12025550123","Text":"a"}`, 400, "Text", "case-sensitive"},
		{"lone high surrogate", `{"to":"+12025550123","text":"\ud800"}`, 400, "", "surrogate"},
		{"high surrogate then letter", `{"to":"+12025550123","text":"\ud800\u0041"}`, 400, "", "surrogate"},
		{"lone low surrogate", `{"to":"+12025550123","text":"x\udc00"}`, 400, "", "surrogate"},
		{"surrogate in a key", `{"to":"+12025550123","text":"x","\udfff":1}`, 400, "", "surrogate"},
		{"NUL", `{"to":"+12025550123","text":"a\u0000b"}`, 422, "text", "U+0000"},
		{"escape", `{"to":"+12025550123","text":"\u001b[31mred"}`, 422, "text", "U+001B"},
		{"tab", `{"to":"+12025550123","text":"a\tb"}`, 422, "text", "U+0009"},
		{"DEL", `{"to":"+12025550123","text":"a\u007f"}`, 422, "text", "U+007F"},
		{"white space only", `{"to":"+12025550123","text":" \n  "}`, 422, "text", "white space"},
		{"send_at year 9999", `{"to":"+12025550123","text":"a","send_at":"9999-12-31T00:00:00Z"}`, 422, "send_at", "year"},
		{"send_at 13 months", `{"to":"+12025550123","text":"a","send_at":"2027-04-01T09:00:00Z"}`, 422, "send_at", "year"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := webtest.MustProblem(t, s.do(t, "a", "POST", "/api/v1/messages", tc.body), tc.status)
			if !strings.Contains(p.Detail, tc.detail) && (len(p.Errors) == 0 || !strings.Contains(p.Errors[0].Reason, tc.detail)) {
				t.Errorf("problem %+v does not say %q", p, tc.detail)
			}
			if tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field) {
				t.Errorf("errors %+v, want field %q", p.Errors, tc.field)
			}
		})
	}
	var l apiv1.MessageList
	if r := s.do(t, "a", "GET", "/api/v1/messages", ""); json.Unmarshal(r.Body, &l) != nil || len(l.Messages) != 0 {
		t.Fatalf("after refused requests: %s, want no message", r.Body)
	}

	for _, tc := range []struct{ name, body, text string }{
		{"surrogate pair", `{"to":"+12025550123","text":"ok \ud83d\ude00"}`, "ok 😀"},
		{"line breaks", `{"to":"+12025550123","text":"line 1\nline 2\r\nline 3"}`, "line 1\nline 2\r\nline 3"},
		{"escaped quote and backslash", `{"to":"+12025550123","text":"\"\\ud800\""}`, `"\ud800"`},
		{"send_at in 11 months", `{"to":"+12025550123","text":"later","send_at":"2027-02-01T09:00:00Z"}`, "later"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := s.id(t, "a", "/api/v1/messages", tc.body, http.StatusAccepted)
			var m apiv1.Message
			if r := s.do(t, "a", "GET", "/api/v1/messages/"+id, ""); json.Unmarshal(r.Body, &m) != nil || m.Text != tc.text {
				t.Errorf("stored text %q, want %q", m.Text, tc.text)
			}
		})
	}
}

// The OTP domain is a host name: a newline cannot add a line to the code
// SMS (finding 3), nor can anything else that is not a host.
func TestStrictInput_OTPDomain(t *testing.T) {
	s := mustTenantStack(t, gateway.ServiceConfig{})
	s.key(t, "a")
	for i, d := range []string{`example.com\nWIN.A.PRIZE.CALL.08001234567`, `example.com\r\nx`, `exa mple.com`, `example.com:443`,
		`https://example.com`, `-bad.example.com`, `example..com`, `localhost`, `exa_mple.com`, `ex\u00e4mple.com`, `example.com\u0000`} {
		body := `{"to":"+12025550123","purpose":"p` + string(rune('a'+i)) + `","domain":"` + d + `"}`
		p := webtest.MustProblem(t, s.do(t, "a", "POST", "/api/v1/otp", body), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Field != "domain" {
			t.Errorf("domain %s: errors %+v, want the domain field", d, p.Errors)
		}
	}
	s.id(t, "a", "/api/v1/otp", `{"to":"+12025550123","domain":"login.example-shop.com"}`, http.StatusCreated)
	s.id(t, "a", "/api/v1/otp", `{"to":"+12025550124","domain":"xn--bcher-kva.example"}`, http.StatusCreated)
}
