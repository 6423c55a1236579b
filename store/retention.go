package store

import (
	"context"
	"fmt"
	"time"
)

// retentionBatch is the most rows one pruning statement touches. Each
// statement is its own short transaction on the one writer connection, so
// a large backlog is pruned in many small steps and the dispatcher's and
// the API's writes get their turn in between.
const retentionBatch = 1000

// PruneIdempotency forgets idempotency keys recorded before t, so that the
// table does not grow forever; the messages stay.
func (s *Store) PruneIdempotency(ctx context.Context, before time.Time) (int, error) {
	n, err := s.inBatches(ctx, `DELETE FROM idempotency WHERE rowid IN (
		SELECT rowid FROM idempotency WHERE created_at < ? LIMIT ?)`, fmtTime(before))
	if err != nil {
		return n, fmt.Errorf("prune idempotency: %w", err)
	}
	return n, nil
}

// PruneWebhookDeliveries deletes outbox rows that are finished (delivered,
// or failed for good) and whose event is older than before; their payloads
// may hold SMS texts. Pending rows are never touched, however old.
func (s *Store) PruneWebhookDeliveries(ctx context.Context, before time.Time) (int, error) {
	n, err := s.inBatches(ctx, `DELETE FROM webhook_outbox WHERE rowid IN (
		SELECT rowid FROM webhook_outbox
		WHERE status IN ('delivered', 'failed') AND created_at < ? LIMIT ?)`, fmtTime(before))
	if err != nil {
		return n, fmt.Errorf("prune webhook deliveries: %w", err)
	}
	return n, nil
}

// PurgeMessageTexts blanks the text (or data) of messages that reached a final
// status (delivered, failed, expired, canceled) before the cutoff, and
// records when (body_purged_at); every other column stays. Messages still
// queued, sending or sent are never touched. A sealed OTP text is purged
// like any other.
func (s *Store) PurgeMessageTexts(ctx context.Context, before, now time.Time) (int, error) {
	n, err := s.inBatches(ctx, `UPDATE messages SET body = '', data = NULL, body_purged_at = ? WHERE rowid IN (
		SELECT rowid FROM messages
		WHERE body_purged_at = '' AND status IN ('delivered', 'failed', 'expired', 'canceled')
			AND finished_at <> '' AND finished_at < ? LIMIT ?)`, fmtTime(now), fmtTime(before))
	if err != nil {
		return n, fmt.Errorf("purge message texts: %w", err)
	}
	return n, nil
}

// PurgeInboundTexts blanks the text (or data) of SMS received before the cutoff, and
// the raw PDU of an undecodable one (it holds the text too), and records
// when; the sender, the modem, the times and a decode error stay.
func (s *Store) PurgeInboundTexts(ctx context.Context, before, now time.Time) (int, error) {
	n, err := s.inBatches(ctx, `UPDATE inbound SET body = '', data = NULL, raw_pdu = '', body_purged_at = ? WHERE rowid IN (
		SELECT rowid FROM inbound WHERE body_purged_at = '' AND received_at < ? LIMIT ?)`,
		fmtTime(now), fmtTime(before))
	if err != nil {
		return n, fmt.Errorf("purge inbound texts: %w", err)
	}
	return n, nil
}

// inBatches runs query, whose last parameter is the batch size, until a
// run touches fewer than a batch of rows, and returns the rows touched.
func (s *Store) inBatches(ctx context.Context, query string, args ...any) (int, error) {
	args = append(args, retentionBatch)
	total := 0
	for {
		res, err := s.w.ExecContext(ctx, query, args...)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += int(n)
		if n < retentionBatch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
