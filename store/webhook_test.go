package store

import (
	"errors"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func mustWebhook(t *testing.T, s *Store, id string, events ...string) {
	t.Helper()
	e := gateway.WebhookEndpoint{ID: id, URL: "http://127.0.0.1:9/hook", Events: events, Secret: "whsec_AAAA", CreatedAt: t0}
	if err := s.CreateWebhook(t.Context(), e); err != nil {
		t.Fatalf("CreateWebhook(%s): %v", id, err)
	}
}

func TestWebhookOutbox(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	mustWebhook(t, s, "wh_a", gateway.EventSMSReceived, gateway.EventMessageSent)
	mustWebhook(t, s, "wh_b", gateway.EventMessageSent)

	for _, tc := range []struct {
		event string
		want  int
	}{
		{gateway.EventMessageSent, 2},
		{gateway.EventSMSReceived, 1},
		{gateway.EventOTPApproved, 0},
	} {
		t.Run(tc.event, func(t *testing.T) {
			n, err := s.EnqueueWebhook(ctx, tc.event, []byte(`{"type":"`+tc.event+`"}`), t0)
			if err != nil || n != tc.want {
				t.Fatalf("EnqueueWebhook(%s) = %d, %v; want %d", tc.event, n, err, tc.want)
			}
		})
	}
	due, err := s.DueWebhooks(ctx, t0, 10)
	if err != nil || len(due) != 3 {
		t.Fatalf("DueWebhooks = %d rows, %v; want 3", len(due), err)
	}
	if due[0].URL == "" || due[0].Secret != "whsec_AAAA" || len(due[0].Payload) == 0 {
		t.Errorf("due row lacks its endpoint: %+v", due[0])
	}

	// A retry moves the row out of the due set until its time.
	d := due[0]
	d.Attempts, d.NextAttempt, d.LastError = 1, t0.Add(time.Minute), "http 500"
	if err := s.FinishWebhook(ctx, d); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueWebhooks(ctx, t0, 10); len(due) != 2 {
		t.Errorf("after a retry %d rows due, want 2", len(due))
	}
	if due, _ := s.DueWebhooks(ctx, t0.Add(time.Minute), 10); len(due) != 3 {
		t.Errorf("at the retry time %d rows due, want 3", len(due))
	}

	// Deleting wh_b fails its pending rows and stops new ones.
	if err := s.DeleteWebhook(ctx, "wh_b", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(ctx, "wh_b", t0); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	rows, err := s.WebhookDeliveries(ctx, "wh_b")
	if err != nil || len(rows) != 1 || rows[0].Status != gateway.WebhookFailed {
		t.Fatalf("wh_b rows = %+v, %v; want one failed", rows, err)
	}
	if n, _ := s.EnqueueWebhook(ctx, gateway.EventMessageSent, []byte(`{}`), t0); n != 1 {
		t.Errorf("after delete, message.sent goes to %d endpoints, want 1", n)
	}
	live, err := s.Webhooks(ctx)
	if err != nil || len(live) != 1 || live[0].ID != "wh_a" || len(live[0].Events) != 2 {
		t.Errorf("Webhooks = %+v, %v", live, err)
	}
}

func TestWebhookChecks(t *testing.T) {
	s := mustOpen(t)
	for _, tc := range []struct {
		name string
		e    gateway.WebhookEndpoint
	}{
		{"ftp url", gateway.WebhookEndpoint{ID: "wh_x", URL: "ftp://x", Events: []string{"a"}, Secret: "whsec_A", CreatedAt: t0}},
		{"bad id", gateway.WebhookEndpoint{ID: "x", URL: "http://x", Events: []string{"a"}, Secret: "whsec_A", CreatedAt: t0}},
		{"bad secret", gateway.WebhookEndpoint{ID: "wh_x", URL: "http://x", Events: []string{"a"}, Secret: "A", CreatedAt: t0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.CreateWebhook(t.Context(), tc.e); err == nil {
				t.Errorf("CreateWebhook(%+v) accepted", tc.e)
			}
		})
	}
}

func BenchmarkEnqueueWebhook(b *testing.B) {
	for _, tc := range []struct {
		name  string
		event string
	}{
		{"no subscriber", gateway.EventModemOnline},
		{"one subscriber", gateway.EventMessageSent},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := mustOpen(b)
			e := gateway.WebhookEndpoint{ID: "wh_a", URL: "http://127.0.0.1:9/", Events: []string{gateway.EventMessageSent}, Secret: "whsec_AAAA", CreatedAt: t0}
			if err := s.CreateWebhook(b.Context(), e); err != nil {
				b.Fatal(err)
			}
			payload := []byte(`{"type":"message.sent","data":{"id":"msg_1","status":"sent"}}`)
			for b.Loop() {
				if _, err := s.EnqueueWebhook(b.Context(), tc.event, payload, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
