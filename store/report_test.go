package store

import (
	"slices"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func TestSameNumber(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"+4915112345678", "+4915112345678", true},
		{"+4915112345678", "015112345678", true},   // national form back from the SMSC
		{"+4915112345678", "4915112345678", true},  // international without '+'
		{"+4915112345678", "015112345679", false},  // last digit differs
		{"+4915112345678", "+4915212345678", true}, // differs before the last 8 digits
		{"+12345", "12345", true},                  // short codes compare whole
		{"+12345", "2345", true},                   // the shorter one entirely
		{"+12345", "12346", false},
		{"+4915112345678", "", true}, // no recipient printed: modem and MR decide
		{"+4915112345678", "Vodafone", true},
		{"", "+4915112345678", false},
	}
	for _, tt := range tests {
		if got := sameNumber(tt.a, tt.b); got != tt.want {
			t.Errorf("sameNumber(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// reportFixture is a store with sent messages to report on.
type reportFixture struct {
	t   *testing.T
	s   *Store
	now time.Time
}

func newReportFixture(t *testing.T) *reportFixture {
	return &reportFixture{t: t, s: mustOpen(t), now: t0}
}

// send creates, claims and sends message id to `to` on modem with one MR
// per part, at f.now, which then advances a second.
func (f *reportFixture) send(id, to, modem string, mrs ...int) {
	f.t.Helper()
	m := newMessage(id, f.now.Sub(t0))
	m.To = to
	m.Segments = len(mrs)
	m.Pin = modem
	mustCreate(f.t, f.s, m)
	if got := claimedID(mustClaim(f.t, f.s, modem, f.now)); got != id {
		f.t.Fatalf("claimed %q, want %s", got, id)
	}
	for i, mr := range mrs {
		if err := f.s.PartSent(f.t.Context(), id, i+1, modem, mr, f.now); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := f.s.Sent(f.t.Context(), id, f.now); err != nil {
		f.t.Fatal(err)
	}
	f.now = f.now.Add(time.Second)
}

func (f *reportFixture) report(modem string, mr int, to, class string, code int) (*gateway.Message, error) {
	f.t.Helper()
	f.now = f.now.Add(time.Second)
	return f.s.ApplyReport(f.t.Context(), gateway.Report{
		Modem: modem, MR: mr, Recipient: to, Code: code, Class: class, At: f.now, Window: time.Hour,
	})
}

func (f *reportFixture) mustReport(modem string, mr int, to, class string, code int) *gateway.Message {
	f.t.Helper()
	m, err := f.report(modem, mr, to, class, code)
	if err != nil {
		f.t.Fatalf("ApplyReport(%s, mr %d, %s): %v", modem, mr, class, err)
	}
	return m
}

func TestApplyReport(t *testing.T) {
	const to = "+4915112345678"

	t.Run("Delivered", func(t *testing.T) {
		f := newReportFixture(t)
		f.send("msg_1", to, "imeiA", 17)
		m := f.mustReport("imeiA", 17, to, "delivered", 0x00)
		if m.ID != "msg_1" || m.Status != gateway.StatusDelivered || !m.DeliveredAt.Equal(f.now) || !m.FinishedAt.Equal(f.now) {
			t.Errorf("got %s %s delivered %v finished %v, want msg_1 delivered at %v", m.ID, m.Status, m.DeliveredAt, m.FinishedAt, f.now)
		}
		if p := m.Parts[0]; p.Status != gateway.StatusDelivered || p.ReportCode != 0 || !p.DeliveredAt.Equal(f.now) {
			t.Errorf("part %+v", p)
		}
	})

	t.Run("MRWrap", func(t *testing.T) {
		f := newReportFixture(t)
		f.send("msg_old", to, "imeiA", 5)
		f.now = f.now.Add(10 * time.Minute)
		f.send("msg_new", to, "imeiA", 5) // 256 sends later the MR is 5 again
		m := f.mustReport("imeiA", 5, to, "delivered", 0)
		if m.ID != "msg_new" {
			t.Errorf("matched %s, want the newest, msg_new", m.ID)
		}
		// Once msg_new is final, the next report with MR 5 is msg_old's.
		if m := f.mustReport("imeiA", 5, to, "delivered", 0); m.ID != "msg_old" || m.Status != gateway.StatusDelivered {
			t.Errorf("second report: %s %s, want msg_old delivered", m.ID, m.Status)
		}
	})

	t.Run("Window", func(t *testing.T) {
		f := newReportFixture(t)
		f.send("msg_1", to, "imeiA", 5)
		f.now = f.now.Add(2 * time.Hour)
		_, err := f.report("imeiA", 5, to, "delivered", 0)
		wantErr(t, "report after the window", err, gateway.ErrNotFound)
	})

	t.Run("RecipientForms", func(t *testing.T) {
		f := newReportFixture(t)
		f.send("msg_1", to, "imeiA", 9)
		f.send("msg_2", "+447700900123", "imeiA", 9)
		if m := f.mustReport("imeiA", 9, "015112345678", "delivered", 0); m.ID != "msg_1" {
			t.Errorf("national form matched %s, want msg_1", m.ID)
		}
		f.send("msg_3", "+447700900123", "imeiA", 10)
		if m := f.mustReport("imeiA", 10, "447700900123", "delivered", 0); m.ID != "msg_3" {
			t.Errorf("international form without '+' matched %s, want msg_3", m.ID)
		}
		_, err := f.report("imeiA", 9, "+4915199999999", "delivered", 0)
		wantErr(t, "other recipient", err, gateway.ErrNotFound)
	})

	t.Run("UnknownMRAndModem", func(t *testing.T) {
		f := newReportFixture(t)
		f.send("msg_1", to, "imeiA", 9)
		_, err := f.report("imeiA", 10, to, "delivered", 0)
		wantErr(t, "unknown MR", err, gateway.ErrNotFound)
		_, err = f.report("imeiB", 9, to, "delivered", 0)
		wantErr(t, "other modem", err, gateway.ErrNotFound)
		if m := mustMessage(t, f.s, "msg_1"); m.Status != gateway.StatusSent {
			t.Errorf("status %s after unmatched reports, want sent", m.Status)
		}
	})

	t.Run("PendingThenDelivered", func(t *testing.T) {
		f := newReportFixture(t)
		f.send("msg_1", to, "imeiA", 9)
		m := f.mustReport("imeiA", 9, to, "pending", 0x21)
		if m.Status != gateway.StatusSent || m.Parts[0].Status != gateway.StatusSent || m.Parts[0].ReportCode != 0x21 {
			t.Errorf("after pending: %s, part %+v", m.Status, m.Parts[0])
		}
		m = f.mustReport("imeiA", 9, to, "delivered", 0x00)
		if m.Status != gateway.StatusDelivered || m.Parts[0].ReportCode != 0 {
			t.Errorf("after delivered: %s, part %+v", m.Status, m.Parts[0])
		}
	})

	t.Run("MultipartDeliveredWhenAllAre", func(t *testing.T) {
		f := newReportFixture(t)
		f.send("msg_1", to, "imeiA", 30, 31, 32)
		for i, mr := range []int{32, 30} {
			if m := f.mustReport("imeiA", mr, to, "delivered", 0); m.Status != gateway.StatusSent {
				t.Errorf("after %d of 3 parts delivered: %s, want sent", i+1, m.Status)
			}
		}
		m := f.mustReport("imeiA", 31, to, "delivered", 0)
		if m.Status != gateway.StatusDelivered || !m.DeliveredAt.Equal(f.now) {
			t.Errorf("all delivered: %s at %v, want delivered at %v", m.Status, m.DeliveredAt, f.now)
		}
	})

	t.Run("AnyPartFailed", func(t *testing.T) {
		f := newReportFixture(t)
		f.send("msg_1", to, "imeiA", 40, 41)
		m := f.mustReport("imeiA", 41, to, "failed", 0x46)
		if m.Status != gateway.StatusFailed || m.Error != "status report 0x46" || !m.FinishedAt.Equal(f.now) {
			t.Errorf("got %s %q finished %v", m.Status, m.Error, m.FinishedAt)
		}
		if p := m.Parts[1]; p.Status != gateway.StatusFailed || p.ReportCode != 0x46 || p.Error != "status report 0x46" {
			t.Errorf("part 2 = %+v", p)
		}
		// The other part's delivery is recorded but the message stays failed.
		m = f.mustReport("imeiA", 40, to, "delivered", 0)
		if m.Status != gateway.StatusFailed || m.Parts[0].Status != gateway.StatusDelivered {
			t.Errorf("after the other part delivered: %s, part %s", m.Status, m.Parts[0].Status)
		}
	})

	t.Run("DuplicateHarmless", func(t *testing.T) {
		f := newReportFixture(t)
		f.send("msg_1", to, "imeiA", 50)
		first := f.mustReport("imeiA", 50, to, "delivered", 0)
		for _, class := range []string{"delivered", "failed", "pending"} {
			m := f.mustReport("imeiA", 50, to, class, 0x41)
			if m.Status != gateway.StatusDelivered || !m.DeliveredAt.Equal(first.DeliveredAt) ||
				!m.FinishedAt.Equal(first.FinishedAt) || m.Parts[0].ReportCode != 0 || m.Error != "" {
				t.Errorf("after a duplicate %s report: %+v, want unchanged %+v", class, m, first)
			}
		}
	})

	t.Run("ReportBeforeSent", func(t *testing.T) {
		// A quick SMSC can acknowledge the last part before the worker
		// calls Sent; Sent must then not undo the delivery.
		f := newReportFixture(t)
		mustCreate(t, f.s, newMessage("msg_1", 0))
		mustClaim(t, f.s, "imeiA", f.now)
		if err := f.s.PartSent(t.Context(), "msg_1", 1, "imeiA", 60, f.now); err != nil {
			t.Fatal(err)
		}
		m := f.mustReport("imeiA", 60, "+14155550101", "delivered", 0)
		if m.Status != gateway.StatusDelivered || !m.SentAt.Equal(t0) {
			t.Errorf("got %s sent_at %v, want delivered, sent_at %v", m.Status, m.SentAt, t0)
		}
		if err := f.s.Sent(t.Context(), "msg_1", f.now); err != nil {
			t.Fatalf("Sent: %v", err)
		}
		if m := mustMessage(t, f.s, "msg_1"); m.Status != gateway.StatusDelivered {
			t.Errorf("Sent turned a delivered message %s", m.Status)
		}
		if got := claimedID(mustClaim(t, f.s, "imeiA", f.now.Add(time.Hour))); got != "" {
			t.Errorf("claimed %s after its delivery", got)
		}
		// It passed through sent: a subscriber to message.sent hears of it,
		// before the delivery, and once.
		evs, err := f.s.EventsAfter(t.Context(), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, ev := range evs {
			if ev.Subject == "msg_1" {
				types = append(types, ev.Type)
			}
		}
		if want := []string{"message.queued", "message.sent", "message.delivered"}; !slices.Equal(types, want) {
			t.Errorf("events of msg_1: %v, want %v", types, want)
		}
	})

	t.Run("BadClass", func(t *testing.T) {
		f := newReportFixture(t)
		_, err := f.report("imeiA", 1, to, "unknown", 0)
		wantErr(t, "bad class", err, gateway.ErrInvalid)
	})
}
