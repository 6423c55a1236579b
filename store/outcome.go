package store

import (
	"context"
	"fmt"
	"time"
)

// Like partSentSQL, it takes a part sent or delivered by another modem
// before this one took the message over and sent it whole.
var partUnknownSQL = writeStmt(`UPDATE parts SET status = 'sent', mr = NULL, modem = ?1, sent_at = ?2, error = ?3,
	delivered_at = '', report_code = -1
	WHERE message_id = ?4 AND idx = ?5
	AND (status IN ('queued', 'sending') OR status IN ('sent', 'delivered') AND modem <> ?1)`)

// PartUnknown records that part of message id was handed to modem, which
// never answered (gateway.ErrSendUnknown), and that it is not to be sent
// again: the part is sent without an MR, so no delivery report can match
// it, and reason becomes its error and the message's, so that people see
// why. Sent then ends the message as usual.
func (s *Store) PartUnknown(ctx context.Context, id string, part int, modem, reason string, now time.Time) error {
	err := s.inTx(ctx, func(tx wtx) error {
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
