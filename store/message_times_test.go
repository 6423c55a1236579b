package store

import (
	"fmt"
	"testing"
	"time"
)

// TestMessageTimes: the times of many messages in one call (more than one
// read's worth), unknown IDs left out, a sent message's sent_at as stored.
func TestMessageTimes(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	var ids []string
	for i := range 300 {
		m := newMessage(fmt.Sprintf("msg_%03d", i), time.Duration(i)*time.Second)
		mustCreate(t, s, m)
		ids = append(ids, m.ID)
	}
	claimed := mustClaim(t, s, "imeiA", t0.Add(time.Hour))
	sentAt := t0.Add(time.Hour + time.Second)
	if err := s.LastPartSent(ctx, claimed.ID, 1, "imeiA", 9, sentAt); err != nil {
		t.Fatal(err)
	}
	got, err := s.MessageTimes(ctx, append(ids, "msg_missing"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 300 {
		t.Fatalf("%d messages, want 300", len(got))
	}
	if tm := got["msg_299"]; !tm.CreatedAt.Equal(t0.Add(299*time.Second)) || tm.To != "+14155550101" || !tm.SentAt.IsZero() {
		t.Errorf("msg_299 = %+v", tm)
	}
	if tm := got[claimed.ID]; !tm.SentAt.Equal(sentAt) {
		t.Errorf("%s sent at %v, want %v", claimed.ID, tm.SentAt, sentAt)
	}
}
