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

// TestPartLateMR: a late +CMGS gives the newest part of unknown outcome its
// MR, clears the error that said so, and its report then matches.
func TestPartLateMR(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	m := newMessage("msg_1", 0)
	mustCreate(t, s, m)
	now := t0.Add(time.Minute)
	mustClaim(t, s, "imeiA", now)
	if _, _, err := s.PartLateMR(ctx, "imeiA", 7, t0); !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("before any unknown outcome: err = %v, want ErrNotFound", err)
	}
	const reason = "part 1: no answer from the modem; not sent again"
	if err := s.PartUnknown(ctx, "msg_1", 1, "imeiA", reason, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Sent(ctx, "msg_1", now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PartLateMR(ctx, "imeiB", 7, t0); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("another modem: err = %v, want ErrNotFound", err)
	}
	if _, _, err := s.PartLateMR(ctx, "imeiA", 7, now.Add(time.Second)); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("sent before since: err = %v, want ErrNotFound", err)
	}
	id, part, err := s.PartLateMR(ctx, "imeiA", 7, t0)
	if err != nil || id != "msg_1" || part != 1 {
		t.Fatalf("PartLateMR = %q, %d, %v", id, part, err)
	}
	got := mustMessage(t, s, "msg_1")
	if p := got.Parts[0]; !p.HasMR || p.MR != 7 || p.Error != "" || got.Error != "" {
		t.Errorf("after the late MR: part %+v, message error %q", p, got.Error)
	}
	rep, err := s.ApplyReport(ctx, gateway.Report{Modem: "imeiA", MR: 7, Recipient: m.To, Code: 0, Class: "delivered",
		At: now.Add(time.Minute), Window: time.Hour})
	if err != nil || rep.Status != gateway.StatusDelivered {
		t.Errorf("report after the late MR: %+v, %v; want delivered", rep, err)
	}
	if _, _, err := s.PartLateMR(ctx, "imeiA", 8, t0); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("a second late answer: err = %v, want ErrNotFound (no part left without an MR)", err)
	}
}
