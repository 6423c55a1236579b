package kannel_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/web"
	"github.com/simgate/simgate/web/kannel"
)

const imei = "356938035643809"

// rig is the real server (package web, echo) with the Kannel adapter on a
// real gateway.Service and SQLite store, on a loopback port.
type rig struct {
	url    string
	st     *store.Store
	clock  *testkit.Clock
	secret string // the key named "shop", which may send
	reader string // the key named "reader", which may not
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := t.Context()
	r := &rig{st: testkit.OpenStore(t), clock: testkit.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))}
	svc := gateway.NewService(gateway.ServiceConfig{}, r.st, nil, r.clock, nil)
	var err error
	if r.secret, _, err = svc.CreateAPIKey(ctx, "shop", nil); err != nil {
		t.Fatal(err)
	}
	if r.reader, _, err = svc.CreateAPIKey(ctx, "reader", []string{gateway.ScopeMessagesRead}); err != nil {
		t.Fatal(err)
	}
	err = r.st.UpsertModem(ctx, gateway.ModemInfo{IMEI: imei, Port: "sim:1", State: gateway.ModemOnline, UpdatedAt: r.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	k := kannel.New(kannel.Config{SMSC: map[string]string{"office": imei}}, svc, r.st, r.clock, nil)
	srv := web.NewServer(web.Config{Kannel: k, Registry: prometheus.NewRegistry()}, svc, nil)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	r.url = ts.URL
	return r
}

// get sends query (raw, as a client writes it) and returns Kannel's answer.
func (r *rig) get(t *testing.T, rawQuery string) (int, string) {
	t.Helper()
	resp, err := http.Get(r.url + "/cgi-bin/sendsms?" + rawQuery)
	if err != nil {
		t.Fatal(err)
	}
	return readAnswer(t, resp)
}

func readAnswer(t *testing.T, resp *http.Response) (int, string) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html" {
		t.Errorf("Content-Type %q, want text/html as Kannel", ct)
	}
	return resp.StatusCode, string(b)
}

// auth is the query of the "shop" key, as username and password.
func (r *rig) auth() string {
	return "username=shop&password=" + url.QueryEscape(r.secret)
}

