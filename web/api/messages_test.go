package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/web"
	"github.com/simgate/simgate/web/internal/webtest"
)

// A zone other than UTC, so that the tests see the conversion to UTC.
var paris = time.FixedZone("CET", 3600)

func sampleMessage() *gateway.Message {
	return &gateway.Message{
		ID:           "msg_01JNQ8ZK3X7Y2B4C6D8E0F1G2H",
		To:           "+12025550123",
		Text:         "Réunion à 15 h",
		Encoding:     "ucs2",
		Segments:     2,
		Priority:     gateway.PriorityHigh,
		StatusReport: true,
		Status:       gateway.StatusSent,
		Modem:        "356938035643809",
		APIKey:       webtest.KeyName,
		CreatedAt:    time.Date(2026, 3, 1, 11, 0, 0, 0, paris),
		ExpiresAt:    time.Date(2026, 3, 1, 12, 0, 0, 0, paris),
		SentAt:       time.Date(2026, 3, 1, 11, 0, 2, 500_000_000, paris),
		Parts: []gateway.Part{
			{Index: 1, Status: gateway.StatusDelivered, MR: 17, HasMR: true, SentAt: time.Date(2026, 3, 1, 11, 0, 1, 0, paris), DeliveredAt: time.Date(2026, 3, 1, 11, 0, 9, 0, paris)},
			{Index: 2, Status: gateway.StatusSent, MR: 0, HasMR: true, SentAt: time.Date(2026, 3, 1, 11, 0, 2, 500_000_000, paris)},
		},
	}
}

const sampleMessageJSON = `{
	"id": "msg_01JNQ8ZK3X7Y2B4C6D8E0F1G2H", "status": "sent", "to": "+12025550123",
	"text": "Réunion à 15 h", "segments": 2, "encoding": "ucs2", "modem": "356938035643809",
	"priority": "high", "status_report": true,
	"created_at": "2026-03-01T10:00:00Z", "send_at": null, "expires_at": "2026-03-01T11:00:00Z",
	"sent_at": "2026-03-01T10:00:02.5Z", "delivered_at": null,
	"parts": [
		{"index": 1, "status": "delivered", "mr": 17, "sent_at": "2026-03-01T10:00:01Z", "delivered_at": "2026-03-01T10:00:09Z"},
		{"index": 2, "status": "sent", "mr": 0, "sent_at": "2026-03-01T10:00:02.5Z", "delivered_at": null}
	]
}`

