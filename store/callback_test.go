package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// TestCallbacks_CommittedWithTheMessageAndPruned: a message's callback
// request is stored with it; outbox rows come once per (event, kind), are
// due in order, finish, and only finished old rows are pruned.
func TestCallbacks_CommittedWithTheMessageAndPruned(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	m := newMessage(msgID(1), 0)
	m.Callback = &gateway.MessageCallback{Kind: "kannel", Data: json.RawMessage(`{"url":"http://h/"}`)}
	mustCreate(t, s, m)
	mustCreate(t, s, newMessage(msgID(2), 0))
	regs, err := s.MessageCallbacks(ctx, "kannel", []string{msgID(1), msgID(2), "msg_none"})
	if err != nil || len(regs) != 1 || string(regs[msgID(1)]) != `{"url":"http://h/"}` {
		t.Fatalf("MessageCallbacks = %v, %v; want msg 1's alone", regs, err)
	}
	if regs, _ := s.MessageCallbacks(ctx, "other", []string{msgID(1)}); len(regs) != 0 {
		t.Errorf("another kind's callbacks: %v", regs)
	}

	old, recent := t0.Add(-8*24*time.Hour), t0
	rows := []gateway.CallbackDelivery{
		{ID: "cb_1", EventID: "evt_1", Kind: "kannel", MessageID: msgID(1), URL: "http://h/1", NextAttempt: old, CreatedAt: old},
		{ID: "cb_2", EventID: "evt_2", Kind: "kannel", MessageID: msgID(1), URL: "http://h/2", NextAttempt: old.Add(time.Second), CreatedAt: old},
		{ID: "cb_3", EventID: "evt_3", Kind: "kannel", MessageID: msgID(1), URL: "http://h/3", NextAttempt: recent, CreatedAt: recent},
	}
	if n, err := s.EnqueueCallbacks(ctx, "kannel-dlr", 7, rows); err != nil || n != 3 {
		t.Fatalf("EnqueueCallbacks = %d, %v", n, err)
	}
	rows[0].ID = "cb_other" // the same event taken again after a crash
	if n, err := s.EnqueueCallbacks(ctx, "kannel-dlr", 7, rows[:1]); err != nil || n != 0 {
		t.Fatalf("EnqueueCallbacks of a taken event = %d, %v; want 0", n, err)
	}
	if seq, err := s.EventCursor(ctx, "kannel-dlr"); err != nil || seq != 7 {
		t.Errorf("cursor = %d, %v; want 7", seq, err)
	}
	due, err := s.DueCallbacks(ctx, t0.Add(-time.Hour), 10)
	if err != nil || len(due) != 2 || due[0].ID != "cb_1" || due[1].ID != "cb_2" {
		t.Fatalf("DueCallbacks = %+v, %v; want cb_1, cb_2", due, err)
	}
	due[0].Status, due[0].Attempts = gateway.CallbackDelivered, 1
	due[1].Status, due[1].Attempts, due[1].NextAttempt, due[1].LastError = gateway.CallbackPending, 1, t0.Add(time.Hour), "http 500"
	for _, d := range due {
		if err := s.FinishCallback(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.PruneCallbacks(ctx, t0.Add(-7*24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("PruneCallbacks = %d, %v; want the old delivered row", n, err)
	}
	cs, err := s.Callbacks(ctx, msgID(1))
	if err != nil || len(cs) != 2 || cs[0].ID != "cb_2" || cs[0].LastError != "http 500" || !cs[0].NextAttempt.Equal(t0.Add(time.Hour)) || cs[1].ID != "cb_3" {
		t.Errorf("rows left %+v, %v; want the pending cb_2 (retry at t0+1h) and the recent cb_3", cs, err)
	}
}
