package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
)

// matchDigits is how many trailing digits of the recipient a report must
// share with the message: SMSCs often print RA in international form after
// a national submit (or the reverse), and eight digits keep a wrong match
// between two of one modem's recipients with the same TP-MR in one window
// very unlikely.
const matchDigits = 8

var (
	matchSQL = writeStmt(`SELECT p.message_id, p.idx, p.status, m.recipient
		FROM parts p JOIN messages m ON m.id = p.message_id
		WHERE p.modem = ? AND p.mr = ? AND p.sent_at >= ?
		ORDER BY p.sent_at DESC, p.rowid DESC`)
	partDeliveredSQL = writeStmt(`UPDATE parts SET status = 'delivered', delivered_at = ?, report_code = ?
		WHERE message_id = ? AND idx = ?`)
	partFailedSQL = writeStmt(`UPDATE parts SET status = 'failed', report_code = ?, error = ?
		WHERE message_id = ? AND idx = ?`)
	partPendingSQL = writeStmt(`UPDATE parts SET report_code = ? WHERE message_id = ? AND idx = ?`)
	partTallySQL   = writeStmt(`SELECT count(*),
			count(*) FILTER (WHERE status = 'delivered'),
			count(*) FILTER (WHERE status = 'failed'),
			coalesce(max(delivered_at), ''),
			coalesce(max(sent_at), ''),
			coalesce((SELECT error FROM parts WHERE message_id = ?1 AND status = 'failed' ORDER BY idx LIMIT 1), '')
		FROM parts WHERE message_id = ?1`)
	messageFailedSQL = writeStmt(`UPDATE messages SET status = 'failed', error = ?, finished_at = ?, lease_until = ''
		WHERE id = ? AND status IN ('queued', 'sending', 'sent')`)
	messageDeliveredSQL = writeStmt(`UPDATE messages SET status = 'delivered', delivered_at = ?, finished_at = ?,
			lease_until = '', sent_at = CASE WHEN sent_at = '' THEN ? ELSE sent_at END
		WHERE id = ? AND status IN ('queued', 'sending', 'sent')`)
)

// ApplyReport matches r to a part and records it. Candidates are the parts
// r.Modem sent with r.MR since r.At-r.Window (no lower bound when Window is
// zero) to a recipient sharing r.Recipient's trailing digits; the newest
// open one wins, because TP-MR wraps at 256. When only final parts match,
// the report is a duplicate: nothing changes and the message is returned
// as it is. A part delivered or failed is final and is never changed by a
// later report. The message becomes delivered when every part is, and
// failed when any part fails. ErrNotFound when nothing matches.
func (s *Store) ApplyReport(ctx context.Context, r gateway.Report) (*gateway.Message, error) {
	switch r.Class {
	case "delivered", "pending", "failed":
	default:
		return nil, fmt.Errorf("apply report: class %q: %w", r.Class, gateway.ErrInvalid)
	}
	since := ""
	if r.Window > 0 {
		since = fmtTime(r.At.Add(-r.Window))
	}
	var m *gateway.Message
	err := s.inTx(ctx, func(tx wtx) error {
		id, idx, status, err := matchPart(ctx, tx, r, since)
		if err != nil {
			return err
		}
		if !status.Final() {
			if err := applyToPart(ctx, tx, id, idx, r); err != nil {
				return err
			}
			if err := settleMessage(ctx, tx, id, r.At); err != nil {
				return err
			}
		}
		m, err = loadMessage(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("apply report: %w", err)
	}
	return m, nil
}

// matchPart finds the part r is about; see ApplyReport.
func matchPart(ctx context.Context, tx wtx, r gateway.Report, since string) (id string, idx int, status gateway.Status, err error) {
	// sent_at has no upper bound: the report's time and the send time are
	// read by different goroutines, and a report cannot precede its send.
	rows, err := tx.QueryContext(ctx, matchSQL, r.Modem, r.MR, since)
	if err != nil {
		return "", 0, "", err
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		var (
			cid, to string
			cidx    int
			cst     gateway.Status
		)
		if err := rows.Scan(&cid, &cidx, &cst, &to); err != nil {
			return "", 0, "", err
		}
		if !sameNumber(to, r.Recipient) {
			continue
		}
		if !cst.Final() {
			return cid, cidx, cst, rows.Err()
		}
		if !found {
			id, idx, status, found = cid, cidx, cst, true
		}
	}
	if err := rows.Err(); err != nil {
		return "", 0, "", err
	}
	if !found {
		return "", 0, "", fmt.Errorf("no part sent by %s with mr %d: %w", r.Modem, r.MR, gateway.ErrNotFound)
	}
	return id, idx, status, nil
}

func applyToPart(ctx context.Context, tx wtx, id string, idx int, r gateway.Report) error {
	var err error
	switch r.Class {
	case "delivered":
		_, err = tx.ExecContext(ctx, partDeliveredSQL, fmtTime(r.At), r.Code, id, idx)
	case "failed":
		_, err = tx.ExecContext(ctx, partFailedSQL, r.Code, reportError(r.Code), id, idx)
	case "pending":
		_, err = tx.ExecContext(ctx, partPendingSQL, r.Code, id, idx)
	}
	return err
}

// settleMessage derives a message's status from its parts after a report.
// A message already final (canceled, expired, failed by the worker) stays
// as it is.
func settleMessage(ctx context.Context, tx wtx, id string, at time.Time) error {
	var total, delivered, failed int
	var lastDelivered, lastSent, failErr string
	err := tx.QueryRowContext(ctx, partTallySQL, id).Scan(&total, &delivered, &failed, &lastDelivered, &lastSent, &failErr)
	if err != nil {
		return err
	}
	var before gateway.Status
	if err := tx.QueryRowContext(ctx, messageStatusSQL, id).Scan(&before); err != nil {
		return err
	}
	ts := fmtTime(at)
	var res sql.Result
	switch {
	case failed > 0:
		res, err = tx.ExecContext(ctx, messageFailedSQL, failErr, ts, id)
	case delivered == total:
		// A report can beat Sent when the last part is acknowledged quickly.
		res, err = tx.ExecContext(ctx, messageDeliveredSQL, lastDelivered, ts, lastSent, id)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // already final: its event was appended then
	}
	if before == gateway.StatusSending {
		// A report beat Sent: the message passed through sent in this
		// transaction, and a subscriber to message.sent hears of it first.
		if err := appendMessageEventAs(ctx, tx, id, gateway.StatusSent, at); err != nil {
			return err
		}
	}
	return appendMessageEvent(ctx, tx, id, at)
}

func reportError(code int) string {
	return fmt.Sprintf("status report 0x%02X", code)
}

// sameNumber compares two phone numbers on their trailing digits (all of
// the shorter one when it has fewer than matchDigits), ignoring '+' and any
// other non-digit. A recipient without digits (an alphanumeric address, or
// none printed) matches anything, leaving the match to modem and TP-MR.
func sameNumber(a, b string) bool {
	da, db := digits(a), digits(b)
	if len(db) == 0 {
		return true
	}
	n := min(matchDigits, len(da), len(db))
	if n == 0 {
		return false
	}
	return da[len(da)-n:] == db[len(db)-n:]
}

func digits(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			b = append(b, c)
		}
	}
	return string(b)
}