func (r *rig) messages(t *testing.T) []*gateway.Message {
	t.Helper()
	ms, _, err := r.st.Messages(t.Context(), gateway.MessageFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestSendsms_BadInputGetsKannelsAnswerAndQueuesNothing(t *testing.T) {
	r := newRig(t)
	ok := "&to=2025550123&text=hi"
	tests := []struct {
		name, query string
		status      int
		answer      string
	}{
		{"no credentials", "to=2025550123&text=hi", 403, "Authorization failed for sendsms"},
		{"wrong password", "username=shop&password=sg_nope" + ok, 403, "Authorization failed for sendsms"},
		{"another key's name", "username=reader&password=" + url.QueryEscape(r.secret) + ok, 403, "Authorization failed for sendsms"},
		{"key without messages:send", "username=reader&password=" + url.QueryEscape(r.reader) + ok, 403, "Authorization failed for sendsms"},
		{"no receiver", r.auth() + "&text=hi", 400, "Missing receiver number, rejected"},
		{"empty receiver", r.auth() + "&to=&text=hi", 400, "Empty receiver number not allowed, rejected"},
		{"letters in receiver", r.auth() + "&to=2025550123+abc&text=hi", 400, "Number(s) has/have been denied by white- and/or black-lists."},
		{"receiver not a number", r.auth() + "&to=12&text=hi", 400, "Number(s) has/have been denied by white- and/or black-lists."},
		{"second receiver outside the policy", r.auth() + "&to=2025550123+%2B442071838750&text=hi", 400, "Number(s) has/have been denied by white- and/or black-lists."},
		{"dlr-url not http", r.auth() + ok + "&dlr-mask=1&dlr-url=ftp%3A%2F%2Fhost%2Fx", 400, "DLR-URL field misformed, rejected"},
		{"dlr-url too short", r.auth() + ok + "&dlr-mask=1&dlr-url=http%3A%2F%2F", 400, "DLR-URL field misformed, rejected"},
		{"dlr-url to cloud metadata", r.auth() + ok + "&dlr-mask=1&dlr-url=http%3A%2F%2F169.254.169.254%2F%3Fd%3D%25d", 400, "DLR-URL field misformed, rejected"},
		{"dlr-mask too big", r.auth() + ok + "&dlr-mask=64", 400, "DLR-Mask field misformed, rejected"},
		{"mclass too big", r.auth() + ok + "&mclass=4", 400, "MClass field misformed, rejected"},
		{"coding too big", r.auth() + ok + "&coding=3", 400, "Coding field misformed, rejected"},
		{"validity negative", r.auth() + ok + "&validity=-2", 400, "Validity field misformed, rejected"},
		{"deferred negative", r.auth() + ok + "&deferred=-5", 400, "Deferred field misformed, rejected"},
		{"priority too big", r.auth() + ok + "&priority=4", 400, "Priority field misformed, rejected"},
		{"unknown charset", r.auth() + ok + "&charset=klingon", 400, "Charset or body misformed, rejected"},
		{"not UTF-8", r.auth() + "&to=2025550123&text=%FF%FE", 400, "Charset or body misformed, rejected"},
		{"odd UCS-2", r.auth() + "&to=2025550123&coding=2&text=%04", 400, "Charset or body misformed, rejected"},
		{"empty text", r.auth() + "&to=2025550123&text=", 400, "Charset or body misformed, rejected"},
		{"unknown smsc", r.auth() + ok + "&smsc=nowhere", 403, "Not routable. Do not try again."},
		{"validity past the maximum", r.auth() + ok + "&validity=700000", 400, "Validity field misformed, rejected"},
		{"UDH leaving no room", r.auth() + ok + "&udh=%8B" + strings.Repeat("%00", 139), 400, "UDH field misformed, rejected"},
		{"UDH longer than an SMS", r.auth() + ok + "&udh=%8C" + strings.Repeat("%00", 140), 400, "UDH field is too long, rejected"},
		{"8-bit without data", r.auth() + "&to=2025550123&coding=1", 400, "Charset or body misformed, rejected"},
		{"deferred past a year", r.auth() + ok + "&deferred=600000", 400, "Deferred field misformed, rejected"},
		{"UDH length byte wrong", r.auth() + ok + "&udh=%05%00%03", 400, "UDH field misformed, rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, answer := r.get(t, tt.query)
			if status != tt.status || answer != tt.answer {
				t.Errorf("= %d %q, want %d %q", status, answer, tt.status, tt.answer)
			}
		})
	}
	t.Run("POST of another content type", func(t *testing.T) {
		resp, err := http.Post(r.url+"/cgi-bin/sendsms?"+r.auth()+ok, "application/json", strings.NewReader(`{"to":"1"}`))
		if err != nil {
			t.Fatal(err)
		}
		if status, answer := readAnswer(t, resp); status != 400 || answer != "Invalid content-type" {
			t.Errorf("= %d %q", status, answer)
		}
	})
	if ms := r.messages(t); len(ms) != 0 {
		t.Errorf("%d messages queued after bad requests, want none", len(ms))
	}
}

// TestSendsms_DataSMS: coding 1 sends the text's bytes as 8-bit data,
// with a UDH it defaults to it; mclass 0 is a flash SMS; coding 2 forces
// UCS-2; validity is the TP-VP.
func TestSendsms_DataSMS(t *testing.T) {
	tests := []struct {
		name, query string
		check       func(t *testing.T, m *gateway.Message)
	}{
		{"coding 1", "&coding=1&text=%01%02%FF", func(t *testing.T, m *gateway.Message) {
			if string(m.Data) != "\x01\x02\xff" || m.Text != "" || m.Encoding != "8bit" {
				t.Errorf("data %x text %q encoding %s", m.Data, m.Text, m.Encoding)
			}
		}},
		{"a UDH makes it 8-bit", "&udh=%06%05%04%0B%84%23%F0&text=%CA%FE", func(t *testing.T, m *gateway.Message) {
			if string(m.UDH) != "\x06\x05\x04\x0b\x84\x23\xf0" || string(m.Data) != "\xca\xfe" || m.Encoding != "8bit" {
				t.Errorf("udh %x data %x encoding %s", m.UDH, m.Data, m.Encoding)
			}
		}},
		{"mclass 0 is flash", "&mclass=0&text=look", func(t *testing.T, m *gateway.Message) {
			if !m.Flash || m.Text != "look" {
				t.Errorf("flash %v text %q", m.Flash, m.Text)
			}
		}},
		{"mclass 1 goes without a class", "&mclass=1&text=plain", func(t *testing.T, m *gateway.Message) {
			if m.Flash {
				t.Error("flash")
			}
		}},
		{"coding 2 forces UCS-2", "&coding=2&text=%00h%00i", func(t *testing.T, m *gateway.Message) {
			if m.Text != "hi" || m.Encoding != "ucs2" {
				t.Errorf("text %q encoding %s", m.Text, m.Encoding)
			}
		}},
		{"validity is the TP-VP", "&validity=90&text=soon", func(t *testing.T, m *gateway.Message) {
			if m.Validity != 90*time.Minute {
				t.Errorf("validity %v, want 90 min", m.Validity)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			if status, answer := r.get(t, r.auth()+"&to=2025550123"+tt.query); status != 202 || answer != "0: Accepted for delivery" {
				t.Fatalf("= %d %q", status, answer)
			}
			tt.check(t, only(t, r.messages(t)))
		})
	}
}

func TestSendsms_Accepted(t *testing.T) {
	tests := []struct {
		name, query, answer string
		check               func(t *testing.T, r *rig, ms []*gateway.Message)
	}{
		{"plain GET", "&to=2025550123&text=Hello+world", "0: Accepted for delivery", func(t *testing.T, r *rig, ms []*gateway.Message) {
			m := only(t, ms)
			if m.To != "+12025550123" || m.Text != "Hello world" || m.Priority != gateway.PriorityNormal || m.StatusReport || m.Pin != "" {
				t.Errorf("message %+v", m)
			}
		}},
		{"several receivers, spaces and +", "&to=2025550123+%2B12025550124%202025550125&text=hi", "0: Accepted for delivery", func(t *testing.T, r *rig, ms []*gateway.Message) {
			got := map[string]bool{}
			for _, m := range ms {
				got[m.To] = true
			}
			if len(ms) != 3 || !got["+12025550123"] || !got["+12025550124"] || !got["+12025550125"] {
				t.Errorf("messages to %v, want the three receivers", got)
			}
		}},
		{"deferred", "&to=2025550123&text=later&deferred=10", "3: Queued for later delivery", func(t *testing.T, r *rig, ms []*gateway.Message) {
			if m := only(t, ms); !m.SendAt.Equal(r.clock.Now().Add(10 * time.Minute)) {
				t.Errorf("send_at %v, want now + 10 min", m.SendAt)
			}
		}},
		{"priority 3 is the high lane", "&to=2025550123&text=hi&priority=3", "0: Accepted for delivery", func(t *testing.T, r *rig, ms []*gateway.Message) {
			if m := only(t, ms); m.Priority != gateway.PriorityHigh {
				t.Errorf("priority %v", m.Priority)
			}
		}},
		{"priority 0 is low", "&to=2025550123&text=hi&priority=0", "0: Accepted for delivery", func(t *testing.T, r *rig, ms []*gateway.Message) {
			if m := only(t, ms); m.Priority != gateway.PriorityLow {
				t.Errorf("priority %v", m.Priority)
			}
		}},
		{"smsc by configured name", "&to=2025550123&text=hi&smsc=office", "0: Accepted for delivery", pinned},
		{"smsc by IMEI", "&to=2025550123&text=hi&smsc=" + imei, "0: Accepted for delivery", pinned},
		{"smsc by port", "&to=2025550123&text=hi&smsc=sim%3A1", "0: Accepted for delivery", pinned},
		{"UCS-2 without charset is UTF-16BE", "&to=2025550123&coding=2&text=%04%1F%04%40%04%38", "0: Accepted for delivery", text("При")},
		{"charset ISO-8859-1", "&to=2025550123&charset=ISO-8859-1&text=caf%E9", "0: Accepted for delivery", text("café")},
		{"charset windows-1252", "&to=2025550123&charset=windows-1252&text=%805", "0: Accepted for delivery", text("€5")},
		{"charset UTF-16LE under coding 2", "&to=2025550123&coding=2&charset=UTF-16LE&text=h%00i%00", "0: Accepted for delivery", text("hi")},
		{"dlr-mask asks for reports", "&to=2025550123&text=hi&dlr-mask=3&dlr-url=http%3A%2F%2F127.0.0.1%2Fdlr%3Ft%3D%25d", "0: Accepted for delivery",
			func(t *testing.T, r *rig, ms []*gateway.Message) {
				m := only(t, ms)
				if !m.StatusReport {
					t.Error("no status report asked for; dlr-mask 3 wants one")
				}
				regs, err := r.st.MessageCallbacks(t.Context(), kannel.Kind, []string{m.ID})
				var reg map[string]any
				if err == nil {
					err = json.Unmarshal(regs[m.ID], &reg)
				}
				if err != nil || reg["url"] != "http://127.0.0.1/dlr?t=%d" || reg["mask"] != 3.0 || reg["to"] != "2025550123" {
					t.Errorf("registration %s (%v)", regs[m.ID], err)
				}
			}},
		{"non-numeric fields are Kannel's undefined", "&to=2025550123&text=hi&dlr-mask=x&priority=high&deferred=", "0: Accepted for delivery", func(t *testing.T, r *rig, ms []*gateway.Message) {
			if m := only(t, ms); m.StatusReport || m.Priority != gateway.PriorityNormal || !m.SendAt.IsZero() {
				t.Errorf("message %+v", m)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			status, answer := r.get(t, r.auth()+tt.query)
			if status != 202 || answer != tt.answer {
				t.Fatalf("= %d %q, want 202 %q", status, answer, tt.answer)
			}
			tt.check(t, r, r.messages(t))
		})
	}
}

func TestSendsms_POSTForm(t *testing.T) {
	r := newRig(t)
	form := url.Values{"user": {"shop"}, "pass": {r.secret}, "to": {"+12025550123 +12025550124"}, "text": {"über"}}
	resp, err := http.PostForm(r.url+"/cgi-bin/sendsms", form)
	if err != nil {
		t.Fatal(err)
	}
	if status, answer := readAnswer(t, resp); status != 202 || answer != "0: Accepted for delivery" {
		t.Fatalf("= %d %q", status, answer)
	}
	if ms := r.messages(t); len(ms) != 2 || ms[0].Text != "über" || ms[1].Text != "über" {
		t.Errorf("messages %+v, want two with the text", ms)
	}
}

// TestSendsms_KannelPOST: Kannel's own POST, the text as the body and
// the rest in X-Kannel-* headers.
func TestSendsms_KannelPOST(t *testing.T) {
	r := newRig(t)
	post := func(ctype, body string, hdr map[string]string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, r.url+"/cgi-bin/sendsms", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ctype)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return readAnswer(t, resp)
	}
	auth := map[string]string{"X-Kannel-Username": "shop", "X-Kannel-Password": r.secret}
	if status, answer := post("text/plain", "hi", auth); status != 400 || answer != "Missing receiver(s) number(s), rejected" {
		t.Errorf("without X-Kannel-To: %d %q", status, answer)
	}
	if ms := r.messages(t); len(ms) != 0 {
		t.Fatalf("%d messages queued by a refused request", len(ms))
	}
	hdr := map[string]string{"X-Kannel-Username": "shop", "X-Kannel-Password": r.secret, "X-Kannel-To": "2025550123",
		"X-Kannel-Priority": "2", "X-Kannel-SMSC": "office"}
	if status, answer := post("text/plain; charset=ISO-8859-1", "caf\xe9", hdr); status != 202 || answer != "0: Accepted for delivery" {
		t.Fatalf("= %d %q", status, answer)
	}
	if m := only(t, r.messages(t)); m.Text != "café" || m.To != "+12025550123" || m.Priority != gateway.PriorityHigh || m.Pin != imei {
		t.Errorf("message %+v", m)
	}
	binary := map[string]string{"X-Kannel-Username": "shop", "X-Kannel-Password": r.secret, "X-Kannel-To": "2025550124",
		"X-Kannel-UDH": "0605040B8423F0"}
	if status, answer := post("application/octet-stream", "\x01\x02", binary); status != 202 || answer != "0: Accepted for delivery" {
		t.Fatalf("8-bit body: %d %q", status, answer)
	}
	ms, _, err := r.st.Messages(t.Context(), gateway.MessageFilter{To: "+12025550124", Limit: 10})
	if err != nil || len(ms) != 1 || string(ms[0].Data) != "\x01\x02" || string(ms[0].UDH) != "\x06\x05\x04\x0b\x84\x23\xf0" {
		t.Errorf("8-bit message %+v (%v); want the body as data, the hex UDH", ms, err)
	}
}

func only(t *testing.T, ms []*gateway.Message) *gateway.Message {
	t.Helper()
	if len(ms) != 1 {
		t.Fatalf("%d messages, want 1", len(ms))
	}
	return ms[0]
}

func pinned(t *testing.T, _ *rig, ms []*gateway.Message) {
	if m := only(t, ms); m.Pin != imei {
		t.Errorf("pinned to %q, want %s", m.Pin, imei)
	}
}

func text(want string) func(t *testing.T, r *rig, ms []*gateway.Message) {
	return func(t *testing.T, _ *rig, ms []*gateway.Message) {
		if m := only(t, ms); m.Text != want {
			t.Errorf("text %q, want %q", m.Text, want)
		}
	}
}
