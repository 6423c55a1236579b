package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func TestInboundParts(t *testing.T) {
	s := mustOpen(t)
	part := func(from string, ref, n, total int, pdu string, at time.Duration) gateway.InboundPart {
		bits := 8
		if total == 1 {
			bits, ref = 0, 0
		}
		return gateway.InboundPart{Modem: "imeiA", From: from, PDU: pdu, Ref: ref, Part: n, Total: total,
			RefBits: bits, SCTS: t0.Add(at - time.Second), ReceivedAt: t0.Add(at)}
	}
	add := func(p gateway.InboundPart) []gateway.InboundPart {
		t.Helper()
		got, err := s.AddInboundPart(t.Context(), p)
		if err != nil {
			t.Fatalf("AddInboundPart: %v", err)
		}
		return got
	}
	pdus := func(ps []gateway.InboundPart) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.PDU)
		}
		return out
	}

	if got := pdus(add(part("+1555", 7, 2, 3, "p2", 0))); !reflect.DeepEqual(got, []string{"p2"}) {
		t.Errorf("first part: %v", got)
	}
	// Same ref from another sender, or another ref, is another set.
	add(part("+1666", 7, 1, 3, "x1", time.Second))
	add(part("+1555", 8, 1, 3, "y1", time.Second))
	if got := pdus(add(part("+1555", 7, 3, 3, "p3", 2*time.Second))); !reflect.DeepEqual(got, []string{"p2", "p3"}) {
		t.Errorf("second part: %v", got)
	}
	// The SIM listed again after a restart: the same part is not held twice.
	got := add(part("+1555", 7, 2, 3, "p2", 5*time.Second))
	if !reflect.DeepEqual(pdus(got), []string{"p2", "p3"}) || !got[0].ReceivedAt.Equal(t0) {
		t.Errorf("duplicate: %v, first received %v", pdus(got), got[0].ReceivedAt)
	}
	set := add(part("+1555", 7, 1, 3, "p1", 3*time.Second))
	if !reflect.DeepEqual(pdus(set), []string{"p1", "p2", "p3"}) {
		t.Fatalf("complete set: %v", pdus(set))
	}
	p := set[0]
	if p.ID == 0 || p.Modem != "imeiA" || p.From != "+1555" || p.Ref != 7 || p.Part != 1 || p.Total != 3 ||
		p.RefBits != 8 || !p.SCTS.Equal(t0.Add(2*time.Second)) || !p.ReceivedAt.Equal(t0.Add(3*time.Second)) {
		t.Errorf("part read back as %+v", p)
	}

	// Two single SMS from one sender held at once stay apart.
	if got := pdus(add(part("+1555", 0, 1, 1, "s1", 4*time.Second))); !reflect.DeepEqual(got, []string{"s1"}) {
		t.Errorf("single 1: %v", got)
	}
	if got := pdus(add(part("+1555", 0, 1, 1, "s2", 4*time.Second))); !reflect.DeepEqual(got, []string{"s2"}) {
		t.Errorf("single 2: %v", got)
	}

	msg := &gateway.InboundMessage{ID: "in_1", Modem: "imeiA", From: "+1555", Text: "joined", Parts: 3,
		SCTS: set[0].SCTS, ReceivedAt: t0.Add(3 * time.Second)}
	if err := s.SaveInbound(t.Context(), msg, []int64{set[0].ID, set[1].ID, set[2].ID}); err != nil {
		t.Fatalf("SaveInbound: %v", err)
	}
	wantErr(t, "SaveInbound twice", s.SaveInbound(t.Context(), msg, nil), gateway.ErrConflict)

	stale, err := s.StaleInboundParts(t.Context(), t0.Add(4*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got := pdus(stale); !reflect.DeepEqual(got, []string{"x1", "y1"}) {
		t.Errorf("stale parts %v, want the two incomplete sets' parts", got)
	}
	stale, err = s.StaleInboundParts(t.Context(), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := pdus(stale); !reflect.DeepEqual(got, []string{"x1", "y1", "s1", "s2"}) {
		t.Errorf("all held parts %v", got)
	}

	// A crash between the save and the SIM delete: the next listing reads
	// the joined parts again. They are recognised, not held again.
	if got := add(part("+1555", 7, 2, 3, "p2", time.Hour)); len(got) != 0 {
		t.Errorf("re-read of a part already saved returned %v, want nothing held", pdus(got))
	}
	if got := add(part("+1555", 7, 1, 3, "p1", time.Hour)); len(got) != 0 {
		t.Errorf("re-read of a part already saved returned %v, want nothing held", pdus(got))
	}

	_, err = s.AddInboundPart(t.Context(), gateway.InboundPart{Part: 3, Total: 2, ReceivedAt: t0})
	wantErr(t, "part beyond total", err, gateway.ErrInvalid)
}

// A set is stale only when its newest part is old: one that is still
// receiving parts waits, however old its first part.
func TestStaleInboundParts_NewestPart(t *testing.T) {
	s := mustOpen(t)
	for i, at := range []time.Duration{0, 50 * time.Minute} {
		p := gateway.InboundPart{Modem: "imeiA", From: "+1555", PDU: fmt.Sprint("p", i+1), Ref: 9, Part: i + 1, Total: 3,
			RefBits: 8, ReceivedAt: t0.Add(at)}
		if _, err := s.AddInboundPart(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	stale, err := s.StaleInboundParts(t.Context(), t0.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) != 0 {
		t.Errorf("a set whose last part came 20 minutes ago is stale after 30: %d parts", len(stale))
	}
	stale, err = s.StaleInboundParts(t.Context(), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) != 2 {
		t.Errorf("stale after an hour: %d parts, want both", len(stale))
	}
}

func TestInbox(t *testing.T) {
	s := mustOpen(t)
	for i := range 5 {
		m := &gateway.InboundMessage{ID: "in_" + string(rune('a'+i)), Modem: "imeiA", From: "+1555",
			Text: "t", Parts: 1, Missing: i % 2, ReceivedAt: t0.Add(time.Duration(i) * time.Minute)}
		if err := s.SaveInbound(t.Context(), m, nil); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		since time.Time
		limit int
		want  []string
	}{
		{"All", time.Time{}, 0, []string{"in_e", "in_d", "in_c", "in_b", "in_a"}},
		{"Since", t0.Add(2 * time.Minute), 0, []string{"in_e", "in_d"}},
		{"Limit", time.Time{}, 2, []string{"in_e", "in_d"}},
		{"None", t0.Add(time.Hour), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := s.Inbox(t.Context(), tt.since, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range msgs {
				got = append(got, m.ID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	msgs, _ := s.Inbox(t.Context(), time.Time{}, 1)
	if m := msgs[0]; m.Modem != "imeiA" || m.From != "+1555" || m.Text != "t" || m.Parts != 1 || m.Missing != 0 ||
		!m.ReceivedAt.Equal(t0.Add(4*time.Minute)) || !m.SCTS.IsZero() {
		t.Errorf("read back %+v", m)
	}
	if err := s.SaveInbound(t.Context(), &gateway.InboundMessage{}, nil); !errors.Is(err, gateway.ErrInvalid) {
		t.Errorf("SaveInbound of an empty message: %v", err)
	}
}

// An undecodable PDU is kept as an inbound message of its own: its PDU and
// the decoder's reason come back from the inbox, its sms.received event says
// it is undecodable, and retention blanks the PDU with the text.
func TestInbox_Undecodable(t *testing.T) {
	s := mustOpen(t)
	const raw = "00040B914477009001F300004230512141500A0AC8329BFD06"
	m := &gateway.InboundMessage{ID: "in_raw", Modem: "imeiA", Parts: 1, ReceivedAt: t0,
		RawPDU: raw, DecodeError: "ud.sm at offset 21: underflow"}
	if err := s.SaveInbound(t.Context(), m, nil); err != nil {
		t.Fatalf("SaveInbound: %v", err)
	}
	ok := &gateway.InboundMessage{ID: "in_ok", Modem: "imeiA", From: "+1555", Text: "t", Parts: 1, ReceivedAt: t0.Add(time.Second)}
	if err := s.SaveInbound(t.Context(), ok, nil); err != nil {
		t.Fatalf("SaveInbound: %v", err)
	}
	msgs, err := s.Inbox(t.Context(), time.Time{}, 10)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Inbox = %d messages, %v; want 2", len(msgs), err)
	}
	if got := msgs[1]; got.RawPDU != raw || got.DecodeError != m.DecodeError || !got.Undecodable() || got.Text != "" {
		t.Errorf("undecodable read back %+v", got)
	}
	if got := msgs[0]; got.RawPDU != "" || got.DecodeError != "" || got.Undecodable() {
		t.Errorf("decoded read back %+v", got)
	}
	evs, err := s.EventsAfter(t.Context(), 0, 10)
	if err != nil || len(evs) != 2 {
		t.Fatalf("EventsAfter = %d events, %v; want 2", len(evs), err)
	}
	for i, want := range []bool{true, false} {
		var d gateway.InboundEventData
		if err := json.Unmarshal(evs[i].Data, &d); err != nil {
			t.Fatal(err)
		}
		if evs[i].Type != gateway.EventSMSReceived || d.Undecodable != want || d.Text != []string{"", "t"}[i] {
			t.Errorf("event %d: %s %+v; want undecodable %t", i, evs[i].Type, d, want)
		}
	}
	if _, err := s.PurgeInboundTexts(t.Context(), t0.Add(time.Hour), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	msgs, _ = s.Inbox(t.Context(), time.Time{}, 10)
	if got := msgs[1]; got.RawPDU != "" || got.DecodeError != m.DecodeError {
		t.Errorf("after purge %+v; want the PDU blanked and the reason kept", got)
	}
}

// The same undecodable PDU read again on the same modem (a crash or a
// failed delete left it on the SIM) is ErrAlreadyStored and saves nothing;
// on another modem it is a message of its own.
func TestInbox_UndecodableOnce(t *testing.T) {
	s := mustOpen(t)
	const raw = "0004FF007C03D5"
	save := func(id, modem string, at time.Time) error {
		return s.SaveInbound(t.Context(), &gateway.InboundMessage{ID: id, Modem: modem, Parts: 1, ReceivedAt: at,
			RawPDU: raw, DecodeError: "oa.addr at offset 4: underflow"}, nil)
	}
	if err := save("in_1", "imeiA", t0); err != nil {
		t.Fatalf("SaveInbound: %v", err)
	}
	if err := save("in_2", "imeiA", t0.Add(time.Minute)); !errors.Is(err, gateway.ErrAlreadyStored) {
		t.Fatalf("SaveInbound of the same PDU again = %v, want ErrAlreadyStored", err)
	}
	if err := save("in_3", "imeiB", t0.Add(time.Minute)); err != nil {
		t.Fatalf("SaveInbound on another modem: %v", err)
	}
	msgs, err := s.Inbox(t.Context(), time.Time{}, 10)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Inbox = %d messages, %v; want 2", len(msgs), err)
	}
	evs, err := s.EventsAfter(t.Context(), 0, 10)
	if err != nil || len(evs) != 2 {
		t.Errorf("EventsAfter = %d events, %v; want 2 (none for the PDU read again)", len(evs), err)
	}
	stale, err := s.StaleInboundParts(t.Context(), t0.Add(time.Hour))
	if err != nil || len(stale) != 0 {
		t.Errorf("StaleInboundParts = %v, %v; want none (a raw PDU is not a part waiting for its set)", stale, err)
	}
}