func TestRoutes_OK(t *testing.T) {
	failed := &gateway.Message{
		ID: "msg_01JNQ90000000000000000000A", To: "+12025550188", Text: "x", Encoding: "gsm7", Segments: 1,
		Priority: gateway.PriorityLow, Status: gateway.StatusFailed, Error: "CMS ERROR 38: network out of order",
		CreatedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		Parts:     []gateway.Part{{Index: 1, Status: gateway.StatusFailed, Error: "CMS ERROR 38: network out of order"}},
	}
	canceled := &gateway.Message{
		ID: "msg_01JNQ90000000000000000000B", To: "+12025550199", Text: "later", Encoding: "gsm7", Segments: 1,
		Priority: gateway.PriorityNormal, Status: gateway.StatusCanceled,
		CreatedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), SendAt: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		Parts: []gateway.Part{{Index: 1, Status: gateway.StatusCanceled}},
	}
	svc := &webtest.FakeService{
		SendFn: func(_ context.Context, r gateway.SendRequest) (*gateway.Message, bool, error) {
			return &gateway.Message{ID: "msg_01JNQ8ZK3X7Y2B4C6D8E0F1G2H", Status: gateway.StatusQueued, To: "+12025550123", Segments: 1, Encoding: "gsm7"}, false, nil
		},
		MessageFn: func(_ context.Context, id string) (*gateway.Message, error) {
			if id != "msg_01JNQ8ZK3X7Y2B4C6D8E0F1G2H" {
				return nil, fmt.Errorf("message %s: %w", id, gateway.ErrNotFound)
			}
			return sampleMessage(), nil
		},
		MessagesFn: func(_ context.Context, f gateway.MessageFilter) ([]*gateway.Message, string, error) {
			if f.Cursor == "" {
				return []*gateway.Message{failed}, "c2", nil
			}
			return []*gateway.Message{}, "", nil
		},
		CancelFn: func(context.Context, string) (*gateway.Message, error) { return canceled, nil },
		InboxFn: func(context.Context, time.Time, int) ([]*gateway.InboundMessage, error) {
			return []*gateway.InboundMessage{{
				ID: "in_01JNQ8ZK3X7Y2B4C6D8E0F1G2H", Modem: "356938035643809", From: "+12025550142",
				Text: "STOP", Parts: 1, ReceivedAt: time.Date(2026, 3, 1, 11, 30, 0, 0, paris),
			}}, nil
		},
		ModemsFn: func(context.Context) ([]gateway.ModemView, error) {
			return []gateway.ModemView{
				{
					ModemInfo: gateway.ModemInfo{
						IMEI: "356938035643809", Port: "/dev/ttyUSB2", Manufacturer: "Quectel", Model: "EC25",
						Operator: "Fictional Mobile", Registration: "home", CSQ: 20, DBM: -73, Bars: 3, SignalKnown: true,
						State: gateway.ModemOnline,
						Balance: &gateway.Balance{Amount: 4.5, Reply: "Balance 4.50 EUR", Threshold: 5, HasThreshold: true, Low: true,
							CheckedAt: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)},
					},
					ModemCounters: gateway.ModemCounters{QueueDepth: 4, Sent: 120, Failed: 2},
					PausedUntil:   time.Date(2026, 3, 1, 10, 31, 0, 0, time.UTC),
					PauseReason:   "+CMS ERROR: 332 (network timeout)",
				},
				{
					ModemInfo:     gateway.ModemInfo{IMEI: "356938035643817", Port: "/dev/ttyUSB5", State: gateway.ModemNoSIM, LastError: "+CME ERROR: 10"},
					ModemCounters: gateway.ModemCounters{},
				},
			}, nil
		},
	}
	ts := mustServer(t, svc, web.Config{Version: "1.2.3"})

	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		want                     string
	}{
		{"Send", "POST", "/api/v1/messages", `{"to":"+12025550123","text":"hello"}`, webtest.Authed(), 202,
			`{"id":"msg_01JNQ8ZK3X7Y2B4C6D8E0F1G2H","status":"queued","to":"+12025550123","segments":1,"encoding":"gsm7"}`},
		{"GetMessage", "GET", "/api/v1/messages/msg_01JNQ8ZK3X7Y2B4C6D8E0F1G2H", "", webtest.Authed(), 200, sampleMessageJSON},
		{"ListMessages", "GET", "/api/v1/messages?status=failed&limit=1", "", webtest.Authed(), 200, `{
			"messages": [{
				"id": "msg_01JNQ90000000000000000000A", "status": "failed", "to": "+12025550188", "text": "x",
				"segments": 1, "encoding": "gsm7", "modem": null, "priority": "low", "status_report": false,
				"created_at": "2026-03-01T09:00:00Z", "send_at": null, "expires_at": null, "sent_at": null, "delivered_at": null,
				"error": "CMS ERROR 38: network out of order",
				"parts": [{"index": 1, "status": "failed", "mr": null, "sent_at": null, "delivered_at": null, "error": "CMS ERROR 38: network out of order"}]
			}],
			"next_cursor": "c2"}`},
		{"ListMessagesLastPage", "GET", "/api/v1/messages?cursor=c2", "", webtest.Authed(), 200, `{"messages":[],"next_cursor":null}`},
		{"CancelMessage", "DELETE", "/api/v1/messages/msg_01JNQ90000000000000000000B", "", webtest.Authed(), 200, `{
			"id": "msg_01JNQ90000000000000000000B", "status": "canceled", "to": "+12025550199", "text": "later",
			"segments": 1, "encoding": "gsm7", "modem": null, "priority": "normal", "status_report": false,
			"created_at": "2026-03-01T09:00:00Z", "send_at": "2026-03-02T09:00:00Z", "expires_at": null,
			"sent_at": null, "delivered_at": null,
			"parts": [{"index": 1, "status": "canceled", "mr": null, "sent_at": null, "delivered_at": null}]}`},
		{"Inbox", "GET", "/api/v1/inbox?since=2026-03-01T00:00:00Z&limit=10", "", webtest.Authed(), 200, `{"messages":[
			{"id":"in_01JNQ8ZK3X7Y2B4C6D8E0F1G2H","from":"+12025550142","text":"STOP","received_at":"2026-03-01T10:30:00Z",
			 "modem":"356938035643809","parts":1,"missing":0}]}`},
		{"Modems", "GET", "/api/v1/modems", "", webtest.Authed(), 200, `{"modems":[
			{"id":"356938035643809","port":"/dev/ttyUSB2","manufacturer":"Quectel","model":"EC25","operator":"Fictional Mobile",
			 "registration":"home","signal":{"csq":20,"dbm":-73,"bars":3},"state":"online","queue_depth":4,"sent":120,"failed":2,"last_error":null,
			 "paused_until":"2026-03-01T10:31:00Z","pause_reason":"+CMS ERROR: 332 (network timeout)",
			 "balance":{"amount":4.5,"reply":"Balance 4.50 EUR","threshold":5,"low":true,"checked_at":"2026-03-01T08:00:00Z"}},
			{"id":"356938035643817","port":"/dev/ttyUSB5","manufacturer":"","model":"","operator":"","registration":"",
			 "signal":null,"state":"no_sim","queue_depth":0,"sent":0,"failed":0,"last_error":"+CME ERROR: 10",
			 "paused_until":null,"pause_reason":null,"balance":null}]}`},
		{"Healthz", "GET", "/healthz", "", nil, 200, `{"status":"ok","version":"1.2.3"}`},
		{"Readyz", "GET", "/readyz", "", nil, 200, `{"status":"ready"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.Do(t, tt.method, tt.path, tt.body, tt.header)
			if r.Status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.status, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if r.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id header")
			}
			webtest.AssertJSON(t, r.Body, tt.want)
		})
	}
}

func TestHandleSend_Request(t *testing.T) {
	// What the handler makes of the body and headers is what the gateway
	// gets.
	tests := []struct {
		name, body, idemKey string
		want                gateway.SendRequest
	}{
		{
			name: "Minimal",
			body: `{"to":"+12025550123","text":"hi"}`,
			want: gateway.SendRequest{To: "+12025550123", Text: "hi", APIKey: webtest.KeyName, OwnerKey: 7},
		},
		{
			name:    "Everything",
			body:    `{"to":"+12025550123","text":"hi","priority":"high","modem":"356938035643809","status_report":false,"ttl":600,"send_at":"2026-03-01T11:00:00+01:00"}`,
			idemKey: "order-42",
			want: gateway.SendRequest{
				To: "+12025550123", Text: "hi", Priority: "high", Modem: "356938035643809", StatusReport: new(false),
				TTL: 10 * time.Minute, SendAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
				APIKey: webtest.KeyName, OwnerKey: 7, IdempotencyKey: "order-42",
			},
		},
		{
			name: "TTLDurationString",
			body: `{"to":"+12025550123","text":"hi","ttl":"1h30m"}`,
			want: gateway.SendRequest{To: "+12025550123", Text: "hi", TTL: 90 * time.Minute, APIKey: webtest.KeyName, OwnerKey: 7},
		},
		{
			name: "TTLSecondsString",
			body: `{"to":"+12025550123","text":"hi","ttl":"45","status_report":null}`,
			want: gateway.SendRequest{To: "+12025550123", Text: "hi", TTL: 45 * time.Second, APIKey: webtest.KeyName, OwnerKey: 7},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got gateway.SendRequest
			svc := &webtest.FakeService{SendFn: func(_ context.Context, r gateway.SendRequest) (*gateway.Message, bool, error) {
				got = r
				return &gateway.Message{ID: "msg_1", Status: gateway.StatusQueued}, false, nil
			}}
			ts := mustServer(t, svc, web.Config{})
			h := webtest.Authed()
			if tt.idemKey != "" {
				h["Idempotency-Key"] = tt.idemKey
			}
			r := ts.Do(t, http.MethodPost, "/api/v1/messages", tt.body, h)
			if r.Status != http.StatusAccepted {
				t.Fatalf("status = %d; body %s", r.Status, r.Body)
			}
			if got.BodyHash == "" {
				t.Error("BodyHash is empty")
			}
			got.BodyHash = ""
			if fmt.Sprintf("%+v", deref(got)) != fmt.Sprintf("%+v", deref(tt.want)) || !got.SendAt.Equal(tt.want.SendAt) {
				t.Errorf("SendRequest:\n got %+v\nwant %+v", deref(got), deref(tt.want))
			}
		})
	}
}

// deref shows StatusReport's value instead of its address.
func deref(r gateway.SendRequest) any {
	type shown struct {
		gateway.SendRequest
		StatusReport string
	}
	sr := "nil"
	if r.StatusReport != nil {
		sr = fmt.Sprint(*r.StatusReport)
	}
	r.StatusReport = nil
	r.SendAt = r.SendAt.UTC()
	return shown{r, sr}
}

func TestHandleSend_BodyHash(t *testing.T) {
	hashes := make(map[string]string)
	var mu sync.Mutex
	svc := &webtest.FakeService{SendFn: func(_ context.Context, r gateway.SendRequest) (*gateway.Message, bool, error) {
		mu.Lock()
		hashes[r.Text+"|"+fmt.Sprint(r.TTL)] = r.BodyHash
		mu.Unlock()
		return &gateway.Message{ID: "msg_1", Status: gateway.StatusQueued}, false, nil
	}}
	ts := mustServer(t, svc, web.Config{})
	send := func(body string) string {
		t.Helper()
		if r := ts.Do(t, http.MethodPost, "/api/v1/messages", body, webtest.Authed()); r.Status != http.StatusAccepted {
			t.Fatalf("status = %d; body %s", r.Status, r.Body)
		}
		mu.Lock()
		defer mu.Unlock()
		var last string
		for k, v := range hashes {
			delete(hashes, k)
			last = v
		}
		return last
	}
	a := send(`{"to":"+12025550123","text":"hi","ttl":60}`)
	b := send(`{ "ttl" : "1m", "text":"hi",  "to":"+12025550123" }`)
	c := send(`{"to":"+12025550123","text":"hi","ttl":61}`)
	if a != b {
		t.Errorf("the same request spelled differently hashed differently: %s vs %s", a, b)
	}
	if a == c {
		t.Errorf("different requests hashed alike: %s", a)
	}
}

func TestHandleSend_IdempotentReplay(t *testing.T) {
	m := &gateway.Message{ID: "msg_1", To: "+12025550123", Status: gateway.StatusDelivered, Segments: 1, Encoding: "gsm7"}
	svc := &webtest.FakeService{SendFn: func(_ context.Context, r gateway.SendRequest) (*gateway.Message, bool, error) {
		switch r.IdempotencyKey {
		case "fresh":
			return &gateway.Message{ID: "msg_1", To: "+12025550123", Status: gateway.StatusQueued, Segments: 1, Encoding: "gsm7"}, false, nil
		case "seen":
			return m, true, nil
		}
		return nil, false, fmt.Errorf("create message: %w", gateway.ErrIdempotencyReused)
	}}
	ts := mustServer(t, svc, web.Config{})
	body := `{"to":"+12025550123","text":"hi"}`

	first := ts.Do(t, http.MethodPost, "/api/v1/messages", body, webtest.Authed("Idempotency-Key", "fresh"))
	replay := ts.Do(t, http.MethodPost, "/api/v1/messages", body, webtest.Authed("Idempotency-Key", "seen"))
	if first.Status != http.StatusAccepted || replay.Status != http.StatusAccepted {
		t.Fatalf("statuses = %d, %d; want 202, 202", first.Status, replay.Status)
	}
	if got := first.Header.Get("Idempotent-Replayed"); got != "" {
		t.Errorf("first answer Idempotent-Replayed = %q, want none", got)
	}
	if got := replay.Header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("replay Idempotent-Replayed = %q, want true", got)
	}
	// The replay repeats the first answer even though the message moved on.
	webtest.AssertJSON(t, replay.Body, string(first.Body))

	reused := ts.Do(t, http.MethodPost, "/api/v1/messages", body, webtest.Authed("Idempotency-Key", "other-body"))
	p := webtest.MustProblem(t, reused, http.StatusUnprocessableEntity)
	if p.Type != apiv1.ProblemIdempotency {
		t.Errorf("type = %q, want %q", p.Type, apiv1.ProblemIdempotency)
	}

	bad := ts.Do(t, http.MethodPost, "/api/v1/messages", body, webtest.Authed("Idempotency-Key", strings.Repeat("k", 256)))
	p = webtest.MustProblem(t, bad, http.StatusBadRequest)
	if len(p.Errors) != 1 || p.Errors[0].Field != "Idempotency-Key" {
		t.Errorf("errors = %+v, want the Idempotency-Key header named", p.Errors)
	}
}

func TestHandleSend_BadBody(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		typ         string
		field       string // named in errors, if any
		detail      string // a part of the detail
	}{
		{"Syntax", `{"to":"+12025550123",}`, "", 400, apiv1.ProblemInvalidJSON, "", "offset 22"},
		{"WrongType", `{"to":12025550123,"text":"hi"}`, "", 400, apiv1.ProblemInvalidJSON, "to", "must be a string"},
		{"WrongTypeBool", `{"to":"+12025550123","text":"hi","status_report":"yes"}`, "", 400, apiv1.ProblemInvalidJSON, "status_report", "must be a boolean"},
		{"UnknownField", `{"to":"+12025550123","text":"hi","sender":"ACME"}`, "", 400, apiv1.ProblemInvalidJSON, "sender", "unknown field"},
		{"Empty", ``, "application/json", 400, apiv1.ProblemInvalidJSON, "", "empty"},
		{"Truncated", `{"to":"+1202`, "", 400, apiv1.ProblemInvalidJSON, "", "ends in the middle"},
		{"Array", `[1,2]`, "", 400, apiv1.ProblemInvalidJSON, "", "must be a JSON object"},
		{"Trailing", `{"to":"+12025550123","text":"hi"} {"x":1}`, "", 400, apiv1.ProblemInvalidJSON, "", "nothing after it"},
		{"InvalidUTF8", "{\"to\":\"+12025550123\",\"text\":\"ok \xff\"}", "", 400, apiv1.ProblemInvalidJSON, "", "not valid UTF-8 (offset 32)"},
		{"NotJSON", `to=+12025550123&text=hi`, "application/x-www-form-urlencoded", 415, apiv1.ProblemMediaType, "", "application/json"},
		{"MissingFields", `{}`, "", 422, apiv1.ProblemValidation, "text", "invalid fields"},
		{"TTLFraction", `{"to":"+12025550123","text":"hi","ttl":1.5}`, "", 422, apiv1.ProblemValidation, "ttl", "ttl: must be whole seconds"},
		{"TTLNegative", `{"to":"+12025550123","text":"hi","ttl":"-5m"}`, "", 422, apiv1.ProblemValidation, "ttl", "ttl: must not be negative"},
		{"TTLWrongType", `{"to":"+12025550123","text":"hi","ttl":true}`, "", 422, apiv1.ProblemValidation, "ttl", "ttl: must be whole seconds"},
		{"SendAt", `{"to":"+12025550123","text":"hi","send_at":"tomorrow"}`, "", 422, apiv1.ProblemValidation, "send_at", "send_at: must be an RFC 3339 time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := mustServer(t, &webtest.FakeService{}, web.Config{})
			h := webtest.Authed()
			if tt.contentType != "" {
				h["Content-Type"] = tt.contentType
			}
			r := ts.DoExact(t, http.MethodPost, "/api/v1/messages", tt.body, h)
			p := webtest.MustProblem(t, r, tt.status)
			if p.Type != tt.typ {
				t.Errorf("type = %q, want %q", p.Type, tt.typ)
			}
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail = %q, want it to contain %q", p.Detail, tt.detail)
			}
			if tt.field != "" && !hasField(p.Errors, tt.field) {
				t.Errorf("errors = %+v, want field %q", p.Errors, tt.field)
			}
			if n := ts.Svc.Sends.Load(); n != 0 {
				t.Errorf("the gateway got %d sends of a bad request", n)
			}
		})
	}
}

