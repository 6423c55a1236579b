package main

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modemdev"
	"github.com/simgate/simgate/session"
)

// escalationCounter registers simgate_modem_escalations_total{modem,step}
// on reg and returns what the supervisor calls at each step it takes for a
// hung modem (session.Config.OnEscalation): session imports no metrics
// library, the composition root bridges the two.
func escalationCounter(reg prometheus.Registerer) func(imei string, step session.Step) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "simgate",
		Subsystem: "modem",
		Name:      "escalations_total",
		Help:      "Steps taken to bring back a modem that stopped answering (resync, cfun_reset, reopen, usb_reset, locate), by modem IMEI and step.",
	}, []string{"modem", "step"})
	reg.MustRegister(c)
	return func(imei string, step session.Step) { c.WithLabelValues(imei, string(step)).Inc() }
}

// pauseCounter registers simgate_modem_pauses_total{modem} and
// simgate_modem_paused_seconds_total{modem} on reg and returns what the
// dispatcher calls when it pauses a modem after a network-side send error
// (dispatch.Config.OnPause), as escalationCounter does for the supervisor.
func pauseCounter(reg prometheus.Registerer) func(imei, reason string, length time.Duration) {
	n := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "simgate",
		Subsystem: "modem",
		Name:      "pauses_total",
		Help:      "Times a modem stopped taking messages for a while after the network refused a send for now (+CMS ERROR 331, 332, …), by modem IMEI.",
	}, []string{"modem"})
	secs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "simgate",
		Subsystem: "modem",
		Name:      "paused_seconds_total",
		Help:      "Length of those pauses, summed, by modem IMEI.",
	}, []string{"modem"})
	reg.MustRegister(n, secs)
	return func(imei, _ string, length time.Duration) {
		n.WithLabelValues(imei).Inc()
		secs.WithLabelValues(imei).Add(length.Seconds())
	}
}

// resetUSB is session.Config.ResetUSB on modemdev.ResetUSB: a port that
// is no USB device's tty is a skipped step, not an error.
func resetUSB(ctx context.Context, port string) (string, error) {
	how, err := modemdev.ResetUSB(ctx, port)
	if errors.Is(err, modemdev.ErrNotUSB) {
		return "", nil
	}
	return how, err
}

// locateByIMEI is session.Config.Locate for configured ports: it probes
// the USB serial ports no session holds and returns the one whose modem
// has imei.
func locateByIMEI(cfg modem.Config) func(ctx context.Context, imei string, skip func(string) bool) (string, error) {
	return func(ctx context.Context, imei string, skip func(string) bool) (string, error) {
		found, err := modem.DiscoverSkipping(ctx, cfg, skip)
		for _, f := range found {
			if f.IMEI == imei && f.Port != "" {
				return f.Port, nil
			}
		}
		return "", err
	}
}
