package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
)

var _ gateway.WebhookStore = (*Store)(nil)

const webhookCols = `id, url, events, secret, created_at, disabled_at, owner_key, all_events, format, ext_id`

func scanWebhook(sc scanner) (gateway.WebhookEndpoint, error) {
	var (
		e      gateway.WebhookEndpoint
		events string
		all    int
	)
	if err := sc.Scan(&e.ID, &e.URL, &events, &e.Secret, timeCol{&e.CreatedAt}, timeCol{&e.DisabledAt}, &e.OwnerKey, &all,
		&e.Format, &e.ExternalID); err != nil {
		return gateway.WebhookEndpoint{}, err
	}
	e.AllEvents = all != 0
	if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
		return gateway.WebhookEndpoint{}, fmt.Errorf("webhook %s events: %w", e.ID, err)
	}
	return e, nil
}

// CreateWebhook stores a new endpoint; ErrConflict when its ID is taken.
func (s *Store) CreateWebhook(ctx context.Context, e gateway.WebhookEndpoint) error {
	if e.ID == "" || e.URL == "" || len(e.Events) == 0 || e.Secret == "" || e.CreatedAt.IsZero() {
		return fmt.Errorf("create webhook %q: %w", e.ID, gateway.ErrInvalid)
	}
	js, err := json.Marshal(e.Events)
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	format := e.Format
	if format == "" {
		format = gateway.WebhookStandard
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO webhook_endpoints (`+webhookCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.URL, string(js), e.Secret, fmtTime(e.CreatedAt), fmtTime(e.DisabledAt), e.OwnerKey, boolInt(e.AllEvents),
		format, e.ExternalID)
	if isUnique(err) {
		return fmt.Errorf("create webhook %s: %w", e.ID, gateway.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	return nil
}

// Webhooks lists the live endpoints, oldest first.
func (s *Store) Webhooks(ctx context.Context) ([]gateway.WebhookEndpoint, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhook_endpoints WHERE disabled_at = '' ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	es, err := collect(rows, scanWebhook)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return es, nil
}

// WebhookSecrets returns every live endpoint's stored secret by ID, for the
// Notifier to seal those still clear or sealed with an older key.
func (s *Store) WebhookSecrets(ctx context.Context) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, secret FROM webhook_endpoints WHERE disabled_at = ''`)
	if err != nil {
		return nil, fmt.Errorf("webhook secrets: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, secret string
		if err := rows.Scan(&id, &secret); err != nil {
			return nil, fmt.Errorf("webhook secrets: %w", err)
		}
		out[id] = secret
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("webhook secrets: %w", err)
	}
	return out, nil
}

// SetWebhookSecret replaces a live endpoint's stored secret when it is
// still old, so that it never revives the secret of an endpoint deleted
// meanwhile; ErrNotFound when it is not.
func (s *Store) SetWebhookSecret(ctx context.Context, id, old, secret string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE webhook_endpoints SET secret = ? WHERE id = ? AND secret = ? AND disabled_at = ''`,
		secret, id, old)
	if err != nil {
		return fmt.Errorf("set webhook secret %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set webhook secret %s: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("set webhook secret %s: %w", id, gateway.ErrNotFound)
	}
	return nil
}

// DeleteWebhook disables a live endpoint and fails its pending rows in the
// same transaction, so none is sent after the answer.
func (s *Store) DeleteWebhook(ctx context.Context, id string, now time.Time) error {
	return s.inTx(ctx, func(tx wtx) error {
		// The secret goes with it ("whsec_" alone: the CHECK wants the prefix).
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET disabled_at = ?, secret = 'whsec_'
			WHERE id = ? AND disabled_at = ''`, fmtTime(now), id)
		if err != nil {
			return fmt.Errorf("delete webhook %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete webhook %s: %w", id, err)
		} else if n == 0 {
			return fmt.Errorf("delete webhook %s: %w", id, gateway.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_outbox SET status = 'failed', last_error = 'endpoint deleted'
			WHERE endpoint = ? AND status = 'pending'`, id); err != nil {
			return fmt.Errorf("delete webhook %s: drop pending: %w", id, err)
		}
		return nil
	})
}

// outboxInsertSQL takes ?1 event ID, ?2 type, ?3 payload, ?4 now, ?5 the
// event's time, ?6 its subject, ?7 its variant (empty for none): an endpoint
// subscribed to either gets it. An endpoint without all_events (a key that
// is not admin) gets a message or OTP event only when its key owns the
// message or the verification.
var outboxInsertSQL = writeStmt(`INSERT INTO webhook_outbox (id, event_id, endpoint, event, payload, next_attempt, created_at)
	SELECT ?1 || '.' || id, ?1, id, ?2, ?3, ?4, ?4 FROM webhook_endpoints
	WHERE disabled_at = '' AND created_at <= ?5 AND EXISTS (SELECT 1 FROM json_each(events) WHERE value IN (?2, ?7))
		AND (all_events = 1 OR owner_key = CASE
			WHEN ?2 LIKE 'message.%' THEN (SELECT owner_key FROM messages WHERE id = ?6)
			WHEN ?2 LIKE 'otp.%' THEN (SELECT owner_key FROM otp_verifications WHERE id = ?6)
			ELSE owner_key END)
		-- A revoked key's endpoints hear nothing more.
		AND NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.id = webhook_endpoints.owner_key AND k.revoked_at <> '')
	ON CONFLICT (endpoint, event_id) DO NOTHING`)

// EnqueueEvents adds a pending row, due now, for each event and each live
// endpoint subscribed to its type that existed when the event happened, and
// moves consumer's cursor to upTo, in one transaction. A row's ID is the
// event's ID and the endpoint's, so a batch taken again after a crash adds
// nothing twice.
func (s *Store) EnqueueEvents(ctx context.Context, consumer string, upTo int64, events []gateway.OutboxEvent, now time.Time) (int, error) {
	n, err := s.enqueueUpTo(ctx, consumer, upTo, len(events), func(tx wtx, i int) (sql.Result, error) {
		ev := events[i]
		return tx.ExecContext(ctx, outboxInsertSQL, ev.ID, ev.Type, string(ev.Payload),
			fmtTime(now), fmtTime(ev.At), ev.Subject, ev.Variant)
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue webhooks: %w", err)
	}
	return n, nil
}

// DueWebhooks returns pending rows of live endpoints due at now: each
// endpoint's oldest perEndpoint (by due time), at most limit in all. Rows
// come round-robin — every endpoint's oldest, then every endpoint's
// second… — so that one endpoint's backlog never fills the batch and
// hides another's rows.
func (s *Store) DueWebhooks(ctx context.Context, now time.Time, perEndpoint, limit int) ([]gateway.WebhookDelivery, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT o.id, o.event_id, o.endpoint, e.url, e.secret, e.format, e.ext_id, o.event, o.payload, o.status,
			o.attempts, o.next_attempt, o.last_error, o.created_at
		FROM (SELECT *, row_number() OVER (PARTITION BY endpoint ORDER BY next_attempt, id) AS rank
			FROM webhook_outbox WHERE status = 'pending' AND next_attempt <= ?) o
		JOIN webhook_endpoints e ON e.id = o.endpoint
		WHERE o.rank <= ? AND e.disabled_at = ''
		ORDER BY o.rank, o.next_attempt, o.id LIMIT ?`, fmtTime(now), perEndpoint, limit)
	if err != nil {
		return nil, fmt.Errorf("due webhooks: %w", err)
	}
	ds, err := collect(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("due webhooks: %w", err)
	}
	return ds, nil
}

func scanDelivery(sc scanner) (gateway.WebhookDelivery, error) {
	var (
		d       gateway.WebhookDelivery
		payload string
	)
	err := sc.Scan(&d.ID, &d.EventID, &d.Endpoint, &d.URL, &d.Secret, &d.Format, &d.ExternalID, &d.Event, &payload, &d.Status,
		&d.Attempts, timeCol{&d.NextAttempt}, &d.LastError, timeCol{&d.CreatedAt})
	d.Payload = []byte(payload)
	return d, err
}

// FinishWebhook records an attempt on a row still pending; a row failed
// meanwhile (its endpoint deleted) stays failed.
func (s *Store) FinishWebhook(ctx context.Context, d gateway.WebhookDelivery) error {
	next := d.NextAttempt
	if d.Status != gateway.WebhookPending {
		next = time.Time{}
	}
	_, err := s.w.ExecContext(ctx, `UPDATE webhook_outbox SET status = ?, attempts = ?, next_attempt = coalesce(nullif(?, ''), next_attempt), last_error = ?
		WHERE id = ? AND status = 'pending'`, d.Status, d.Attempts, fmtTime(next), d.LastError, d.ID)
	if err != nil {
		return fmt.Errorf("finish webhook %s: %w", d.ID, err)
	}
	return nil
}

// WebhookDeliveries returns the outbox rows of endpoint, oldest first: for
// tests and inspection.
func (s *Store) WebhookDeliveries(ctx context.Context, endpoint string) ([]gateway.WebhookDelivery, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT o.id, o.event_id, o.endpoint, e.url, e.secret, e.format, e.ext_id, o.event, o.payload, o.status,
			o.attempts, o.next_attempt, o.last_error, o.created_at
		FROM webhook_outbox o JOIN webhook_endpoints e ON e.id = o.endpoint
		WHERE o.endpoint = ? ORDER BY o.created_at, o.id`, endpoint)
	if err != nil {
		return nil, fmt.Errorf("webhook deliveries: %w", err)
	}
	ds, err := collect(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("webhook deliveries: %w", err)
	}
	return ds, nil
}
