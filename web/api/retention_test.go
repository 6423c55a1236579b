package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/web"
	"github.com/simgate/simgate/web/internal/webtest"
)

// A text removed by retention shows as an empty text with text_purged:
// true; a kept text has no text_purged at all.
func TestTextPurged(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	msg := func(id, text string, purged time.Time) *gateway.Message {
		return &gateway.Message{ID: id, To: "+12025550188", Text: text, Encoding: "gsm7", Segments: 1,
			Status: gateway.StatusDelivered, CreatedAt: at, FinishedAt: at, TextPurgedAt: purged,
			Parts: []gateway.Part{{Index: 1, Status: gateway.StatusDelivered}}}
	}
	svc := &webtest.FakeService{
		MessageFn: func(_ context.Context, id string) (*gateway.Message, error) {
			if id == "msg_purged" {
				return msg(id, "", at.Add(30*24*time.Hour)), nil
			}
			return msg(id, "kept", time.Time{}), nil
		},
		InboxFn: func(context.Context, time.Time, int) ([]*gateway.InboundMessage, error) {
			return []*gateway.InboundMessage{
				{ID: "in_purged", Modem: "356938035643809", From: "+12025550142", Parts: 1, ReceivedAt: at, TextPurgedAt: at.Add(time.Hour)},
				{ID: "in_kept", Modem: "356938035643809", From: "+12025550142", Text: "STOP", Parts: 1, ReceivedAt: at},
			}, nil
		},
	}
	ts := mustServer(t, svc, web.Config{})

	for _, tt := range []struct {
		id, text string
		purged   bool
	}{{"msg_purged", "", true}, {"msg_kept", "kept", false}} {
		r := ts.Do(t, "GET", "/api/v1/messages/"+tt.id, "", webtest.Authed())
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", tt.id, r.Status, r.Body)
		}
		var m apiv1.Message
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatal(err)
		}
		if m.Text != tt.text || m.TextPurged != tt.purged || m.Status != "delivered" || m.To != "+12025550188" {
			t.Errorf("GET %s = %+v; want text %q, text_purged %v, metadata kept", tt.id, m, tt.text, tt.purged)
		}
		if !strings.Contains(string(r.Body), `"text":""`) && tt.purged {
			t.Errorf("GET %s: %s; the text field must stay, empty", tt.id, r.Body)
		}
		if strings.Contains(string(r.Body), "text_purged") != tt.purged {
			t.Errorf("GET %s: %s; text_purged only when purged", tt.id, r.Body)
		}
	}

	r := ts.Do(t, "GET", "/api/v1/inbox", "", webtest.Authed())
	var inbox apiv1.Inbox
	if err := json.Unmarshal(r.Body, &inbox); err != nil || len(inbox.Messages) != 2 {
		t.Fatalf("GET inbox: %d %s (%v)", r.Status, r.Body, err)
	}
	if m := inbox.Messages[0]; m.Text != "" || !m.TextPurged || m.From != "+12025550142" {
		t.Errorf("purged inbox message = %+v", m)
	}
	if m := inbox.Messages[1]; m.Text != "STOP" || m.TextPurged {
		t.Errorf("kept inbox message = %+v", m)
	}
	if strings.Contains(string(r.Body), `"pdu"`) || strings.Contains(string(r.Body), `"error"`) {
		t.Errorf("GET inbox: %s; pdu and error only for an undecodable SMS", r.Body)
	}
}

// A PDU that did not decode is in the inbox with its hex and the reason,
// and no text.
func TestInbox_Undecodable(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	svc := &webtest.FakeService{
		InboxFn: func(context.Context, time.Time, int) ([]*gateway.InboundMessage, error) {
			return []*gateway.InboundMessage{{ID: "in_raw", Modem: "356938035643809", Parts: 1, ReceivedAt: at,
				RawPDU: "0004FF", DecodeError: "oa.addr at offset 2: underflow"}}, nil
		},
	}
	ts := mustServer(t, svc, web.Config{})
	r := ts.Do(t, "GET", "/api/v1/inbox", "", webtest.Authed())
	if r.Status != http.StatusOK {
		t.Fatalf("GET inbox: %d %s", r.Status, r.Body)
	}
	webtest.AssertJSON(t, r.Body, `{"messages":[{"id":"in_raw","from":"","text":"","received_at":"2026-03-01T09:00:00Z",
		"modem":"356938035643809","parts":1,"missing":0,"pdu":"0004FF","error":"oa.addr at offset 2: underflow"}]}`)
}
