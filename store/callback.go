package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
)

var _ gateway.CallbackStore = (*Store)(nil)

// insertCallback commits m's callback request, if it has one, in the
// transaction that commits m.
func insertCallback(ctx context.Context, tx wtx, m *gateway.Message) error {
	if m.Callback == nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO message_callbacks (message_id, kind, data) VALUES (?, ?, ?)`,
		m.ID, m.Callback.Kind, string(m.Callback.Data))
	return err
}

// MessageCallbacks returns the callback data of kind of those of ids that
// have one.
func (s *Store) MessageCallbacks(ctx context.Context, kind string, ids []string) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 256)]
		ids = ids[len(chunk):]
		args := []any{kind}
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := s.r.QueryContext(ctx, `SELECT message_id, data FROM message_callbacks
			WHERE kind = ? AND message_id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("message callbacks: %w", err)
		}
		type row struct{ id, data string }
		got, err := collect(rows, func(sc scanner) (row, error) {
			var r row
			return r, sc.Scan(&r.id, &r.data)
		})
		if err != nil {
			return nil, fmt.Errorf("message callbacks: %w", err)
		}
		for _, r := range got {
			out[r.id] = json.RawMessage(r.data)
		}
	}
	return out, nil
}

// EnqueueCallbacks adds the rows (a row of an event and kind already there
// is skipped) and moves consumer's cursor to upTo, in one transaction.
func (s *Store) EnqueueCallbacks(ctx context.Context, consumer string, upTo int64, rows []gateway.CallbackDelivery) (int, error) {
	n, err := s.enqueueUpTo(ctx, consumer, upTo, len(rows), func(tx wtx, i int) (sql.Result, error) {
		c := rows[i]
		return tx.ExecContext(ctx, `INSERT INTO callback_outbox
			(id, event_id, kind, message_id, url, next_attempt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (event_id, kind) DO NOTHING`,
			c.ID, c.EventID, c.Kind, c.MessageID, c.URL, fmtTime(c.NextAttempt), fmtTime(c.CreatedAt))
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue callbacks: %w", err)
	}
	return n, nil
}

const callbackCols = `id, event_id, kind, message_id, url, status, attempts, next_attempt, last_error, created_at`

// DueCallbacks returns up to limit pending rows due at now, oldest due
// first.
func (s *Store) DueCallbacks(ctx context.Context, now time.Time, limit int) ([]gateway.CallbackDelivery, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+callbackCols+` FROM callback_outbox
		WHERE status = 'pending' AND next_attempt <= ? ORDER BY next_attempt, id LIMIT ?`, fmtTime(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due callbacks: %w", err)
	}
	cs, err := collect(rows, scanCallback)
	if err != nil {
		return nil, fmt.Errorf("due callbacks: %w", err)
	}
	return cs, nil
}

// Callbacks returns the outbox rows of a message, oldest first: for tests
// and inspection.
func (s *Store) Callbacks(ctx context.Context, messageID string) ([]gateway.CallbackDelivery, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+callbackCols+` FROM callback_outbox
		WHERE message_id = ? ORDER BY created_at, id`, messageID)
	if err != nil {
		return nil, fmt.Errorf("callbacks: %w", err)
	}
	cs, err := collect(rows, scanCallback)
	if err != nil {
		return nil, fmt.Errorf("callbacks: %w", err)
	}
	return cs, nil
}

func scanCallback(sc scanner) (gateway.CallbackDelivery, error) {
	var c gateway.CallbackDelivery
	err := sc.Scan(&c.ID, &c.EventID, &c.Kind, &c.MessageID, &c.URL, &c.Status, &c.Attempts,
		timeCol{&c.NextAttempt}, &c.LastError, timeCol{&c.CreatedAt})
	return c, err
}

// FinishCallback records an attempt on a row still pending.
func (s *Store) FinishCallback(ctx context.Context, c gateway.CallbackDelivery) error {
	next := c.NextAttempt
	if c.Status != gateway.CallbackPending {
		next = time.Time{}
	}
	_, err := s.w.ExecContext(ctx, `UPDATE callback_outbox SET status = ?, attempts = ?,
		next_attempt = coalesce(nullif(?, ''), next_attempt), last_error = ?
		WHERE id = ? AND status = 'pending'`, c.Status, c.Attempts, fmtTime(next), c.LastError, c.ID)
	if err != nil {
		return fmt.Errorf("finish callback %s: %w", c.ID, err)
	}
	return nil
}

// PruneCallbacks deletes finished outbox rows (delivered, or failed for
// good) made before before; pending rows are never touched.
func (s *Store) PruneCallbacks(ctx context.Context, before time.Time) (int, error) {
	n, err := s.inBatches(ctx, `DELETE FROM callback_outbox WHERE rowid IN (
		SELECT rowid FROM callback_outbox
		WHERE status IN ('delivered', 'failed') AND created_at < ? LIMIT ?)`, fmtTime(before))
	if err != nil {
		return n, fmt.Errorf("prune callbacks: %w", err)
	}
	return n, nil
}
