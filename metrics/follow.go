package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/simgate/simgate/events"
	"github.com/simgate/simgate/gateway"
)

// retryAfter is how long Run waits after the event log failed to read.
const retryAfter = time.Second

// Run follows the event log from now on and counts what it says, until ctx
// ends. A failed read is logged and tried again: the metrics never stop the
// gateway.
func (m *Metrics) Run(ctx context.Context) error {
	var r *events.Reader
	for r == nil {
		var err error
		if r, err = events.FromNow(ctx, m.src, events.Settle); err != nil {
			if !m.pause(ctx, err) {
				return nil
			}
		}
	}
	m.follow(ctx, r)
	return nil
}

// follow counts what r reads until ctx ends.
func (m *Metrics) follow(ctx context.Context, r *events.Reader) {
	for {
		evs, err := r.Next(ctx)
		if err != nil {
			if !m.pause(ctx, err) {
				return
			}
			continue
		}
		for _, ev := range evs {
			m.observe(ctx, ev)
		}
	}
}

// pause logs err and waits retryAfter; false when ctx ended.
func (m *Metrics) pause(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return false
	}
	m.log.Warn("metrics: read the event log", "err", err)
	t := time.NewTimer(retryAfter)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// observe counts one event.
func (m *Metrics) observe(ctx context.Context, ev gateway.Event) {
	switch ev.Type {
	case gateway.EventMessageQueued, gateway.EventMessageSent, gateway.EventMessageDelivered,
		gateway.EventMessageFailed, gateway.EventMessageExpired, gateway.EventMessageCanceled:
		var d gateway.MessageEventData
		if json.Unmarshal(ev.Data, &d) != nil {
			return
		}
		m.messages.WithLabelValues(string(d.Status), d.Modem).Inc()
		if d.Status == gateway.StatusSent || d.Status == gateway.StatusDelivered {
			m.latency(ctx, d)
		}
	case gateway.EventSMSReceived:
		var d gateway.InboundEventData
		if json.Unmarshal(ev.Data, &d) == nil {
			m.inbound.WithLabelValues(d.Modem).Inc()
		}
	case gateway.EventOTPApproved:
		m.otpApproved.Inc()
	case gateway.EventOTPFailed:
		m.otpFailed.Inc()
	}
}

// latency observes how long a message took to be sent, or delivered: the
// event has no times of the message's, so the message is read.
func (m *Metrics) latency(ctx context.Context, d gateway.MessageEventData) {
	msg, err := m.src.Message(ctx, d.ID)
	if err != nil {
		m.log.Debug("metrics: read message", "message_id", d.ID, "err", err)
		return
	}
	switch d.Status {
	case gateway.StatusSent:
		start := msg.CreatedAt
		if msg.SendAt.After(start) {
			start = msg.SendAt
		}
		if !msg.SentAt.IsZero() {
			m.sendLatency.WithLabelValues(d.Modem).Observe(msg.SentAt.Sub(start).Seconds())
		}
	case gateway.StatusDelivered:
		if !msg.SentAt.IsZero() && !msg.DeliveredAt.IsZero() {
			took := msg.DeliveredAt.Sub(msg.SentAt).Seconds()
			m.deliveryLatency.WithLabelValues(d.Modem).Observe(took)
			m.routeLatency.WithLabelValues(d.Modem, gateway.DestNetwork(msg.To)).Observe(took)
		}
	}
}
