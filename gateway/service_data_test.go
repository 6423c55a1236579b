package gateway_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func TestService_SendDataValidation(t *testing.T) {
	svc, _, _, st := newTestService(t, gateway.ServiceConfig{})
	tests := []struct {
		name   string
		req    gateway.SendRequest
		field  string
		reason string
	}{
		{"text and data", gateway.SendRequest{To: numOK, Text: "hi", Data: []byte{1}}, "data", "exclude each other"},
		{"empty data", gateway.SendRequest{To: numOK, Data: []byte{}}, "data", "is empty"},
		{"port too big", gateway.SendRequest{To: numOK, Data: []byte{1}, Ports: &gateway.Ports{Dest: 65536}}, "port", "0 to 65535"},
		{"negative port", gateway.SendRequest{To: numOK, Data: []byte{1}, Ports: &gateway.Ports{Dest: -1}}, "port", "0 to 65535"},
		{"source port too big", gateway.SendRequest{To: numOK, Data: []byte{1}, Ports: &gateway.Ports{Source: 70000}}, "port", "0 to 65535"},
		{"data of 11 segments", gateway.SendRequest{To: numOK, Data: make([]byte, 134*10+1)}, "data", "needs 11 segments in 8bit, more than the limit of 10"},
		{"data with ports of 11 segments", gateway.SendRequest{To: numOK, Data: make([]byte, 128*10+1), Ports: &gateway.Ports{Dest: 1}}, "data", "needs 11 segments"},
		{"unknown encoding", gateway.SendRequest{To: numOK, Text: "hi", Encoding: "latin1"}, "encoding", `"latin1"`},
		{"data as ucs2", gateway.SendRequest{To: numOK, Data: []byte{1}, Encoding: "ucs2"}, "encoding", "data is always 8bit"},
		{"gsm7 forced on cyrillic", gateway.SendRequest{To: numOK, Text: "Привет", Encoding: "gsm7"}, "text", "outside the GSM 7-bit alphabet"},
		{"udh length wrong", gateway.SendRequest{To: numOK, Text: "hi", UDH: []byte{9, 0, 3, 1, 1, 1}}, "udh", "length octet"},
		{"negative validity", gateway.SendRequest{To: numOK, Text: "hi", Validity: -time.Minute}, "validity", "want 0 to"},
		{"validity past 63 weeks", gateway.SendRequest{To: numOK, Text: "hi", Validity: 64 * 7 * 24 * time.Hour}, "validity", "want 0 to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, err := svc.Send(t.Context(), tt.req)
			var ve *gateway.ValidationError
			if m != nil || !errors.As(err, &ve) || !errors.Is(err, gateway.ErrInvalid) {
				t.Fatalf("Send = %v, %v; want a ValidationError", m, err)
			}
			if ve.Field != tt.field || !strings.Contains(ve.Reason, tt.reason) {
				t.Errorf("error %q on %q, want %q saying %q", ve.Reason, ve.Field, tt.field, tt.reason)
			}
		})
	}
	if msgs, _, err := st.Messages(t.Context(), gateway.MessageFilter{Limit: 10}); err != nil || len(msgs) != 0 {
		t.Errorf("after refused requests the store holds %d messages (%v)", len(msgs), err)
	}
}

func TestService_SendData(t *testing.T) {
	svc, w, _, st := newTestService(t, gateway.ServiceConfig{})
	data := bytes.Repeat([]byte{0xA5}, 300)
	m, _, err := svc.Send(t.Context(), gateway.SendRequest{To: numOK, Data: data,
		Ports: &gateway.Ports{Dest: 8080}, Flash: true, Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// 300 octets at 128 a part (ports and concatenation in each header).
	if m.Encoding != "8bit" || m.Segments != 3 || len(m.Parts) != 3 || !m.Flash || m.Validity != time.Hour {
		t.Errorf("queued %s in %d segments (%d parts), flash %t, validity %s", m.Encoding, m.Segments, len(m.Parts), m.Flash, m.Validity)
	}
	got, err := st.Message(t.Context(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Data, data) || got.Ports == nil || got.Ports.Dest != 8080 || got.Text != "" {
		t.Errorf("stored data %d octets, ports %+v, text %q", len(got.Data), got.Ports, got.Text)
	}
	if n, _ := w.counts(); n != 1 {
		t.Errorf("woke the dispatcher %d times, want 1", n)
	}

	forced, _, err := svc.Send(t.Context(), gateway.SendRequest{To: numOK, Text: "plain", Encoding: "ucs2"})
	if err != nil || forced.Encoding != "ucs2" || forced.Segments != 1 {
		t.Errorf("forced ucs2: %+v, %v", forced, err)
	}
}

// TestService_SendDataIdempotency: a replayed key with other data is a
// reuse, not the same request.
func TestService_SendDataIdempotency(t *testing.T) {
	svc, _, _, _ := newTestService(t, gateway.ServiceConfig{})
	req := gateway.SendRequest{To: numOK, Data: []byte{1, 2}, APIKey: "app", IdempotencyKey: "k1"}
	first, _, err := svc.Send(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	again, replayed, err := svc.Send(t.Context(), req)
	if err != nil || !replayed || again.ID != first.ID {
		t.Fatalf("replay = %v, %t, %v", again, replayed, err)
	}
	req.Data = []byte{1, 3}
	if _, _, err := svc.Send(t.Context(), req); !errors.Is(err, gateway.ErrIdempotencyReused) {
		t.Errorf("other data under the same key: %v, want ErrIdempotencyReused", err)
	}
}
