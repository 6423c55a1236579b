package gateway_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
)

func batch(owner int64, to ...string) []gateway.SendRequest {
	out := make([]gateway.SendRequest, len(to))
	for i, n := range to {
		out[i] = gateway.SendRequest{To: n, Text: "hello", OwnerKey: owner, APIKey: "app"}
	}
	return out
}

// TestSendBatch_AllOrNothing: a refused recipient names its index and no
// commit runs; a batch over the key's quota or burst is refused whole; an
// accepted one commits once and wakes the dispatcher.
func TestSendBatch_AllOrNothing(t *testing.T) {
	db := testkit.OpenStore(t)
	w := &countWaker{}
	clock := testkit.NewClock(svcNow)
	svc := gateway.NewService(gateway.ServiceConfig{Limits: gateway.SendLimits{DailyQuota: 3, Rate: 1, Burst: 2}},
		db, w, clock, nil)
	commits := 0
	commit := func(ctx context.Context, msgs []*gateway.Message) error {
		commits++
		for _, m := range msgs {
			if _, _, err := db.CreateMessage(ctx, m, gateway.IdempotencyKey{}); err != nil {
				return err
			}
		}
		return nil
	}
	_, err := svc.SendBatch(t.Context(), batch(1, "+14155550101", "+1 900 555 0100"), commit)
	var item *gateway.ItemError
	if !errors.As(err, &item) || item.Index != 1 || !errors.Is(err, gateway.ErrInvalid) {
		t.Fatalf("premium-rate second number: %v, want an ItemError at 1", err)
	}
	_, err = svc.SendBatch(t.Context(), batch(1, "+14155550101", "+14155550102", "+14155550103"), commit)
	var ra *gateway.RetryAfterError
	if !errors.As(err, &ra) {
		t.Fatalf("3 at once with a burst of 2: %v, want RetryAfterError", err)
	}
	msgs, err := svc.SendBatch(t.Context(), batch(1, "+14155550101", "+14155550102"), commit)
	if err != nil || len(msgs) != 2 || msgs[0].To != "+14155550101" || msgs[0].ID == msgs[1].ID {
		t.Fatalf("two good numbers: %v %v", msgs, err)
	}
	if commits != 1 {
		t.Errorf("%d commits, want 1: refused batches must not commit", commits)
	}
	if wakes, _ := w.counts(); wakes != 2 {
		t.Errorf("%d wakes, want one per message", wakes)
	}
	clock.Add(10 * time.Second) // the bucket is full again; the day's quota is not
	if _, err := svc.SendBatch(t.Context(), batch(1, "+14155550103", "+14155550104"), commit); !errors.As(err, &ra) || commits != 1 {
		t.Errorf("2 more with 2 of a quota of 3 sent: %v (%d commits), want RetryAfterError and no commit", err, commits)
	}
}