func hasField(errs []apiv1.FieldError, field string) bool {
	for _, e := range errs {
		if e.Field == field && e.Reason != "" {
			return true
		}
	}
	return false
}

func TestHandleSend_TooLarge(t *testing.T) {
	const size = 10 << 20
	tests := []struct {
		name    string
		chunked bool // no Content-Length: the limit has to cut the read
	}{
		{"ContentLength", false},
		{"Chunked", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := mustServer(t, &webtest.FakeService{}, web.Config{})
			// The body stalls after 1 MB until the answer is in: a server
			// that wanted all 10 MB before answering would never answer.
			// The deadline turns a server that waits for the whole body into
			// a failure instead of a hang: the transport waits for the body
			// writer, which waits for release.
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			release := make(chan struct{})
			body := &stallingBody{size: size, stallAt: 1 << 20, release: release, abort: ctx.Done()}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/api/v1/messages", body)
			if err != nil {
				t.Fatalf("new request: %v", err)
			}
			req.ContentLength = size
			if tt.chunked {
				req.ContentLength = -1
			}
			req.Header.Set("Authorization", "Bearer "+webtest.Key)
			req.Header.Set("Content-Type", "application/json")
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			res, err := (&http.Client{Transport: tr}).Do(req)
			close(release)
			if err != nil {
				t.Fatalf("post: %v", err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			p := webtest.MustProblem(t, webtest.Response{Status: res.StatusCode, Header: res.Header, Body: b}, http.StatusRequestEntityTooLarge)
			if p.Type != apiv1.ProblemTooLarge {
				t.Errorf("type = %q, want %q", p.Type, apiv1.ProblemTooLarge)
			}
			if n := ts.Svc.Sends.Load(); n != 0 {
				t.Errorf("the gateway got %d sends", n)
			}
			if got := body.read(); got > 1<<20 {
				t.Errorf("client gave %d bytes before the answer, want at most 1 MiB", got)
			}
		})
	}
}

// stallingBody is size bytes of JSON-ish filler that blocks after stallAt
// bytes until release or abort is closed.
type stallingBody struct {
	size, stallAt int64
	release       <-chan struct{}
	abort         <-chan struct{}

	mu sync.Mutex
	n  int64
}

func (b *stallingBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	n := b.n
	b.mu.Unlock()
	if n >= b.size {
		return 0, io.EOF
	}
	if n >= b.stallAt {
		select {
		case <-b.release:
			return 0, errors.New("stalled body released")
		case <-b.abort:
			return 0, errors.New("stalled body aborted")
		}
	}
	k := min(int64(len(p)), b.stallAt-n, b.size-n)
	for i := range k {
		p[i] = ' '
	}
	b.mu.Lock()
	b.n += k
	b.mu.Unlock()
	return int(k), nil
}

func (b *stallingBody) read() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

func TestErrorMapping(t *testing.T) {
	internal := errors.New("sqlite: database is locked (/srv/simgate/data/simgate.db)")
	svc := &webtest.FakeService{
		MessageFn: func(_ context.Context, id string) (*gateway.Message, error) {
			switch id {
			case "missing":
				return nil, fmt.Errorf("message %s: %w", id, gateway.ErrNotFound)
			case "panic":
				panic("nil map write in a handler")
			}
			return nil, fmt.Errorf("load message: %w", internal)
		},
		CancelFn: func(_ context.Context, id string) (*gateway.Message, error) {
			if id == "missing" {
				return nil, fmt.Errorf("cancel %s: %w", id, gateway.ErrNotFound)
			}
			return nil, fmt.Errorf("cancel %s: message is sending: %w", id, gateway.ErrConflict)
		},
		SendFn: func(context.Context, gateway.SendRequest) (*gateway.Message, bool, error) {
			return nil, false, fmt.Errorf("send: %w", &gateway.ValidationError{Field: "to", Reason: "not a valid phone number"})
		},
		InboxFn: func(context.Context, time.Time, int) ([]*gateway.InboundMessage, error) {
			return nil, fmt.Errorf("inbox: %w", gateway.ErrInvalid)
		},
	}
	ts := mustServer(t, svc, web.Config{})

	tests := []struct {
		name, method, path, body string
		status                   int
		typ                      string
		field                    string
	}{
		{"NotFound", "GET", "/api/v1/messages/missing", "", 404, apiv1.ProblemNotFound, ""},
		{"CancelNotFound", "DELETE", "/api/v1/messages/missing", "", 404, apiv1.ProblemNotFound, ""},
		{"CancelConflict", "DELETE", "/api/v1/messages/msg_sending", "", 409, apiv1.ProblemConflict, ""},
		{"Validation", "POST", "/api/v1/messages", `{"to":"12","text":"hi"}`, 422, apiv1.ProblemValidation, "to"},
		{"InvalidPlain", "GET", "/api/v1/inbox", "", 422, apiv1.ProblemValidation, ""},
		{"Internal", "GET", "/api/v1/messages/msg_locked", "", 500, apiv1.ProblemInternal, ""},
		{"Panic", "GET", "/api/v1/messages/panic", "", 500, apiv1.ProblemInternal, ""},
		{"NoRoute", "GET", "/api/v1/nothing", "", 404, apiv1.ProblemNotFound, ""},
		{"MethodNotAllowed", "PUT", "/api/v1/messages", "", 405, apiv1.ProblemBlank, ""},
		{"BadLimit", "GET", "/api/v1/messages?limit=0", "", 400, apiv1.ProblemBadRequest, "limit"},
		{"BadStatus", "GET", "/api/v1/messages?status=lost", "", 400, apiv1.ProblemBadRequest, "status"},
		{"BadSince", "GET", "/api/v1/inbox?since=yesterday", "", 400, apiv1.ProblemBadRequest, "since"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.Do(t, tt.method, tt.path, tt.body, webtest.Authed())
			p := webtest.MustProblem(t, r, tt.status)
			if p.Type != tt.typ {
				t.Errorf("type = %q, want %q", p.Type, tt.typ)
			}
			if tt.field != "" && !hasField(p.Errors, tt.field) {
				t.Errorf("errors = %+v, want field %q", p.Errors, tt.field)
			}
			for _, secret := range []string{"sqlite", "locked", "/srv/", "nil map", "is sending"} {
				if strings.Contains(string(r.Body), secret) {
					t.Errorf("answer leaks %q: %s", secret, r.Body)
				}
			}
		})
	}

	t.Run("MethodNotAllowedHeader", func(t *testing.T) {
		r := ts.Do(t, http.MethodPut, "/api/v1/messages", "", webtest.Authed())
		if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
			t.Errorf("Allow = %q, want GET and POST", allow)
		}
	})
	t.Run("InternalLoggedOnce", func(t *testing.T) {
		r := ts.Do(t, http.MethodGet, "/api/v1/messages/msg_logged", "", webtest.Authed())
		id := r.Header.Get("X-Request-Id")
		logs := ts.Log.WaitFor(t, `"msg":"http request"`, `"route":"/api/v1/messages/:id"`, `"status":500`, id)
		var n int
		for line := range strings.Lines(logs) {
			if strings.Contains(line, id) && strings.Contains(line, "database is locked") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the internal error is logged %d times under request %s, want once:\n%s", n, id, logs)
		}
	})
	t.Run("PanicLoggedWithStack", func(t *testing.T) {
		r := ts.Do(t, http.MethodGet, "/api/v1/messages/panic", "", webtest.Authed())
		logs := ts.Log.WaitFor(t, `"msg":"http request"`, r.Header.Get("X-Request-Id"))
		if !strings.Contains(logs, "nil map write in a handler") || !strings.Contains(logs, `"stack":"goroutine`) {
			t.Errorf("the panic is not logged with its stack:\n%s", logs)
		}
	})
}
