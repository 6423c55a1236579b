// Package metrics gives /metrics the gateway's own figures: messages,
// queue, latency, modems, inbound SMS, OTP and webhooks (README.md's
// Metrics section lists them).
//
// It reads rather than being told: counters follow the event stream (an
// events.Reader, from the present on, so they count from the start of the
// process as Prometheus counters do), gauges are read from the store at
// each scrape (a prometheus.Collector), and the few figures that only a
// component's calls show — a part's +CMGS time, CMS errors by class, OTP
// blocks by reason, webhook attempts — come from decorators of the ports
// the composition root hands those components (Opener, OTPStore,
// WebhookStore), so no other package knows this one.
package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/gateway"
)

// Source is what the metrics read: the event log, a message's times, the
// modems and the queue's counts.
type Source interface {
	gateway.EventLog
	MessageTimes(ctx context.Context, ids []string) (map[string]gateway.MessageTimes, error)
	Modems(ctx context.Context) ([]gateway.ModemInfo, error)
	QueueCounts(ctx context.Context) ([]gateway.QueueCount, error)
}

// Metrics holds the domain series. Build it with New, register it once,
// run Run for the event-driven counters and wrap the ports with Opener,
// OTPStore and WebhookStore.
type Metrics struct {
	src Source
	log *slog.Logger

	messages        *prometheus.CounterVec   // status, modem
	sendLatency     *prometheus.HistogramVec // modem
	deliveryLatency *prometheus.HistogramVec // modem
	routeLatency    *prometheus.HistogramVec // modem, network: the routes OTP routing learns
	inbound         *prometheus.CounterVec   // modem
	otpApproved     prometheus.Counter
	otpFailed       prometheus.Counter

	partsSent *prometheus.CounterVec   // modem
	cmgs      *prometheus.HistogramVec // modem
	cmsErrors *prometheus.CounterVec   // modem, class

	otpSent    *prometheus.CounterVec // channel
	otpBlocked *prometheus.CounterVec // reason
	webhooks   *prometheus.CounterVec // result

	backupLast prometheus.Gauge
}

// New builds the series and registers them, with the store-backed gauges,
// on reg. A nil logger discards.
func New(src Source, reg prometheus.Registerer, logger *slog.Logger) *Metrics {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "simgate", Name: name, Help: help}, labels)
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "simgate", Name: name, Help: help, Buckets: buckets}, labels)
	}
	m := &Metrics{
		src: src, log: logger,
		messages: counter("messages_total", "Messages that reached each status, by modem (empty while no modem has it).", "status", "modem"),
		sendLatency: histogram("message_send_latency_seconds", "From accepted (or send_at) to every part accepted by the SMSC.",
			[]float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600}, "modem"),
		deliveryLatency: histogram("message_delivery_latency_seconds", "From sent to every part delivered (status reports).",
			[]float64{1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600, 4 * 3600, 24 * 3600}, "modem"),
		routeLatency: histogram("route_delivery_latency_seconds",
			"From sent to delivered, by modem and destination network (libphonenumber's carrier, else country and prefix): the routes OTP routing chooses among.",
			[]float64{1, 2.5, 5, 10, 15, 20, 30, 60, 120, 300, 900, 3600}, "modem", "network"),
		inbound:     counter("inbound_received_total", "SMS received, by modem.", "modem"),
		otpApproved: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "simgate", Name: "otp_approved_total", Help: "Verifications approved."}),
		otpFailed:   prometheus.NewCounter(prometheus.CounterOpts{Namespace: "simgate", Name: "otp_failed_total", Help: "Verifications whose code could not be delivered."}),
		partsSent:   counter("parts_sent_total", "SMS parts accepted by the SMSC (+CMGS answered), by modem.", "modem"),
		cmgs: histogram("part_send_duration_seconds", "Time from AT+CMGS to the modem's answer, by modem.",
			[]float64{.1, .25, .5, 1, 2, 3, 5, 10, 20, 30, 60}, "modem"),
		cmsErrors:  counter("cms_errors_total", "Send errors the modem answered (+CMS/+CME), by modem and class.", "modem", "class"),
		otpSent:    counter("otp_sent_total", "Verifications started and sent, by channel.", "channel"),
		otpBlocked: counter("otp_blocked_total", "Verifications the abuse limits refused, by reason.", "reason"),
		webhooks:   counter("webhook_deliveries_total", "Webhook delivery attempts, by result (delivered, retry, failed).", "result"),
		backupLast: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "simgate", Name: "backup_last_success_timestamp_seconds",
			Help: "When the last scheduled backup was written (unix seconds); 0 since start."}),
	}
	for _, c := range []string{gateway.ChannelSMS, gateway.ChannelEmail} {
		m.otpSent.WithLabelValues(c)
	}
	for _, r := range blockReasons {
		m.otpBlocked.WithLabelValues(r)
	}
	for _, r := range []string{resultDelivered, resultRetry, resultFailed} {
		m.webhooks.WithLabelValues(r)
	}
	reg.MustRegister(m.messages, m.sendLatency, m.deliveryLatency, m.routeLatency, m.inbound, m.otpApproved, m.otpFailed,
		m.partsSent, m.cmgs, m.cmsErrors, m.otpSent, m.otpBlocked, m.webhooks, m.backupLast, &collector{m: m})
	return m
}

// BackupWritten records a scheduled backup written at t.
func (m *Metrics) BackupWritten(t time.Time) { m.backupLast.Set(float64(t.Unix())) }

// initModem makes a modem's per-modem series appear (at zero) as soon as it
// is known, so that graphs and alerts see it before its first send.
func (m *Metrics) initModem(imei string) {
	m.partsSent.WithLabelValues(imei)
	m.cmgs.WithLabelValues(imei)
	m.inbound.WithLabelValues(imei)
	m.sendLatency.WithLabelValues(imei)
	m.deliveryLatency.WithLabelValues(imei)
	for _, c := range []gateway.ErrorClass{gateway.ClassPermanent, gateway.ClassBadPDU, gateway.ClassTransient, gateway.ClassModemState, gateway.ClassUnknown} {
		m.cmsErrors.WithLabelValues(imei, string(c))
	}
}
