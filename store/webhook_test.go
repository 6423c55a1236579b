package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func mustWebhook(t *testing.T, s *Store, id string, events ...string) {
	t.Helper()
	e := gateway.WebhookEndpoint{ID: id, URL: "http://127.0.0.1:9/hook", Events: events, Secret: "whsec_AAAA", CreatedAt: t0, AllEvents: true}
	if err := s.CreateWebhook(t.Context(), e); err != nil {
		t.Fatalf("CreateWebhook(%s): %v", id, err)
	}
}

// enqueue takes one event of typ into the outbox as the Notifier would,
// moving the "test" cursor, and returns how many rows it added.
func enqueue(t testing.TB, s *Store, typ string, seq int64) int {
	t.Helper()
	ev, err := gateway.NewEvent(typ, "msg_1", map[string]string{"id": "msg_1"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	ev.Seq = seq
	n, err := s.EnqueueEvents(t.Context(), "test", seq, []gateway.OutboxEvent{{Event: ev, Payload: []byte(`{"type":"` + typ + `"}`)}}, t0)
	if err != nil {
		t.Fatalf("EnqueueEvents(%s): %v", typ, err)
	}
	return n
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
			if n := enqueue(t, s, tc.event, 1); n != tc.want {
				t.Fatalf("EnqueueEvents(%s) = %d; want %d", tc.event, n, tc.want)
			}
		})
	}
	due, err := s.DueWebhooks(ctx, t0, 10, 10)
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
	if due, _ := s.DueWebhooks(ctx, t0, 10, 10); len(due) != 2 {
		t.Errorf("after a retry %d rows due, want 2", len(due))
	}
	if due, _ := s.DueWebhooks(ctx, t0.Add(time.Minute), 10, 10); len(due) != 3 {
		t.Errorf("at the retry time %d rows due, want 3", len(due))
	}

	// Deleting wh_b fails its pending rows and stops new ones.
	if err := s.DeleteWebhook(ctx, "wh_b", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(ctx, "wh_b", t0); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	var secret string
	if err := s.r.QueryRowContext(ctx, `SELECT secret FROM webhook_endpoints WHERE id = 'wh_b'`).Scan(&secret); err != nil || secret != "whsec_" {
		t.Errorf("deleted endpoint's secret = %q, %v; want it wiped", secret, err)
	}
	rows, err := s.WebhookDeliveries(ctx, "wh_b")
	if err != nil || len(rows) != 1 || rows[0].Status != gateway.WebhookFailed {
		t.Fatalf("wh_b rows = %+v, %v; want one failed", rows, err)
	}
	if n := enqueue(t, s, gateway.EventMessageSent, 2); n != 1 {
		t.Errorf("after delete, message.sent goes to %d endpoints, want 1", n)
	}
	live, err := s.Webhooks(ctx)
	if err != nil || len(live) != 1 || live[0].ID != "wh_a" || len(live[0].Events) != 2 {
		t.Errorf("Webhooks = %+v, %v", live, err)
	}
}

