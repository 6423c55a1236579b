package smsgate_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/web/smsgate"
	"github.com/simgate/simgate/webhook"
)

// The adapter is tested on the real gateway.Service, a real SQLite store
// and the real Notifier, served by echo on loopback. No dispatcher runs:
// what is accepted stays queued, where the tests can count it.

const (
	imei1 = "350000000000014"
	imei2 = "350000000000022"
)

type rig struct {
	t    *testing.T
	svc  *gateway.Service
	db   *store.Store
	url  string
	user string
	key  string
}

func newRig(t *testing.T, scopes ...string) *rig {
	t.Helper()
	ctx := t.Context()
	db := testkit.OpenStore(t)
	now := time.Now()
	for _, imei := range []string{imei2, imei1} {
		if err := db.UpsertModem(ctx, gateway.ModemInfo{IMEI: imei, State: gateway.ModemOnline, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	svc := gateway.NewService(gateway.ServiceConfig{}, db, nil, nil, nil)
	key, _, err := svc.CreateAPIKey(ctx, "shop", scopes)
	if err != nil {
		t.Fatal(err)
	}
	n := webhook.New(webhook.Config{Formats: map[string]webhook.Formatter{gateway.WebhookSMSGate: smsgate.NewFormatter(db, db)}},
		db, gateway.SystemClock{}, nil)
	a := smsgate.New(smsgate.Config{Service: svc, Groups: db, Webhooks: n, Version: "test"})
	e := echo.New()
	a.Routes(e.Group(smsgate.Prefix))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &rig{t: t, svc: svc, db: db, url: srv.URL + smsgate.Prefix, user: "shop", key: key}
}

// as is the rig with another key, name, of scopes.
func (r *rig) as(name string, scopes ...string) *rig {
	r.t.Helper()
	key, _, err := r.svc.CreateAPIKey(r.t.Context(), name, scopes)
	if err != nil {
		r.t.Fatal(err)
	}
	o := *r
	o.user, o.key = name, key
	return &o
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (r *rig) do(method, path, body string) answer {
	r.t.Helper()
	req, err := http.NewRequest(method, r.url+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.SetBasicAuth(r.user, r.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func (a answer) message(t *testing.T) string {
	t.Helper()
	var e struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(a.body, &e); err != nil || e.Message == "" {
		t.Fatalf("answer %d %s is not SMSGate's error shape", a.status, a.body)
	}
	return e.Message
}

func (r *rig) queued() int {
	r.t.Helper()
	msgs, _, err := r.db.Messages(r.t.Context(), gateway.MessageFilter{Limit: 500})
	if err != nil {
		r.t.Fatal(err)
	}
	return len(msgs)
}

func TestSend_BadInputQueuesNothing(t *testing.T) {
	r := newRig(t)
	many := `"+12025550101"` + strings.Repeat(`,"+12025550101"`, 100)
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"broken JSON", `{"message":`, 400, "not valid JSON"},
		{"wrong type", `{"message":"hi","phoneNumbers":"+12025550101"}`, 400, "phoneNumbers"},
		{"no text", `{"phoneNumbers":["+12025550101"]}`, 400, "exactly one of"},
		{"two texts", `{"message":"a","textMessage":{"text":"b"},"phoneNumbers":["+12025550101"]}`, 400, "exactly one of"},
		{"data not base64", `{"dataMessage":{"data":"*","port":53739},"phoneNumbers":["+12025550101"]}`, 400, "dataMessage.data"},
		{"data empty", `{"dataMessage":{"data":"","port":53739},"phoneNumbers":["+12025550101"]}`, 400, "dataMessage.data"},
		{"data without port", `{"dataMessage":{"data":"AAE="},"phoneNumbers":["+12025550101"]}`, 400, "dataMessage.port"},
		{"data port", `{"dataMessage":{"data":"AAE=","port":65536},"phoneNumbers":["+12025550101"]}`, 400, "dataMessage.port"},
		{"no numbers", `{"message":"hi","phoneNumbers":[]}`, 400, "at least one number"},
		{"101 numbers", `{"message":"hi","phoneNumbers":[` + many + `]}`, 400, "more than the limit of 100"},
		{"one bad number of two", `{"message":"hi","phoneNumbers":["+12025550101","12"]}`, 400, "phoneNumbers[1]"},
		{"empty text", `{"textMessage":{"text":""},"phoneNumbers":["+12025550101"]}`, 400, "text"},
		{"priority", `{"message":"hi","phoneNumbers":["+12025550101"],"priority":200}`, 400, "priority"},
		{"ttl and validUntil", `{"message":"hi","phoneNumbers":["+12025550101"],"ttl":60,"validUntil":"2099-01-01T00:00:00Z"}`, 400, "conflict"},
		{"validUntil past", `{"message":"hi","phoneNumbers":["+12025550101"],"validUntil":"2001-01-01T00:00:00Z"}`, 400, "validUntil"},
		{"simNumber", `{"message":"hi","phoneNumbers":["+12025550101"],"simNumber":3}`, 400, "simNumber"},
		{"deviceId", `{"message":"hi","phoneNumbers":["+12025550101"],"deviceId":"nope"}`, 400, "deviceId"},
		{"sim and device disagree", `{"message":"hi","phoneNumbers":["+12025550101"],"simNumber":1,"deviceId":"` + imei2 + `"}`, 400, "simNumber 1"},
		{"id too long", `{"id":"` + strings.Repeat("x", 37) + `","message":"hi","phoneNumbers":["+12025550101"]}`, 400, "id"},
		{"encrypted", `{"message":"hi","phoneNumbers":["+12025550101"],"isEncrypted":true}`, 400, "encrypted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := r.do(http.MethodPost, "/messages", tt.body)
			if a.status != tt.status {
				t.Fatalf("status %d (%s), want %d", a.status, a.body, tt.status)
			}
			if msg := a.message(t); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q, want it to mention %q", msg, tt.want)
			}
			if n := r.queued(); n != 0 {
				t.Errorf("%d messages queued after a refused request", n)
			}
		})
	}
}

func TestSend_SeveralRecipientsTrackedTogether(t *testing.T) {
	r := newRig(t)
	a := r.do(http.MethodPost, "/message", `{"id":"order-17","textMessage":{"text":"Your order shipped"},
		"phoneNumbers":["+12025550101","(202) 555-0102","+12025550103"],"simNumber":1,"priority":100}`)
	if a.status != http.StatusAccepted || a.header.Get("Location") != smsgate.Prefix+"/messages/order-17" {
		t.Fatalf("send: %d %s, Location %q", a.status, a.body, a.header.Get("Location"))
	}
	if n := r.queued(); n != 3 {
		t.Fatalf("%d messages queued, want one per recipient", n)
	}
	msgs, _, _ := r.db.Messages(t.Context(), gateway.MessageFilter{Limit: 10})
	for _, m := range msgs {
		if m.Pin != imei1 || m.Priority != gateway.PriorityHigh {
			t.Errorf("message %s: pin %q priority %v, want simNumber 1 = %s (lowest IMEI), high lane", m.ID, m.Pin, m.Priority, imei1)
		}
	}
	got := r.do(http.MethodGet, "/messages/order-17", "")
	var st struct {
		ID         string `json:"id"`
		State      string `json:"state"`
		Recipients []struct {
			PhoneNumber string `json:"phoneNumber"`
			State       string `json:"state"`
		} `json:"recipients"`
		States map[string]string `json:"states"`
	}
	if err := json.Unmarshal(got.body, &st); err != nil || got.status != 200 {
		t.Fatalf("get: %d %s", got.status, got.body)
	}
	if st.ID != "order-17" || st.State != "Pending" || len(st.Recipients) != 3 || st.Recipients[1].PhoneNumber != "+12025550102" ||
		st.States["Pending"] == "" {
		t.Errorf("state %s", got.body)
	}

	dup := r.do(http.MethodPost, "/messages", `{"id":"order-17","message":"again","phoneNumbers":["+12025550104"]}`)
	if dup.status != http.StatusConflict || !strings.Contains(dup.message(t), "order-17") {
		t.Errorf("same id again: %d %s, want 409", dup.status, dup.body)
	}
	if n := r.queued(); n != 3 {
		t.Errorf("%d messages after the duplicate, want 3", n)
	}

	r.do(http.MethodPost, "/messages", `{"message":"second","phoneNumbers":["+12025550104"]}`)
	list := r.do(http.MethodGet, "/messages?limit=1", "")
	if list.status != 200 || list.header.Get("X-Total-Count") != "2" || strings.Count(string(list.body), `"recipients"`) != 1 {
		t.Errorf("list limit=1: %d total %q %s", list.status, list.header.Get("X-Total-Count"), list.body)
	}
	if bad := r.do(http.MethodGet, "/messages?state=Done", ""); bad.status != 400 {
		t.Errorf("state=Done: %d %s, want 400", bad.status, bad.body)
	}
}

func TestCancel(t *testing.T) {
	r := newRig(t)
	r.do(http.MethodPost, "/messages", `{"id":"c1","message":"hi","phoneNumbers":["+12025550101","+12025550102"]}`)
	if a := r.do(http.MethodDelete, "/messages/c1", ""); a.status != http.StatusNoContent {
		t.Fatalf("cancel: %d %s", a.status, a.body)
	}
	if a := r.do(http.MethodGet, "/messages/c1", ""); !strings.Contains(string(a.body), `"state":"Cancelled"`) {
		t.Errorf("after cancel: %s", a.body)
	}
	if a := r.do(http.MethodDelete, "/messages/c1", ""); a.status != http.StatusConflict {
		t.Errorf("cancel again: %d %s, want 409", a.status, a.body)
	}
	if a := r.do(http.MethodDelete, "/messages/nope", ""); a.status != http.StatusNotFound {
		t.Errorf("cancel unknown: %d %s, want 404", a.status, a.body)
	}
}

func TestAuth(t *testing.T) {
	r := newRig(t, gateway.ScopeMessagesRead)
	good := r.do(http.MethodGet, "/messages", "")
	if good.status != 200 {
		t.Fatalf("name and key: %d %s", good.status, good.body)
	}
	r.user = "other"
	if a := r.do(http.MethodGet, "/messages", ""); a.status != 401 || a.header.Get("WWW-Authenticate") == "" {
		t.Errorf("another name with the key: %d %s", a.status, a.body)
	}
	r.user, r.key = "shop", "wrong"
	if a := r.do(http.MethodGet, "/messages", ""); a.status != 401 {
		t.Errorf("wrong key: %d %s", a.status, a.body)
	}
	r2 := newRig(t, gateway.ScopeMessagesRead)
	if a := r2.do(http.MethodPost, "/messages", `{"message":"hi","phoneNumbers":["+12025550101"]}`); a.status != 403 {
		t.Errorf("send without messages:send: %d %s", a.status, a.body)
	}
	if n := r2.queued(); n != 0 {
		t.Errorf("%d queued by a key without the scope", n)
	}
}

func TestWebhooks_RegisterReplaceDelete(t *testing.T) {
	r := newRig(t)
	for _, bad := range []struct{ body, want string }{
		{`{"url":"http://127.0.0.1:9/h","event":"system:ping"}`, "not supported"},
		{`{"url":"http://127.0.0.1:9/h","event":"sms:nope"}`, "sms:received"},
		{`{"url":"ftp://127.0.0.1/h","event":"sms:sent"}`, "url"},
		{`{"url":"http://169.254.169.254/h","event":"sms:sent"}`, "link-local"},
	} {
		if a := r.do(http.MethodPost, "/webhooks", bad.body); a.status != 400 || !strings.Contains(a.message(t), bad.want) {
			t.Errorf("%s: %d %s, want 400 mentioning %q", bad.body, a.status, a.body, bad.want)
		}
	}
	a := r.do(http.MethodPost, "/webhooks", `{"id":"hook-1","url":"http://127.0.0.1:9/a","event":"sms:sent"}`)
	if a.status != http.StatusCreated || !strings.Contains(string(a.body), `"signingKey"`) {
		t.Fatalf("register: %d %s", a.status, a.body)
	}
	// The same id replaces it, as SMSGate does.
	r.do(http.MethodPost, "/webhooks", `{"id":"hook-1","url":"http://127.0.0.1:9/b","event":"sms:failed"}`)
	list := r.do(http.MethodGet, "/webhooks", "")
	var hooks []struct{ ID, URL, Event string }
	if err := json.Unmarshal(list.body, &hooks); err != nil || len(hooks) != 1 || hooks[0].URL != "http://127.0.0.1:9/b" ||
		hooks[0].Event != "sms:failed" || hooks[0].ID != "hook-1" {
		t.Fatalf("list after replace: %s", list.body)
	}
	if a := r.do(http.MethodDelete, "/webhooks/hook-1", ""); a.status != http.StatusNoContent {
		t.Errorf("delete: %d %s", a.status, a.body)
	}
	if a := r.do(http.MethodDelete, "/webhooks/hook-1", ""); a.status != http.StatusNotFound {
		t.Errorf("delete again: %d %s", a.status, a.body)
	}
	if a := r.do(http.MethodGet, "/webhooks", ""); strings.TrimSpace(string(a.body)) != "[]" {
		t.Errorf("list after delete: %s", a.body)
	}
}

// TestFormatter_EnvelopeAndSignature shapes an outbox row the way the
// Notifier hands it over and checks SMSGate's envelope and X-Signature.
func TestFormatter_EnvelopeAndSignature(t *testing.T) {
	r := newRig(t)
	r.do(http.MethodPost, "/messages", `{"id":"g1","message":"hi","phoneNumbers":["+12025550101","+12025550102"]}`)
	msgs, _, _ := r.db.Messages(t.Context(), gateway.MessageFilter{Limit: 10})
	m := msgs[0]
	m.Status, m.Modem = gateway.StatusSent, imei2
	at := time.Date(2026, 12, 2, 3, 4, 5, 0, time.UTC)
	data, _ := json.Marshal(gateway.NewMessageEventData(m))
	payload, _ := json.Marshal(map[string]any{"type": gateway.EventMessageSent, "timestamp": at, "data": json.RawMessage(data)})
	d := gateway.WebhookDelivery{EventID: "evt_1", Format: gateway.WebhookSMSGate, ExternalID: "hook-9",
		Secret: "whsec_c2VjcmV0", Event: gateway.EventMessageSent, Payload: payload}
	body, h, err := smsgate.NewFormatter(r.db, r.db).Format(context.Background(), d, at.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"deviceId":"` + imei2 + `","event":"sms:sent","id":"evt_1","payload":{"messageId":"g1","phoneNumber":"` + m.To +
		`","simNumber":2,"partsCount":1,"sentAt":"2026-12-02T03:04:05Z"},"webhookId":"hook-9"}`
	if string(body) != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	ts := h.Get("X-Timestamp")
	mac := hmac.New(sha256.New, []byte("c2VjcmV0"))
	mac.Write(body)
	mac.Write([]byte(ts))
	if ts != "1796180646" || h.Get("X-Signature") != hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("X-Timestamp %q X-Signature %q", ts, h.Get("X-Signature"))
	}
	d.Payload = []byte(`{"type":"otp.approved","timestamp":"2026-12-02T03:04:05Z","data":{}}`)
	if _, _, err := smsgate.NewFormatter(r.db, r.db).Format(context.Background(), d, at); err == nil {
		t.Error("an event SMSGate has no webhook for was shaped")
	}
}

// TestFormatter_Received: a text SMS is sms:received, one with data or a
// port sms:data-received, each with SMSGate's fields.
func TestFormatter_Received(t *testing.T) {
	r := newRig(t)
	at := time.Date(2026, 12, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct{ data, want string }{
		{`{"id":"in_1","from":"+12025550109","text":"hi","modem":"` + imei1 + `","received_at":"2026-12-02T03:04:05Z"}`,
			`{"deviceId":"` + imei1 + `","event":"sms:received","id":"evt_2","payload":{"messageId":"in_1","message":"hi","phoneNumber":"+12025550109","simNumber":1,"receivedAt":"2026-12-02T03:04:05Z"},"webhookId":"h"}`},
		{`{"id":"in_2","from":"+12025550109","data":"AAE=","port":2948,"modem":"` + imei1 + `","received_at":"2026-12-02T03:04:05Z"}`,
			`{"deviceId":"` + imei1 + `","event":"sms:data-received","id":"evt_2","payload":{"messageId":"in_2","data":"AAE=","phoneNumber":"+12025550109","simNumber":1,"receivedAt":"2026-12-02T03:04:05Z"},"webhookId":"h"}`},
	} {
		payload, _ := json.Marshal(map[string]any{"type": gateway.EventSMSReceived, "timestamp": at, "data": json.RawMessage(tt.data)})
		d := gateway.WebhookDelivery{EventID: "evt_2", Format: gateway.WebhookSMSGate, ExternalID: "h", Secret: "whsec_k", Payload: payload}
		body, _, err := smsgate.NewFormatter(r.db, r.db).Format(context.Background(), d, at)
		if err != nil || string(body) != tt.want {
			t.Errorf("body %s (%v)\nwant %s", body, err, tt.want)
		}
	}
}

// TestTenancy: a key sees neither another key's messages nor its webhooks,
// and may use the same ids; an admin sees both.
func TestTenancy(t *testing.T) {
	shop := newRig(t)
	crm := shop.as("crm")
	admin := shop.as("root", gateway.ScopeAdmin)
	shop.do(http.MethodPost, "/messages", `{"id":"same","message":"a","phoneNumbers":["+12025550101"]}`)
	if a := crm.do(http.MethodGet, "/messages/same", ""); a.status != http.StatusNotFound {
		t.Errorf("another key's message: %d %s", a.status, a.body)
	}
	if a := crm.do(http.MethodDelete, "/messages/same", ""); a.status != http.StatusNotFound {
		t.Errorf("cancel another key's message: %d %s", a.status, a.body)
	}
	if a := crm.do(http.MethodPost, "/messages", `{"id":"same","message":"b","phoneNumbers":["+12025550102"]}`); a.status != http.StatusAccepted {
		t.Errorf("the same id under another key: %d %s", a.status, a.body)
	}
	if a := crm.do(http.MethodGet, "/messages", ""); a.header.Get("X-Total-Count") != "1" {
		t.Errorf("crm's list: total %q %s", a.header.Get("X-Total-Count"), a.body)
	}
	if a := admin.do(http.MethodGet, "/messages", ""); a.header.Get("X-Total-Count") != "2" {
		t.Errorf("admin's list: total %q %s", a.header.Get("X-Total-Count"), a.body)
	}
	shop.do(http.MethodPost, "/webhooks", `{"id":"h","url":"http://127.0.0.1:9/shop","event":"sms:sent"}`)
	if a := crm.do(http.MethodGet, "/webhooks", ""); strings.TrimSpace(string(a.body)) != "[]" {
		t.Errorf("crm sees %s", a.body)
	}
	if a := crm.do(http.MethodDelete, "/webhooks/h", ""); a.status != http.StatusNotFound {
		t.Errorf("crm deletes shop's webhook: %d %s", a.status, a.body)
	}
	if a := shop.do(http.MethodGet, "/webhooks", ""); !strings.Contains(string(a.body), `"id":"h"`) {
		t.Errorf("shop's webhook after crm's attempt: %s", a.body)
	}
}

// TestSend_DataMessage: dataMessage is 8-bit data to an application port.
func TestSend_DataMessage(t *testing.T) {
	r := newRig(t)
	a := r.do(http.MethodPost, "/messages", `{"id":"d1","dataMessage":{"data":"AAEC/w==","port":53739},"phoneNumbers":["+12025550101"]}`)
	if a.status != http.StatusAccepted {
		t.Fatalf("send: %d %s", a.status, a.body)
	}
	msgs, _, _ := r.db.Messages(t.Context(), gateway.MessageFilter{Limit: 10})
	if len(msgs) != 1 || string(msgs[0].Data) != "\x00\x01\x02\xff" || msgs[0].Ports == nil || msgs[0].Ports.Dest != 53739 ||
		msgs[0].Text != "" || msgs[0].Encoding != "8bit" {
		t.Errorf("stored %+v", msgs)
	}
	if a := r.do(http.MethodPost, "/webhooks", `{"url":"http://127.0.0.1:9/d","event":"sms:data-received"}`); a.status != http.StatusCreated {
		t.Errorf("register sms:data-received: %d %s", a.status, a.body)
	}
}
