package metrics

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/events"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
)

const imei = "350000000000014"

// value is the value of the series name{labels} gathered from reg
// (a histogram's sample count); ok is false when there is no such series.
func value(t *testing.T, reg *prometheus.Registry, name string, labels ...string) (v float64, ok bool) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			if len(s.GetLabel()) != len(want) {
				continue
			}
			for _, l := range s.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			switch {
			case s.Counter != nil:
				return s.Counter.GetValue(), true
			case s.Gauge != nil:
				return s.Gauge.GetValue(), true
			case s.Histogram != nil:
				return float64(s.Histogram.GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// waitValue polls until name{labels} is want.
func waitValue(t *testing.T, reg *prometheus.Registry, want float64, name string, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, ok := value(t, reg, name, labels...)
		if ok && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v (present %v), want %v", name, labels, got, ok, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// histogramSum is the sum of the histogram name{labels}.
func histogramSum(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	fams, _ := reg.Gather()
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			if f.GetName() != name || s.Histogram == nil {
				continue
			}
			var got []string
			for _, l := range s.GetLabel() {
				got = append(got, l.GetName(), l.GetValue())
			}
			if fmt.Sprint(got) == fmt.Sprint(labels) {
				return s.Histogram.GetSampleSum()
			}
		}
	}
	t.Fatalf("no histogram %s%v", name, labels)
	return 0
}

// The counters follow the event log: a message queued, sent and delivered,
// with its latencies from the message's own times, and an inbound SMS; the
// gauges read the queue and the modems from the store at the scrape.
func TestMetrics_EventsAndStore(t *testing.T) {
	st := testkit.OpenStore(t)
	reg := prometheus.NewRegistry()
	m := New(st, reg, nil)
	r, err := events.FromNow(t.Context(), st, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { m.follow(ctx, r); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	clock := testkit.NewClock(t0)
	svc := gateway.NewService(gateway.ServiceConfig{}, st, nil, clock, nil)
	msg, _, err := svc.Send(t.Context(), gateway.SendRequest{To: "+14155550101", Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Send(t.Context(), gateway.SendRequest{To: "+14155550102", Text: "code", Priority: "high"}); err != nil {
		t.Fatal(err)
	}
	claimed, err := st.ClaimNext(t.Context(), gateway.Claim{Modem: imei, Now: t0, Lease: time.Minute})
	if err != nil || claimed == nil {
		t.Fatalf("ClaimNext: %v %v", claimed, err)
	}
	claimedNormal := claimed.ID == msg.ID
	if err := st.PartSent(t.Context(), claimed.ID, 1, imei, 42, t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := st.Sent(t.Context(), claimed.ID, t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyReport(t.Context(), gateway.Report{Modem: imei, MR: 42, Recipient: claimed.To,
		Class: "delivered", At: t0.Add(10 * time.Second), Window: time.Hour}); err != nil {
		t.Fatalf("ApplyReport: %v", err)
	}
	in := &gateway.InboundMessage{ID: gateway.NewID("in_", t0), Modem: imei, From: "+14155550199", Text: "hi", Parts: 1, ReceivedAt: t0}
	if err := st.SaveInbound(t.Context(), in, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.UpsertModem(t.Context(), gateway.ModemInfo{IMEI: imei, State: gateway.ModemOnline, Registration: "roaming",
		DBM: -81, CSQ: 16, SignalKnown: true, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}

	waitValue(t, reg, 2, "simgate_messages_total", "modem", "", "status", "queued")
	waitValue(t, reg, 1, "simgate_messages_total", "modem", imei, "status", "sent")
	waitValue(t, reg, 1, "simgate_messages_total", "modem", imei, "status", "delivered")
	waitValue(t, reg, 1, "simgate_inbound_received_total", "modem", imei)
	if got := histogramSum(t, reg, "simgate_message_send_latency_seconds", "modem", imei); got != 3 {
		t.Errorf("send latency sum = %v, want 3 (created → sent)", got)
	}
	if got := histogramSum(t, reg, "simgate_message_delivery_latency_seconds", "modem", imei); got != 7 {
		t.Errorf("delivery latency sum = %v, want 7 (sent → delivered)", got)
	}
	if got := histogramSum(t, reg, "simgate_route_delivery_latency_seconds", "modem", imei, "network", gateway.DestNetwork(claimed.To)); got != 7 {
		t.Errorf("route delivery latency sum = %v, want 7 on the route to %s", got, gateway.DestNetwork(claimed.To))
	}
	lane := "high" // the high-priority message is claimed first, and is sent
	if claimedNormal {
		lane = "normal"
	}
	for _, l := range []string{"high", "normal", "low"} {
		want := 1.0
		if l == lane || l == "low" {
			want = 0
		}
		waitValue(t, reg, want, "simgate_queue_depth", "lane", l)
	}
	waitValue(t, reg, 1, "simgate_modem_state", "modem", imei, "state", "online")
	waitValue(t, reg, 0, "simgate_modem_state", "modem", imei, "state", "offline")
	waitValue(t, reg, 1, "simgate_modem_registration", "modem", imei, "registration", "roaming")
	waitValue(t, reg, -81, "simgate_modem_signal_dbm", "modem", imei)
}

// Every series name starts simgate_ and carries help, so that the
// dashboard and the README can rely on them.
func TestMetrics_Names(t *testing.T) {
	st := testkit.OpenStore(t)
	reg := prometheus.NewRegistry()
	New(st, reg, nil)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if !strings.HasPrefix(f.GetName(), "simgate_") || f.GetHelp() == "" {
			t.Errorf("series %s: want the simgate_ prefix and a help text", f.GetName())
		}
	}
}
