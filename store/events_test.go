package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// TestEventLog: events read back in order after a position, the log's
// signal wakes a reader at an append, and pruning drops only old events
// that every durable consumer has taken.
func TestEventLog(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	woken := s.Appended()
	for i, typ := range []string{gateway.EventMessageQueued, gateway.EventMessageSent, gateway.EventMessageDelivered} {
		ev, err := gateway.NewEvent(typ, "msg_1", map[string]int{"n": i}, t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AppendEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-woken:
	default:
		t.Fatal("an append did not close the channel Appended returned before it")
	}
	evs, err := s.EventsAfter(ctx, 1, 10)
	if err != nil || len(evs) != 2 || evs[0].Type != gateway.EventMessageSent || evs[1].Seq != 3 {
		t.Fatalf("EventsAfter(1) = %+v, %v", evs, err)
	}
	if last, err := s.LastEventSeq(ctx); err != nil || last != 3 {
		t.Fatalf("LastEventSeq = %d, %v", last, err)
	}
	// One consumer has taken two events: only those may go, and only once old.
	if _, err := s.EnqueueEvents(ctx, "webhooks", 2, nil, t0); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneEvents(ctx, t0); err != nil || n != 0 {
		t.Errorf("PruneEvents before any is old = %d, %v; want 0", n, err)
	}
	if n, err := s.PruneEvents(ctx, t0.Add(time.Hour)); err != nil || n != 2 {
		t.Errorf("PruneEvents = %d, %v; want the 2 taken", n, err)
	}
	if evs, _ := s.EventsAfter(ctx, 0, 10); len(evs) != 1 || evs[0].Seq != 3 {
		t.Errorf("after pruning: %+v, want only event 3", evs)
	}
}

// TestStateChangesAppendEvents: each state change appends its event in its
// own transaction — and a change that changes nothing (a report applied
// again to a final part, a health reading with nothing new) appends none.
func TestStateChangesAppendEvents(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	const imei = "356938035643809"
	mustCreate(t, s, newMessage("msg_a", 0))
	mustCreate(t, s, newMessage("msg_b", time.Second))
	m := mustClaim(t, s, imei, t0.Add(time.Minute))
	if err := s.PartSent(ctx, m.ID, 1, imei, 42, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Sent(ctx, m.ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	rep := gateway.Report{Modem: imei, MR: 42, Recipient: m.To, Code: 0, Class: "delivered", At: t0.Add(2 * time.Minute), Window: time.Hour}
	for range 2 { // the second is a duplicate
		if _, err := s.ApplyReport(ctx, rep); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CancelMessage(ctx, "msg_b", t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second reading changes nothing
		if err := s.UpsertModem(ctx, gateway.ModemInfo{IMEI: imei, State: gateway.ModemOnline, Bars: 3, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UpsertModem(ctx, gateway.ModemInfo{IMEI: imei, State: gateway.ModemOnline, Bars: 2, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveInbound(ctx, &gateway.InboundMessage{ID: "in_1", Modem: imei, From: "+14155550199", Text: "hi", Parts: 1, ReceivedAt: t0}, nil); err != nil {
		t.Fatal(err)
	}
	evs, err := s.EventsAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Type+" "+ev.Subject)
	}
	want := []string{
		"message.queued msg_a", "message.queued msg_b", "message.sent " + m.ID, "message.delivered " + m.ID,
		"message.canceled msg_b", "modem.online " + imei, "modem.updated " + imei, "sms.received in_1",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events:\n got %v\nwant %v", got, want)
	}
}
