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
		var timed []gateway.MessageEventData // sent and delivered: their latency
		for _, ev := range evs {
			if d, ok := m.observe(ev); ok {
				timed = append(timed, d)
			}
		}
		m.latencies(ctx, timed)
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

// observe counts one event; timed is a message sent or delivered, whose
// latency is observed once its times are read.
func (m *Metrics) observe(ev gateway.Event) (d gateway.MessageEventData, timed bool) {
	switch ev.Type {
	case gateway.EventMessageQueued, gateway.EventMessageSent, gateway.EventMessageDelivered,
		gateway.EventMessageFailed, gateway.EventMessageExpired, gateway.EventMessageCanceled:
		if json.Unmarshal(ev.Data, &d) != nil {
			return d, false
		}
		m.messages.WithLabelValues(string(d.Status), d.Modem).Inc()
		return d, d.Status == gateway.StatusSent || d.Status == gateway.StatusDelivered
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
	return d, false
}

// latencies observes how long each message of ds took to be sent, or
// delivered: the events have no times of the message's, so they are read,
// a batch at once.
func (m *Metrics) latencies(ctx context.Context, ds []gateway.MessageEventData) {
	if len(ds) == 0 {
		return
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	times, err := m.src.MessageTimes(ctx, ids)
	if err != nil {
		m.log.Debug("metrics: read message times", "messages", len(ids), "err", err)
		return
	}
	for _, d := range ds {
		if t, ok := times[d.ID]; ok {
			m.latency(d, t)
		}
	}
}

// latency observes how long one message took to be sent, or delivered.
func (m *Metrics) latency(d gateway.MessageEventData, t gateway.MessageTimes) {
	switch d.Status {
	case gateway.StatusSent:
		start := t.CreatedAt
		if t.SendAt.After(start) {
			start = t.SendAt
		}
		if !t.SentAt.IsZero() {
			m.sendLatency.WithLabelValues(d.Modem).Observe(t.SentAt.Sub(start).Seconds())
		}
	case gateway.StatusDelivered:
		if !t.SentAt.IsZero() && !t.DeliveredAt.IsZero() {
			took := t.DeliveredAt.Sub(t.SentAt).Seconds()
			m.deliveryLatency.WithLabelValues(d.Modem).Observe(took)
			m.routeLatency.WithLabelValues(d.Modem, gateway.DestNetwork(t.To)).Observe(took)
		}
	}
}
