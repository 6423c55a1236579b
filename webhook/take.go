package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/simgate/simgate/events"
	"github.com/simgate/simgate/gateway"
)

// take follows the event log from the Notifier's cursor and moves each
// batch into the outbox. After an error it starts again from the cursor,
// which moved only with the rows of the batches taken.
func (n *Notifier) take(ctx context.Context) {
	for ctx.Err() == nil {
		// It returns only with an error: a failed read or write, or ctx.
		if err := n.takeFromCursor(ctx); ctx.Err() == nil {
			n.log.Error("take events into the webhook outbox", "err", err)
			sleep(ctx, n.cfg.PollEvery)
		}
	}
}

func (n *Notifier) takeFromCursor(ctx context.Context) error {
	seq, err := n.store.EventCursor(ctx, Consumer)
	if err != nil {
		return err
	}
	r := events.NewReader(n.store, seq, events.Settle)
	saved, savedAt := seq, n.clock.Now()
	for {
		evs, err := r.Next(ctx)
		if err != nil {
			return err
		}
		// The subscriptions are read after the events: an endpoint committed
		// before an event is seen here.
		subscribed, err := n.subscribed(ctx)
		if err != nil {
			return err
		}
		rows, err := outboxEvents(evs, subscribed)
		if err != nil {
			return err
		}
		now := n.clock.Now()
		if len(rows) == 0 && r.Seq()-saved < cursorLag && now.Sub(savedAt) < cursorEvery {
			// Nothing to deliver: the cursor need not move on disk yet, and
			// the writer stays free. Taken again after a crash, these
			// events still go to no one.
			continue
		}
		k, err := n.store.EnqueueEvents(ctx, Consumer, r.Seq(), rows, now)
		if err != nil {
			return err
		}
		saved, savedAt = r.Seq(), now
		if k > 0 {
			n.Wake()
		}
	}
}

// How far the cursor on disk may lag behind events that went to no one.
const (
	cursorLag   = 1024
	cursorEvery = 10 * time.Second
)

// subscribed is the set of event types some live endpoint wants. It is
// read again at most once a second, and at once after this Notifier
// created or deleted an endpoint; another process's new endpoint is seen
// within the second.
func (n *Notifier) subscribed(ctx context.Context) (map[string]bool, error) {
	n.subMu.Lock()
	defer n.subMu.Unlock()
	now := time.Now()
	if n.subs != nil && now.Sub(n.subsAt) < time.Second {
		return n.subs, nil
	}
	eps, err := n.store.Webhooks(ctx)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, e := range eps {
		for _, ev := range e.Events {
			set[ev] = true
		}
	}
	n.subs, n.subsAt = set, now
	return set, nil
}

// forgetSubscriptions makes the next batch read the endpoints again.
func (n *Notifier) forgetSubscriptions() {
	n.subMu.Lock()
	n.subs = nil
	n.subMu.Unlock()
}

// outboxEvents gives each event that some endpoint is subscribed to its
// body: {type, timestamp, data}, the Standard Webhooks shape.
func outboxEvents(evs []gateway.Event, subscribed map[string]bool) ([]gateway.OutboxEvent, error) {
	out := make([]gateway.OutboxEvent, 0, len(evs))
	for _, ev := range evs {
		variant := variantOf(ev)
		if !subscribed[ev.Type] && (variant == "" || !subscribed[variant]) {
			continue
		}
		body, err := json.Marshal(webhookPayload{Type: ev.Type, Timestamp: ev.At.UTC(), Data: ev.Data})
		if err != nil {
			return nil, fmt.Errorf("webhook body of %s: %w", ev.ID, err)
		}
		out = append(out, gateway.OutboxEvent{Event: ev, Payload: body, Variant: variant})
	}
	return out, nil
}

// variantOf is the narrower name of ev an endpoint may subscribe to: a
// received SMS is data when it has data or an application port (as
// Android tells them apart; a withheld one keeps its port), else text.
func variantOf(ev gateway.Event) string {
	if ev.Type != gateway.EventSMSReceived {
		return ""
	}
	var d struct {
		Data string `json:"data"`
		Port *int   `json:"port"`
	}
	if json.Unmarshal(ev.Data, &d) == nil && (d.Data != "" || d.Port != nil) {
		return gateway.EventSMSReceivedData
	}
	return gateway.EventSMSReceivedText
}

// prune drops, at most once an hour, the events past EventRetention that
// the Notifier (the log's durable consumer) has taken.
func (n *Notifier) prune(ctx context.Context) {
	now := n.clock.Now()
	if now.Sub(n.pruned) < time.Hour {
		return
	}
	n.pruned = now
	if k, err := n.store.PruneEvents(ctx, now.Add(-gateway.EventRetention)); err != nil && ctx.Err() == nil {
		n.log.Error("prune the event log", "err", err)
	} else if k > 0 {
		n.log.Debug("events pruned", "count", k)
	}
}