// TestEnqueueEventsOnce: an event taken again (after a crash before the
// cursor's commit was known) adds no second row, an endpoint created after
// an event does not receive it, and the cursor never moves back.
func TestEnqueueEventsOnce(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	mustWebhook(t, s, "wh_a", gateway.EventMessageSent)
	ev, err := gateway.NewEvent(gateway.EventMessageSent, "msg_1", map[string]string{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	batch := []gateway.OutboxEvent{{Event: ev, Payload: []byte(`{}`)}}
	for i, want := range []int{1, 0} {
		if n, err := s.EnqueueEvents(ctx, "webhooks", 7, batch, t0); err != nil || n != want {
			t.Fatalf("take %d: %d rows, %v; want %d", i+1, n, err, want)
		}
	}
	rows, err := s.WebhookDeliveries(ctx, "wh_a")
	if err != nil || len(rows) != 1 || rows[0].EventID != ev.ID {
		t.Fatalf("rows = %+v, %v; want one carrying event %s", rows, err, ev.ID)
	}
	if _, err := s.EnqueueEvents(ctx, "webhooks", 3, nil, t0); err != nil {
		t.Fatal(err)
	}
	if seq, err := s.EventCursor(ctx, "webhooks"); err != nil || seq != 7 {
		t.Errorf("cursor = %d, %v; want 7 (never backwards)", seq, err)
	}
	e := gateway.WebhookEndpoint{ID: "wh_late", URL: "http://127.0.0.1:9/", Events: []string{gateway.EventMessageSent},
		Secret: "whsec_AAAA", CreatedAt: t0.Add(time.Second), AllEvents: true}
	if err := s.CreateWebhook(ctx, e); err != nil {
		t.Fatal(err)
	}
	if n, err := s.EnqueueEvents(ctx, "webhooks", 8, batch, t0); err != nil || n != 0 {
		t.Errorf("an endpoint created after the event got %d rows, %v", n, err)
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

func BenchmarkEnqueueEvents(b *testing.B) {
	for _, tc := range []struct {
		name  string
		event string
	}{
		{"no subscriber", gateway.EventModemOnline},
		{"one subscriber", gateway.EventMessageSent},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := mustOpen(b)
			e := gateway.WebhookEndpoint{ID: "wh_a", URL: "http://127.0.0.1:9/", Events: []string{gateway.EventMessageSent}, Secret: "whsec_AAAA", CreatedAt: t0, AllEvents: true}
			if err := s.CreateWebhook(b.Context(), e); err != nil {
				b.Fatal(err)
			}
			payload := []byte(`{"type":"message.sent","data":{"id":"msg_1","status":"sent"}}`)
			seq := int64(0)
			for b.Loop() {
				seq++
				ev, err := gateway.NewEvent(tc.event, "msg_1", nil, t0)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.EnqueueEvents(b.Context(), "bench", seq, []gateway.OutboxEvent{{Event: ev, Payload: payload}}, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDueWebhooksPerEndpoint: one endpoint's backlog does not crowd out
// another's row: each endpoint gives at most perEndpoint rows, oldest
// first, and the rows come round-robin under the limit.
func TestDueWebhooksPerEndpoint(t *testing.T) {
	s := mustOpen(t)
	mustWebhook(t, s, "wh_a", gateway.EventMessageSent)
	mustWebhook(t, s, "wh_b", gateway.EventSMSReceived)
	for seq := range int64(5) {
		enqueue(t, s, gateway.EventMessageSent, seq+1)
	}
	enqueue(t, s, gateway.EventSMSReceived, 6)
	for _, tc := range []struct {
		perEndpoint, limit int
		want               string
	}{
		{2, 10, "wh_a wh_b wh_a"},
		{2, 2, "wh_a wh_b"},
		{1, 10, "wh_a wh_b"},
		{10, 10, "wh_a wh_b wh_a wh_a wh_a wh_a"},
	} {
		due, err := s.DueWebhooks(t.Context(), t0, tc.perEndpoint, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, d := range due {
			got = append(got, d.Endpoint)
			if i > 0 && d.Endpoint == "wh_a" && due[i-1].Endpoint == "wh_a" && d.ID < due[i-1].ID {
				t.Errorf("wh_a's rows not oldest first: %s before %s", due[i-1].ID, d.ID)
			}
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("DueWebhooks(%d, %d) = %s; want %s", tc.perEndpoint, tc.limit, g, tc.want)
		}
	}
}

// The Notifier seals secrets again through these two: a live endpoint's
// secret is replaced only when it is still the one read.
func TestWebhookSecrets(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, id := range []string{"wh_a", "wh_b"} {
		if err := s.CreateWebhook(ctx, gateway.WebhookEndpoint{ID: id, URL: "https://example.com/" + id,
			Events: []string{gateway.EventMessageSent}, Secret: "whsec_" + id, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteWebhook(ctx, "wh_b", t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.WebhookSecrets(ctx)
	if err != nil || len(got) != 1 || got["wh_a"] != "whsec_wh_a" {
		t.Fatalf("WebhookSecrets = %v, %v; want wh_a's alone", got, err)
	}
	wantErr(t, "stale", s.SetWebhookSecret(ctx, "wh_a", "whsec_other", "whsec_new"), gateway.ErrNotFound)
	wantErr(t, "deleted", s.SetWebhookSecret(ctx, "wh_b", "whsec_", "whsec_new"), gateway.ErrNotFound)
	if err := s.SetWebhookSecret(ctx, "wh_a", "whsec_wh_a", "whsec_new"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.WebhookSecrets(ctx); got["wh_a"] != "whsec_new" {
		t.Errorf("after SetWebhookSecret: %v", got)
	}
}
