package metrics

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/simgate/simgate/gateway"
)

// Opener wraps open so that every device it opens counts its sends: parts
// accepted, the time +CMGS took, and the modem's errors by class. A
// device's series carry its IMEI once Identity has told it.
func (m *Metrics) Opener(open gateway.Opener) gateway.Opener {
	return func(ctx context.Context, port string) (gateway.Device, error) {
		d, err := open(ctx, port)
		if err != nil {
			return nil, err
		}
		return &device{Device: d, m: m}, nil
	}
}

// device is a gateway.Device that reports its sends; every other method
// is the wrapped device's.
type device struct {
	gateway.Device
	m    *Metrics
	imei atomic.Value // string
}

// Unwrap returns the wrapped device, for a capability beyond
// gateway.Device (the session's Recoverer).
func (d *device) Unwrap() gateway.Device { return d.Device }

func (d *device) Identity(ctx context.Context) (gateway.DeviceIdentity, error) {
	id, err := d.Device.Identity(ctx)
	if err == nil && id.IMEI != "" {
		d.imei.Store(id.IMEI)
		d.m.initModem(id.IMEI)
	}
	return id, err
}

func (d *device) SendPDU(ctx context.Context, tpduLen int, pduHex string) (int, error) {
	start := time.Now()
	mr, err := d.Device.SendPDU(ctx, tpduLen, pduHex)
	imei, _ := d.imei.Load().(string)
	var de *gateway.DeviceError
	switch {
	case err == nil:
		d.m.partsSent.WithLabelValues(imei).Inc()
		d.m.cmgs.WithLabelValues(imei).Observe(time.Since(start).Seconds())
	case errors.As(err, &de):
		d.m.cmsErrors.WithLabelValues(imei, string(de.Class)).Inc()
	}
	return mr, err
}

// OTPStore is the OTP service's storage (otp.Store): verifications and the
// event log.
type OTPStore interface {
	gateway.OTPStore
	gateway.EventLog
}

// OTPStore wraps s so that each verification it commits is counted: sent
// by channel, or blocked by the reason's kind.
func (m *Metrics) OTPStore(s OTPStore) OTPStore { return otpStore{OTPStore: s, m: m} }

type otpStore struct {
	OTPStore
	m *Metrics
}

func (s otpStore) CreateVerification(ctx context.Context, now time.Time, owner int64, to, purpose, prefix string,
	decide func(existing *gateway.OTPRecord, c gateway.OTPCounts) (*gateway.OTPRecord, error)) (*gateway.OTPRecord, error) {
	var made *gateway.OTPRecord
	rec, err := s.OTPStore.CreateVerification(ctx, now, owner, to, purpose, prefix,
		func(existing *gateway.OTPRecord, c gateway.OTPCounts) (*gateway.OTPRecord, error) {
			r, err := decide(existing, c)
			made = nil // a retried transaction decides again
			if err == nil && r != nil && (existing == nil || r.ID != existing.ID) {
				made = r
			}
			return r, err
		})
	if err != nil || made == nil || rec == nil || rec.ID != made.ID {
		return rec, err
	}
	if rec.Status == gateway.OTPBlocked {
		s.m.otpBlocked.WithLabelValues(blockReason(rec.BlockReason)).Inc()
	} else {
		s.m.otpSent.WithLabelValues(rec.Channel).Inc()
	}
	return rec, nil
}

// Reasons a verification is blocked, by kind: the otp limits' words
// (otp_limits.go) are free text with numbers and prefixes in them.
var blockReasons = []string{"country", "number_type", "prefix_blocked", "number_hourly", "number_daily", "prefix_hourly", "other"}

// blockReason is the kind of an OTP block reason.
func blockReason(reason string) string {
	switch {
	case strings.HasPrefix(reason, "country "):
		return "country"
	case strings.HasPrefix(reason, "number type "):
		return "number_type"
	case strings.HasPrefix(reason, "prefix ") && strings.Contains(reason, " blocked"):
		return "prefix_blocked"
	case strings.HasPrefix(reason, "number had ") && strings.HasSuffix(reason, "hour"):
		return "number_hourly"
	case strings.HasPrefix(reason, "number had "):
		return "number_daily"
	case strings.HasPrefix(reason, "prefix ") && strings.HasSuffix(reason, "hour"):
		return "prefix_hourly"
	}
	return "other"
}

// WebhookStore is the Notifier's storage (webhook.Store): endpoints, the
// outbox and the event log.
type WebhookStore interface {
	gateway.WebhookStore
	gateway.EventLog
}

// WebhookStore wraps s so that each delivery attempt recorded is counted
// by result: delivered, retry (pending again) or failed.
func (m *Metrics) WebhookStore(s WebhookStore) WebhookStore {
	return webhookStore{WebhookStore: s, m: m}
}

type webhookStore struct {
	WebhookStore
	m *Metrics
}

// Webhook attempt results.
const (
	resultDelivered = "delivered"
	resultRetry     = "retry"
	resultFailed    = "failed"
)

func (s webhookStore) FinishWebhook(ctx context.Context, d gateway.WebhookDelivery) error {
	if err := s.WebhookStore.FinishWebhook(ctx, d); err != nil {
		return err
	}
	switch d.Status {
	case gateway.WebhookDelivered:
		s.m.webhooks.WithLabelValues(resultDelivered).Inc()
	case gateway.WebhookPending:
		s.m.webhooks.WithLabelValues(resultRetry).Inc()
	case gateway.WebhookFailed:
		s.m.webhooks.WithLabelValues(resultFailed).Inc()
	}
	return nil
}
