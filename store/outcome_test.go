package store

import (
	"errors"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func TestPartUnknown(t *testing.T) {
	s := mustOpen(t)
	m := newMessage("msg_1", 0)
	m.Segments = 2
	mustCreate(t, s, m)
	now := t0.Add(time.Minute)
	mustClaim(t, s, "imeiA", now)
	const reason = "part 1: no answer from the modem"
	if err := s.PartUnknown(t.Context(), "msg_1", 1, "imeiA", reason, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.PartUnknown(t.Context(), "msg_1", 1, "imeiA", reason, now); !errors.Is(err, gateway.ErrConflict) {
		t.Errorf("again: err = %v, want ErrConflict", err)
	}
	if err := s.PartUnknown(t.Context(), "msg_1", 9, "imeiA", reason, now); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("no such part: err = %v, want ErrNotFound", err)
	}
	got := mustMessage(t, s, "msg_1")
	p := got.Parts[0]
	if p.Status != gateway.StatusSent || p.HasMR || p.Modem != "imeiA" || p.Error != reason || p.SentAt.IsZero() {
		t.Errorf("part 1 = %+v", p)
	}
	if got.Error != reason {
		t.Errorf("message error = %q", got.Error)
	}
	// Given back and claimed again, only part 2 is left to send.
	if err := s.Retry(t.Context(), "msg_1", now, "again", true); err != nil {
		t.Fatal(err)
	}
	again := mustClaim(t, s, "imeiA", now.Add(time.Second))
	if again == nil || again.Parts[0].Status != gateway.StatusSent || again.Parts[1].Status != gateway.StatusSending {
		t.Fatalf("claimed again: %+v", again)
	}
	if err := s.PartSent(t.Context(), "msg_1", 2, "imeiA", 9, now.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.Sent(t.Context(), "msg_1", now.Add(3*time.Second)); err != nil {
		t.Fatalf("sent with a part of unknown outcome: %v", err)
	}
	if got := mustMessage(t, s, "msg_1"); got.Status != gateway.StatusSent {
		t.Errorf("status = %s", got.Status)
	}
}

// A modem that takes a message over sends it whole: a part another modem
// sent, or that was even delivered, is recorded again as this one's.
func TestPartsSentAgainByAnotherModem(t *testing.T) {
	s := mustOpen(t)
	m := newMessage("msg_1", 0)
	m.Segments = 3
	mustCreate(t, s, m)
	now := t0.Add(time.Minute)
	mustClaim(t, s, "imeiA", now)
	for part, mr := range map[int]int{1: 7, 2: 8} {
		if err := s.PartSent(t.Context(), "msg_1", part, "imeiA", mr, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ApplyReport(t.Context(), gateway.Report{Modem: "imeiA", MR: 7, Recipient: m.To, Class: "delivered",
		At: now, Window: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry(t.Context(), "msg_1", now, "part 3 refused", true); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, s, "imeiB", now.Add(time.Second))
	if err := s.PartSent(t.Context(), "msg_1", 1, "imeiB", 20, now.Add(time.Second)); err != nil {
		t.Fatalf("part 1, delivered from A, sent again by B: %v", err)
	}
	if err := s.PartUnknown(t.Context(), "msg_1", 2, "imeiB", "part 2: no answer", now.Add(time.Second)); err != nil {
		t.Fatalf("part 2, sent by A, of unknown outcome on B: %v", err)
	}
	if err := s.LastPartSent(t.Context(), "msg_1", 3, "imeiB", 22, now.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	got := mustMessage(t, s, "msg_1")
	if got.Status != gateway.StatusSent {
		t.Errorf("status = %s, want sent", got.Status)
	}
	for i, p := range got.Parts {
		if p.Modem != "imeiB" || p.Status != gateway.StatusSent || !p.DeliveredAt.IsZero() || p.ReportCode != -1 {
			t.Errorf("part %d = %+v, want sent by B, no report", i+1, p)
		}
	}
}
