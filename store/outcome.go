package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
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

var (
	lateMRPartSQL = writeStmt(`SELECT message_id, idx, error FROM parts
		WHERE modem = ? AND status = 'sent' AND mr IS NULL AND sent_at >= ?
		ORDER BY sent_at DESC LIMIT 1`)
	lateMRSetSQL = writeStmt(`UPDATE parts SET mr = ?, error = '' WHERE message_id = ? AND idx = ?`)
)

// PartLateMR gives mr to the newest part modem sent at or after since whose
// outcome was unknown (PartUnknown: sent without an MR), now that the
// modem's late +CMGS answer came, so that its report can match; the error
// that said the outcome was unknown is cleared, on the message too.
// gateway.ErrNotFound when there is no such part.
func (s *Store) PartLateMR(ctx context.Context, modem string, mr int, since time.Time) (id string, part int, err error) {
	err = s.inTx(ctx, func(tx wtx) error {
		var reason string
		if err := tx.QueryRowContext(ctx, lateMRPartSQL, modem, fmtTime(since)).Scan(&id, &part, &reason); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("no part of unknown outcome sent by %s: %w", modem, gateway.ErrNotFound)
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, lateMRSetSQL, mr, id, part); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE messages SET error = '' WHERE id = ? AND error = ?`, id, reason)
		return err
	})
	if err != nil {
		return "", 0, fmt.Errorf("part late mr: %w", err)
	}
	return id, part, nil
}
