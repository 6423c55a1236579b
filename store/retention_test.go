package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

const day = 24 * time.Hour

// mustExec runs a statement on the writer, for setting up rows the tests
// need in states the public methods reach only through a modem.
func mustExec(t *testing.T, s *Store, query string, args ...any) {
	t.Helper()
	if _, err := s.w.ExecContext(t.Context(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// mustFinal makes message id final (status) at t0+at.
func mustFinal(t *testing.T, s *Store, id string, status gateway.Status, at time.Duration) {
	t.Helper()
	mustExec(t, s, `UPDATE messages SET status = ?, finished_at = ?, sent_at = ? WHERE id = ?`,
		string(status), fmtTime(t0.Add(at)), fmtTime(t0.Add(at)), id)
}

func TestPurgeMessageTexts(t *testing.T) {
	s := mustOpen(t)
	statuses := []gateway.Status{gateway.StatusQueued, gateway.StatusSending, gateway.StatusSent,
		gateway.StatusDelivered, gateway.StatusFailed, gateway.StatusExpired, gateway.StatusCanceled}
	for i, st := range statuses {
		mustCreate(t, s, newMessage(msgID(i), 0))
		if st != gateway.StatusQueued {
			mustExec(t, s, `UPDATE messages SET status = ? WHERE id = ?`, string(st), msgID(i))
		}
		if st.Final() {
			mustFinal(t, s, msgID(i), st, time.Hour)
		}
	}
	// A final message with a sealed OTP text is purged like any other.
	otp := newMessage("msg_otp", 0)
	otp.Text = gateway.SealedOTPPrefix + "c2VhbGVk"
	mustCreate(t, s, otp)
	mustFinal(t, s, "msg_otp", gateway.StatusDelivered, time.Hour)

	cutoff := t0.Add(time.Hour) // finished exactly at the cutoff: kept
	if n, err := s.PurgeMessageTexts(t.Context(), cutoff, t0.Add(31*day)); err != nil || n != 0 {
		t.Fatalf("PurgeMessageTexts at the cutoff = %d, %v; want 0", n, err)
	}
	now := t0.Add(31 * day)
	n, err := s.PurgeMessageTexts(t.Context(), cutoff.Add(time.Nanosecond), now)
	if err != nil || n != 5 {
		t.Fatalf("PurgeMessageTexts = %d, %v; want 5 (four final, one OTP)", n, err)
	}
	for i, st := range statuses {
		m := mustMessage(t, s, msgID(i))
		if !st.Final() {
			if m.Text != "hello "+m.ID || !m.TextPurgedAt.IsZero() {
				t.Errorf("%s message: text %q purged at %v; a message not final must keep its text", st, m.Text, m.TextPurgedAt)
			}
			continue
		}
		if m.Text != "" || !m.TextPurgedAt.Equal(now) {
			t.Errorf("%s message: text %q purged at %v; want '' and %v", st, m.Text, m.TextPurgedAt, now)
		}
		// Metadata stays.
		if m.Status != st || m.To != "+14155550101" || len(m.Parts) != 1 || !m.FinishedAt.Equal(t0.Add(time.Hour)) ||
			!m.CreatedAt.Equal(t0) || m.APIKey != "app" || m.Segments != 1 {
			t.Errorf("%s message lost metadata: %+v", st, m)
		}
	}
	if m := mustMessage(t, s, "msg_otp"); m.Text != "" {
		t.Errorf("sealed OTP text kept: %q", m.Text)
	}
	// A second run finds nothing left.
	if n, err := s.PurgeMessageTexts(t.Context(), now, now); err != nil || n != 0 {
		t.Errorf("second PurgeMessageTexts = %d, %v; want 0", n, err)
	}
}

func TestPurgeInboundTexts(t *testing.T) {
	s := mustOpen(t)
	for i := range 3 {
		m := &gateway.InboundMessage{ID: fmt.Sprint("in_", i), Modem: "imeiA", From: "+14155550199", Text: "secret",
			Parts: 1, SCTS: t0, ReceivedAt: t0.Add(time.Duration(i) * day)}
		if err := s.SaveInbound(t.Context(), m, nil); err != nil {
			t.Fatalf("SaveInbound: %v", err)
		}
	}
	now := t0.Add(40 * day)
	if n, err := s.PurgeInboundTexts(t.Context(), t0.Add(day), now); err != nil || n != 1 {
		t.Fatalf("PurgeInboundTexts = %d, %v; want 1 (received before the cutoff, not at it)", n, err)
	}
	got, err := s.Inbox(t.Context(), time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range got {
		wantText, wantPurged := "secret", time.Time{}
		if m.ID == "in_0" {
			wantText, wantPurged = "", now
		}
		if !m.TextPurgedAt.Equal(wantPurged) {
			t.Errorf("%s purged at %v, want %v", m.ID, m.TextPurgedAt, wantPurged)
		}
		if m.Text != wantText || m.From != "+14155550199" || m.Modem != "imeiA" || m.Parts != 1 || !m.SCTS.Equal(t0) {
			t.Errorf("%s after purge: %+v; want text %q and its metadata", m.ID, m, wantText)
		}
	}
}

func TestPruneWebhookDeliveries(t *testing.T) {
	s := mustOpen(t)
	if err := s.CreateWebhook(t.Context(), gateway.WebhookEndpoint{ID: "wh_1", URL: "http://x", Events: []string{"sms.received"},
		Secret: "whsec_x", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		id, status string
		at         time.Duration
	}{
		{"evt_pending_old", "pending", 0},
		{"evt_delivered_old", "delivered", 0},
		{"evt_failed_old", "failed", 0},
		{"evt_delivered_cut", "delivered", day},
		{"evt_delivered_new", "delivered", 2 * day},
	}
	for _, r := range rows {
		mustExec(t, s, `INSERT INTO webhook_outbox (id, event_id, endpoint, event, payload, status, next_attempt, created_at)
			VALUES (?, ?, 'wh_1', 'sms.received', '{"text":"secret"}', ?, ?, ?)`, r.id, r.id, r.status, fmtTime(t0), fmtTime(t0.Add(r.at)))
	}
	n, err := s.PruneWebhookDeliveries(t.Context(), t0.Add(day))
	if err != nil || n != 2 {
		t.Fatalf("PruneWebhookDeliveries = %d, %v; want 2", n, err)
	}
	left := map[string]bool{}
	rs, err := s.r.QueryContext(t.Context(), `SELECT id FROM webhook_outbox`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := collect(rs, func(sc scanner) (string, error) { var id string; return id, sc.Scan(&id) })
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		left[id] = true
	}
	for _, id := range []string{"evt_pending_old", "evt_delivered_cut", "evt_delivered_new"} {
		if !left[id] {
			t.Errorf("%s was pruned; pending rows and rows at or after the cutoff stay", id)
		}
	}
	if len(left) != 3 {
		t.Errorf("rows left: %v", ids)
	}
}

// More than one batch is pruned in one call.
func TestPruneIdempotency_Batches(t *testing.T) {
	s := mustOpen(t)
	mustCreate(t, s, newMessage("msg_a", 0))
	const n = retentionBatch*2 + 3
	mustExec(t, s, `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
		INSERT INTO idempotency (api_key, key, body_hash, message_id, created_at)
		SELECT 'app', 'k' || i, 'h', 'msg_a', ? FROM k`, n, fmtTime(t0))
	got, err := s.PruneIdempotency(t.Context(), t0.Add(time.Second))
	if err != nil || got != n {
		t.Fatalf("PruneIdempotency = %d, %v; want %d", got, err, n)
	}
}
