package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/webhook"
)

// shaper is a hand-written Formatter: it answers err when set, else a body
// naming what it was given, and remembers the deliveries.
type shaper struct {
	mu  sync.Mutex
	got []gateway.WebhookDelivery
	err error
}

func (s *shaper) Format(_ context.Context, d gateway.WebhookDelivery, _ time.Time) ([]byte, http.Header, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, d)
	if s.err != nil {
		return nil, nil, s.err
	}
	h := http.Header{}
	h.Set("X-Shaped", "yes")
	return fmt.Appendf(nil, `{"ext":%q,"event":%q}`, d.ExternalID, d.Event), h, nil
}

func (s *shaper) deliveries() []gateway.WebhookDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]gateway.WebhookDelivery(nil), s.got...)
}

// formatRig is a Notifier with the formatter f for format "smsgate",
// running until the test ends.
func formatRig(t *testing.T, f webhook.Formatter) (*store.Store, *webhook.Notifier) {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "simgate.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := webhook.New(webhook.Config{PollEvery: 5 * time.Millisecond, FirstRetry: time.Hour,
		Formats: map[string]webhook.Formatter{gateway.WebhookSMSGate: f}}, st, testkit.NewClock(time.Now()), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		st.Close()
	})
	return st, n
}

func TestNotifier_FormatterShapesAndSigns(t *testing.T) {
	f := &shaper{}
	st, n := formatRig(t, f)
	rcv := newReceiver(t, always(http.StatusOK))
	ep, err := n.CreateFormatted(t.Context(), gateway.Caller{Admin: true},
		webhook.Spec{URL: rcv.URL, Events: []string{gateway.EventSMSReceived}, Format: gateway.WebhookSMSGate, ExternalID: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.CreateWebhook(t.Context(), gateway.Caller{Admin: true}, rcv.URL+"/std", []string{gateway.EventSMSReceived}); err != nil {
		t.Fatal(err)
	}
	ev, _ := gateway.NewEvent(gateway.EventSMSReceived, "in_1", map[string]string{"id": "in_1"}, time.Now())
	if err := st.AppendEvent(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both endpoints to receive", func() bool { return len(rcv.all()) == 2 })
	for _, h := range rcv.all() {
		shaped := h.header.Get("X-Shaped") == "yes"
		if shaped != !strings.Contains(string(h.body), `"type"`) || shaped == (h.header.Get("webhook-signature") != "") {
			t.Errorf("a request mixes the formats: %v %s", h.header, h.body)
		}
		if shaped && string(h.body) != `{"ext":"mine","event":"sms.received"}` {
			t.Errorf("shaped body %s", h.body)
		}
	}
	got := f.deliveries()
	if len(got) != 1 || got[0].Endpoint != ep.ID || got[0].Secret != ep.Secret || !strings.Contains(string(got[0].Payload), `"in_1"`) {
		t.Errorf("the formatter got %+v, want the one row of %s with its opened secret and the stored body", got, ep.ID)
	}
	if _, err := n.CreateFormatted(t.Context(), gateway.Caller{Admin: true},
		webhook.Spec{URL: rcv.URL, Events: []string{gateway.EventSMSReceived}, Format: "nope"}); err == nil {
		t.Error("an endpoint of a format without a formatter was created")
	}
}

func TestNotifier_FormatterErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string // the row's status after the attempt
	}{
		{"never", fmt.Errorf("no such event: %w", webhook.ErrCannotFormat), gateway.WebhookFailed},
		{"for now", errors.New("database busy"), gateway.WebhookPending},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &shaper{err: tt.err}
			st, n := formatRig(t, f)
			rcv := newReceiver(t, always(http.StatusOK))
			ep, err := n.CreateFormatted(t.Context(), gateway.Caller{Admin: true},
				webhook.Spec{URL: rcv.URL, Events: []string{gateway.EventModemOnline}, Format: gateway.WebhookSMSGate})
			if err != nil {
				t.Fatal(err)
			}
			ev, _ := gateway.NewEvent(gateway.EventModemOnline, "imei", map[string]string{}, time.Now())
			if err := st.AppendEvent(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
			var rows []gateway.WebhookDelivery
			waitFor(t, "the attempt to be recorded", func() bool {
				rows, _ = st.WebhookDeliveries(t.Context(), ep.ID)
				return len(rows) == 1 && rows[0].Attempts == 1
			})
			if rows[0].Status != tt.want || !strings.Contains(rows[0].LastError, tt.err.Error()) {
				t.Errorf("row %+v, want %s with the formatter's reason", rows[0], tt.want)
			}
			if len(rcv.all()) != 0 {
				t.Error("an unshaped row was posted")
			}
		})
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestNotifier_ReceivedVariants: an endpoint subscribed to a variant of
// sms.received gets only the SMS of that kind; one subscribed to the event
// gets both.
func TestNotifier_ReceivedVariants(t *testing.T) {
	st, n := formatRig(t, &shaper{})
	rcv := newReceiver(t, always(http.StatusOK))
	ids := map[string]string{}
	for _, ev := range []string{gateway.EventSMSReceived, gateway.EventSMSReceivedText, gateway.EventSMSReceivedData} {
		ep, err := n.CreateWebhook(t.Context(), gateway.Caller{Admin: true}, rcv.URL+"/"+ev, []string{ev})
		if err != nil {
			t.Fatal(err)
		}
		ids[ev] = ep.ID
	}
	text, _ := gateway.NewEvent(gateway.EventSMSReceived, "in_1", map[string]string{"id": "in_1", "text": "hi"}, time.Now())
	data, _ := gateway.NewEvent(gateway.EventSMSReceived, "in_2", map[string]string{"id": "in_2", "data": "AAE="}, time.Now())
	for _, ev := range []gateway.Event{text, data} {
		if err := st.AppendEvent(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "4 deliveries", func() bool { return len(rcv.all()) >= 4 })
	got := map[string]int{}
	for ev, id := range ids {
		rows, err := st.WebhookDeliveries(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		got[ev] = len(rows)
		for _, r := range rows {
			if ev == gateway.EventSMSReceivedText && strings.Contains(string(r.Payload), "AAE=") ||
				ev == gateway.EventSMSReceivedData && !strings.Contains(string(r.Payload), "AAE=") {
				t.Errorf("%s got %s", ev, r.Payload)
			}
		}
	}
	if got[gateway.EventSMSReceived] != 2 || got[gateway.EventSMSReceivedText] != 1 || got[gateway.EventSMSReceivedData] != 1 {
		t.Errorf("rows per subscription %v, want 2 for the event, 1 per variant", got)
	}
}
