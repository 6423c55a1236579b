package store

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// dataMessage is a queued data message with every field of migration 0090.
func dataMessage(id string) *gateway.Message {
	m := newMessage(id, 0)
	m.Text, m.Encoding = "", "8bit"
	m.Data = []byte{0x00, 0xFF, 0x10}
	m.Ports = &gateway.Ports{Dest: 65535, Source: 0}
	m.Flash = true
	m.UDH = []byte{6, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0}
	m.Validity = 90 * time.Minute
	return m
}

// TestDataMessage_RoundTrip stores a data message (encoding '8bit', which
// migration 0090 lets the CHECK accept on the connection that ran it) and
// reads it back through every read path: get, list and claim.
func TestDataMessage_RoundTrip(t *testing.T) {
	s := mustOpen(t)
	want := dataMessage("msg_data")
	mustCreate(t, s, want)
	text := newMessage("msg_text", time.Second)
	mustCreate(t, s, text)

	check := func(how string, got *gateway.Message) {
		t.Helper()
		if got.Encoding != "8bit" || !bytes.Equal(got.Data, want.Data) || got.Text != "" ||
			!reflect.DeepEqual(got.Ports, want.Ports) || !got.Flash || !bytes.Equal(got.UDH, want.UDH) ||
			got.Validity != want.Validity {
			t.Errorf("%s: %+v; want data %X ports %+v flash udh %X validity %s", how, got,
				want.Data, *want.Ports, want.UDH, want.Validity)
		}
	}
	got, err := s.Message(t.Context(), want.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("Message", got)
	list, _, err := s.Messages(t.Context(), gateway.MessageFilter{Limit: 10})
	if err != nil || len(list) != 2 {
		t.Fatalf("Messages = %d, %v", len(list), err)
	}
	for _, m := range list {
		if m.ID == want.ID {
			check("Messages", m)
		} else if m.Data != nil || m.Ports != nil || m.Flash || m.UDH != nil || m.Validity != 0 {
			t.Errorf("text message grew data fields: %+v", m)
		}
	}
	claimed, err := s.ClaimNext(t.Context(), gateway.Claim{Modem: "imeiA", Now: t0.Add(time.Minute), Lease: time.Minute})
	if err != nil || claimed == nil {
		t.Fatalf("ClaimNext = %v, %v", claimed, err)
	}
	check("ClaimNext", claimed)
}

// TestDataMessage_CheckStillRefuses: the widened CHECK still refuses an
// encoding nobody writes.
func TestDataMessage_CheckStillRefuses(t *testing.T) {
	s := mustOpen(t)
	m := newMessage("msg_bad", 0)
	m.Encoding = "latin1"
	if _, _, err := s.CreateMessage(t.Context(), m, gateway.IdempotencyKey{}); err == nil {
		t.Fatal("encoding latin1 was stored")
	}
	m = dataMessage("msg_port")
	m.Ports.Dest = 65536
	if _, _, err := s.CreateMessage(t.Context(), m, gateway.IdempotencyKey{}); err == nil {
		t.Fatal("port 65536 was stored")
	}
}

func TestPurgeMessageTexts_BlanksData(t *testing.T) {
	s := mustOpen(t)
	mustCreate(t, s, dataMessage("msg_data"))
	mustFinal(t, s, "msg_data", gateway.StatusDelivered, time.Minute)
	if n, err := s.PurgeMessageTexts(t.Context(), t0.Add(day), t0.Add(2*day)); err != nil || n != 1 {
		t.Fatalf("PurgeMessageTexts = %d, %v", n, err)
	}
	got, err := s.Message(t.Context(), "msg_data")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != 0 || got.Encoding != "8bit" || got.Ports == nil || got.TextPurgedAt.IsZero() {
		t.Errorf("after purge: data %X, encoding %s, ports %v; want no data, the metadata kept",
			got.Data, got.Encoding, got.Ports)
	}
}

// TestInbox_Data keeps a received data SMS's bytes, ports and class, and
// retention blanks its bytes.
func TestInbox_Data(t *testing.T) {
	s := mustOpen(t)
	data := &gateway.InboundMessage{ID: "in_data", Modem: "imeiA", From: "+14155550199",
		Data: []byte{1, 2, 0}, Ports: &gateway.Ports{Dest: 2948, Source: 9200}, Flash: true,
		Parts: 2, SCTS: t0, ReceivedAt: t0}
	text := &gateway.InboundMessage{ID: "in_text", Modem: "imeiA", From: "+14155550199", Text: "hi",
		Parts: 1, SCTS: t0, ReceivedAt: t0.Add(time.Second)}
	for _, m := range []*gateway.InboundMessage{data, text} {
		if err := s.SaveInbound(t.Context(), m, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Inbox(t.Context(), time.Time{}, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("Inbox = %d, %v", len(got), err)
	}
	if m := got[1]; !bytes.Equal(m.Data, data.Data) || !reflect.DeepEqual(m.Ports, data.Ports) || !m.Flash || m.Text != "" {
		t.Errorf("data SMS read back as %+v", m)
	}
	if m := got[0]; m.Data != nil || m.Ports != nil || m.Flash || m.Text != "hi" {
		t.Errorf("text SMS read back as %+v", m)
	}
	if _, err := s.PurgeInboundTexts(t.Context(), t0.Add(day), t0.Add(2*day)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Inbox(t.Context(), time.Time{}, 10)
	for _, m := range got {
		if len(m.Data) != 0 || m.Text != "" {
			t.Errorf("%s after purge: text %q data %X", m.ID, m.Text, m.Data)
		}
	}
}
