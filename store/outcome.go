package store

import (
	"context"
	"fmt"
	"time"
)

var partUnknownSQL = writeStmt(`UPDATE parts SET status = 'sent', mr = NULL, modem = ?, sent_at = ?, error = ?
	WHERE message_id = ? AND idx = ? AND status IN ('queued', 'sending')`)

// PartUnknown records that part of message id was handed to modem, which
// never answered (gateway.ErrSendUnknown), and that it is not to be sent
// again: the part is sent without an MR, so no delivery report can match
// it, and reason becomes its error and the message's, so that people see
// why. Sent then ends the message as usual.
func (s *Store) PartUnknown(ctx context.Context, id string, part int, modem, reason string, now time.Time) error {
	err := s.inTx(ctx, func(tx wtx) error {
		if err := fence(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, partUnknownSQL, modem, fmtTime(now), reason, id, part)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n > 0 {
			_, err = tx.ExecContext(ctx, `UPDATE messages SET error = ? WHERE id = ?`, reason, id)
			return err
		}
		return partMissingOrConflict(ctx, tx, id, part)
	})
	if err != nil {
		return fmt.Errorf("part unknown: %w", err)
	}
	return nil
}
