package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/webhook"
)

// hangingReceiver is an endpoint that holds every request until the
// client gives up, or answers 200 once healthy is set. hits counts the
// requests it got.
type hangingReceiver struct {
	*httptest.Server
	hits    atomic.Int32
	healthy atomic.Bool
}

func newHangingReceiver(t *testing.T) *hangingReceiver {
	t.Helper()
	r := &hangingReceiver{}
	release := make(chan struct{})
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		if r.healthy.Load() {
			w.WriteHeader(http.StatusOK)
			return
		}
		select {
		case <-req.Context().Done():
		case <-release:
		}
	}))
	// Cleanups run last first: the handlers return before Close waits
	// for them.
	t.Cleanup(r.Close)
	t.Cleanup(func() { close(release) })
	return r
}

// waitRows waits until every outbox row of endpoint satisfies ok, and
// there are want of them.
func (r *notifierRig) waitRows(endpoint string, want int, what string, ok func(gateway.WebhookDelivery) bool) []gateway.WebhookDelivery {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, err := r.st.WebhookDeliveries(context.Background(), endpoint)
		if err != nil {
			r.t.Fatal(err)
		}
		all := len(rows) == want
		for _, d := range rows {
			all = all && ok(d)
		}
		if all {
			return rows
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("outbox of %s never %d rows %s: %+v", endpoint, want, what, rows)
		}
		time.Sleep(time.Millisecond) // polling the database for a state, not timing
	}
}

func delivered(d gateway.WebhookDelivery) bool { return d.Status == gateway.WebhookDelivered }

// TestNotifier_SlowReceiversDoNotDelayOthers: eight receivers hold every
// request open, with a timeout far longer than the test; a healthy one
// still gets every event while their requests hang. A delivery that
// waited for a slow receiver would never come: no timing is measured.
func TestNotifier_SlowReceiversDoNotDelayOthers(t *testing.T) {
	r := newNotifierRig(t)
	r.n = webhook.New(webhook.Config{PollEvery: 5 * time.Millisecond, Timeout: time.Hour}, r.st, r.clock, nil)
	var hanging []*hangingReceiver
	for range 8 {
		h := newHangingReceiver(t)
		hanging = append(hanging, h)
		r.endpoint(h.URL, gateway.EventMessageSent)
	}
	rcv := newReceiver(t, always(http.StatusOK))
	ep := r.endpoint(rcv.URL, gateway.EventMessageSent)
	r.run()

	const events = 6
	for i := range events {
		r.notify(gateway.EventMessageSent, gateway.MessageEventData{ID: "msg_" + string(rune('a'+i)), Status: gateway.StatusSent, Segments: 1})
	}
	for got := 0; got < events; got++ {
		select {
		case <-rcv.got:
		case <-time.After(30 * time.Second):
			t.Fatalf("the healthy receiver got %d of %d events while the slow ones hang", got, events)
		}
	}
	r.waitRows(ep.ID, events, "delivered", delivered)
	// The slow ones were tried meanwhile, and are still hanging: their
	// rows are not delivered.
	for i, h := range hanging {
		deadline := time.Now().Add(30 * time.Second)
		for h.hits.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("hanging receiver %d was never tried", i)
			}
			time.Sleep(time.Millisecond) // polling for a state, not timing
		}
	}
}

// TestNotifier_ParksDeadEndpoint: an endpoint that times out five times in
// a row is parked — its rows stay pending and it gets no request while
// parked, though they are due — and is delivered once unparked.
func TestNotifier_ParksDeadEndpoint(t *testing.T) {
	r := newNotifierRig(t)
	r.n = webhook.New(webhook.Config{PollEvery: 5 * time.Millisecond, Timeout: 200 * time.Millisecond}, r.st, r.clock, nil)
	dead := newHangingReceiver(t)
	ep := r.endpoint(dead.URL, gateway.EventMessageSent)
	barrier := newReceiver(t, always(http.StatusOK))
	bar := r.endpoint(barrier.URL, gateway.EventModemOnline)
	r.run()

	const events = 5 // the default ParkAfter
	for i := range events {
		r.notify(gateway.EventMessageSent, gateway.MessageEventData{ID: "msg_" + string(rune('a'+i)), Status: gateway.StatusSent, Segments: 1})
	}
	r.waitRows(ep.ID, events, "attempted once", func(d gateway.WebhookDelivery) bool {
		return d.Attempts == 1 && d.Status == gateway.WebhookPending
	})
	if n := dead.hits.Load(); n != events {
		t.Fatalf("the dead endpoint got %d requests, want %d", n, events)
	}

	// Every retry is due (backoff ≤ 5 s), but the endpoint is parked for
	// 5 min: two delivery rounds, seen through another endpoint, send it
	// nothing.
	r.clock.Add(time.Minute)
	for i := range 2 {
		r.notify(gateway.EventModemOnline, gateway.ModemEventData{IMEI: string(rune('1' + i)), State: gateway.ModemOnline})
		r.waitRows(bar.ID, i+1, "delivered", delivered)
	}
	if n := dead.hits.Load(); n != events {
		t.Fatalf("the parked endpoint got %d requests, want still %d", n, events)
	}
	parked := func() map[string]time.Time {
		t.Helper()
		es, err := r.n.Webhooks(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]time.Time{}
		for _, e := range es {
			m[e.ID] = e.ParkedUntil
		}
		return m
	}
	if p := parked(); p[ep.ID].Sub(r.clock.Now()) <= 0 || p[ep.ID].Sub(r.clock.Now()) > 5*time.Minute || !p[bar.ID].IsZero() {
		t.Errorf("ParkedUntil = %v (now %v); want the dead endpoint's within 5 min, the barrier's zero", p, r.clock.Now())
	}
	for _, d := range r.waitRows(ep.ID, events, "pending", func(d gateway.WebhookDelivery) bool { return true }) {
		if d.Status != gateway.WebhookPending || d.Attempts != 1 {
			t.Errorf("row of the parked endpoint: %+v, want pending after 1 attempt", d)
		}
	}

	// Back up, and the park over: every row goes.
	dead.healthy.Store(true)
	r.clock.Add(5 * time.Minute)
	r.n.Wake()
	r.waitRows(ep.ID, events, "delivered", delivered)
	if p := parked(); !p[ep.ID].IsZero() {
		t.Errorf("ParkedUntil = %v after delivery, want zero", p[ep.ID])
	}
	if n := dead.hits.Load(); n != 2*events {
		t.Errorf("the endpoint got %d requests in all, want %d", n, 2*events)
	}
}
