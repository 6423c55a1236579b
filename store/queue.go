package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/simgate/simgate/gateway"
)

// claimable is the condition under which a message may be claimed at ?2:
// queued and due and not expired, or left sending by a claim whose lease ran
// out (a crash mid-send). The leading status term repeats the WHERE of the
// messages_claim partial index word for word, which is what lets SQLite use
// that index.
const claimable = `status IN ('queued', 'sending') AND (
	(status = 'queued' AND send_at <= ?2 AND next_attempt <= ?2 AND (expires_at = '' OR expires_at > ?2))
	OR (status = 'sending' AND lease_until <= ?2))`

// claimSQL takes the best claimable message among the unpinned ones and
// those pinned to the claiming modem (?1), each found by walking
// messages_claim in queue order, and leases it, in one statement. Being one
// UPDATE, the pick and the take cannot be split by another writer, so two
// workers never get the same message; a backlog pinned to other modems is
// never scanned.
//
// On PostgreSQL, where hosts claim side by side, each half's pick locks
// its row FOR UPDATE SKIP LOCKED: a claim passes over the message another
// is taking instead of waiting for it, and two claims never take one
// message (the half not taken stays locked until the claim commits).
var claimSQL = twin(writeStmt(`UPDATE messages SET status = 'sending', modem = ?1, lease_until = ?3
WHERE id = (
	SELECT id FROM (
		SELECT * FROM (SELECT id, priority, created_at FROM messages
			WHERE pin = '' AND `+claimable+`
			ORDER BY priority DESC, created_at, id LIMIT 1) AS unpinned
		UNION ALL
		SELECT * FROM (SELECT id, priority, created_at FROM messages
			WHERE pin = ?1 AND `+claimable+`
			ORDER BY priority DESC, created_at, id LIMIT 1) AS pinned
	) AS firsts
	ORDER BY priority DESC, created_at, id LIMIT 1)
RETURNING `+messageReadCols),
	`UPDATE messages SET status = 'sending', modem = $1, lease_until = $3
WHERE id = (
	SELECT id FROM (
		SELECT * FROM (SELECT id, priority, created_at FROM messages
			WHERE pin = '' AND `+pgClaimable+`
			ORDER BY priority DESC, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) AS unpinned
		UNION ALL
		SELECT * FROM (SELECT id, priority, created_at FROM messages
			WHERE pin = $1 AND `+pgClaimable+`
			ORDER BY priority DESC, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) AS pinned
	) AS firsts
	ORDER BY priority DESC, created_at, id LIMIT 1)
RETURNING `+messageReadCols)

// pgClaimable is claimable in PostgreSQL's placeholders.
const pgClaimable = `status IN ('queued', 'sending') AND (
	(status = 'queued' AND send_at <= $2 AND next_attempt <= $2 AND (expires_at = '' OR expires_at > $2))
	OR (status = 'sending' AND lease_until <= $2))`

var (
	claimPartsSQL = writeStmt(`UPDATE parts SET status = 'sending' WHERE message_id = ? AND status = 'queued'
		RETURNING ` + partCols)
	// A part sent or even delivered already by another modem is sent
	// again when this one takes the message over and sends it whole (a
	// handset joins parts from one sender only): the new send counts.
	partSentSQL = writeStmt(`UPDATE parts SET status = 'sent', mr = ?1, modem = ?2, sent_at = ?3, error = '',
		delivered_at = '', report_code = -1
		WHERE message_id = ?4 AND idx = ?5
		AND (status IN ('queued', 'sending', 'sent') OR status = 'delivered' AND modem <> ?2)`)
	messageStatusSQL = writeStmt(`SELECT status FROM messages WHERE id = ?`)
	// sendStateSQL is a message's status and how many of its parts are
	// not sent yet.
	sendStateSQL = writeStmt(`SELECT status,
		(SELECT count(*) FROM parts WHERE message_id = ?1 AND status IN ('queued', 'sending'))
		FROM messages WHERE id = ?1`)
	// sentSQL marks a message sent and returns what its event shows.
	sentSQL = writeStmt(`UPDATE messages SET status = 'sent', sent_at = ?, lease_until = '' WHERE id = ?
		RETURNING ` + messageEventCols)
)

// ClaimNext leases the next message c.Modem may send until c.Now+c.Lease and
// marks its unsent parts sending; nil, nil when there is none.
func (s *Store) ClaimNext(ctx context.Context, c gateway.Claim) (*gateway.Message, error) {
	if c.Modem == "" || c.Lease <= 0 || c.Now.IsZero() {
		return nil, fmt.Errorf("claim: modem %q, lease %v, now %v: %w", c.Modem, c.Lease, c.Now, gateway.ErrInvalid)
	}
	var m *gateway.Message
	// Lazy (writer.go): a claim lost in a power cut leaves the message
	// queued, to be claimed again, which is what RecoverLeases makes of a
	// claim that survived it. A claim is durable as soon as anything of its
	// send is: the PartSent or Retry that follows.
	err := s.inLazyTx(ctx, func(tx wtx) error {
		var err error
		m, err = scanMessage(tx.QueryRowContext(ctx, claimSQL, c.Modem, fmtTime(c.Now), fmtTime(c.Now.Add(c.Lease))))
		if errors.Is(err, sql.ErrNoRows) {
			m = nil
			return nil
		}
		if err != nil {
			return err
		}
		m.LeaseUntil = c.Now.Add(c.Lease)
		return claimParts(ctx, tx, m)
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return m, nil
}

// claimParts marks the queued parts of m sending and gives m all its
// parts: those the UPDATE returned when it took them all (a message claimed
// for the first time), else read again.
func claimParts(ctx context.Context, tx wtx, m *gateway.Message) error {
	rows, err := tx.QueryContext(ctx, claimPartsSQL, m.ID)
	if err != nil {
		return err
	}
	parts, err := collect(rows, func(sc scanner) (gateway.Part, error) {
		_, p, err := scanPart(sc)
		return p, err
	})
	if err != nil {
		return err
	}
	if len(parts) < m.Segments {
		return loadParts(ctx, tx, []*gateway.Message{m})
	}
	slices.SortFunc(parts, func(a, b gateway.Part) int { return a.Index - b.Index })
	m.Parts = parts
	return nil
}

// PartSent records that part of message id went out through modem with
// TP-MR mr. A part sent again (after a lost lease) takes the newer MR, which
// is the one its delivery report will carry.
func (s *Store) PartSent(ctx context.Context, id string, part int, modem string, mr int, now time.Time) error {
	if mr < 0 || mr > 255 {
		return fmt.Errorf("part sent: mr %d: %w", mr, gateway.ErrInvalid)
	}
	err := s.inTx(ctx, func(tx wtx) error { return recordPart(ctx, tx, id, part, modem, mr, now) })
	if err != nil {
		return fmt.Errorf("part sent: %w", err)
	}
	return nil
}

// Sent marks a claimed message sent and releases its lease. Every part must
// have been recorded by PartSent (ErrConflict otherwise). A message that a
// quick delivery report already finished is left as it is, so that Sent
// never undoes a report.
func (s *Store) Sent(ctx context.Context, id string, now time.Time) error {
	err := s.inTx(ctx, func(tx wtx) error {
		if err := fence(ctx, tx, id); err != nil {
			return err
		}
		unsent, err := markSent(ctx, tx, id, now)
		if err == nil && unsent > 0 {
			err = fmt.Errorf("message %s has %d unsent parts: %w", id, unsent, gateway.ErrConflict)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sent: %w", err)
	}
	return nil
}

// LastPartSent is PartSent for the last unsent part of message id, then
// Sent, in one transaction: a single-part message takes one write fewer.
// Should a part be left unsent after all, the part is still recorded, the
// message stays sending, and the answer is ErrConflict, as from Sent.
func (s *Store) LastPartSent(ctx context.Context, id string, part int, modem string, mr int, now time.Time) error {
	if mr < 0 || mr > 255 {
		return fmt.Errorf("last part sent: mr %d: %w", mr, gateway.ErrInvalid)
	}
	var unsent int
	err := s.inTx(ctx, func(tx wtx) error {
		if err := recordPart(ctx, tx, id, part, modem, mr, now); err != nil {
			return err
		}
		var err error
		unsent, err = markSent(ctx, tx, id, now)
		return err
	})
	if err == nil && unsent > 0 {
		err = fmt.Errorf("message %s has %d unsent parts: %w", id, unsent, gateway.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("last part sent: %w", err)
	}
	return nil
}

// leaseSQL reads a message's lease for fence; on PostgreSQL it also locks
// the row, so that no claim takes the message over before the commit.
var leaseSQL = twin(writeStmt(`SELECT lease_until FROM messages WHERE id = ?`),
	`SELECT lease_until FROM messages WHERE id = $1 FOR UPDATE`)

// fence fails with gateway.ErrLeaseLost when ctx carries the lease of a
// claim (gateway.WithLease) that no longer holds message id: its lease ran
// out and another claim took the message, or the message was settled
// since. Work without a lease (the admin, tests) is not fenced.
func fence(ctx context.Context, tx wtx, id string) error {
	lease, ok := gateway.LeaseOf(ctx)
	if !ok {
		return nil
	}
	var now string
	err := tx.QueryRowContext(ctx, leaseSQL, id).Scan(&now)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("message %s: %w", id, gateway.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if now != fmtTime(lease) {
		return fmt.Errorf("message %s: claim until %s: %w", id, fmtTime(lease), gateway.ErrLeaseLost)
	}
	return nil
}

// recordPart is PartSent in tx.
func recordPart(ctx context.Context, tx wtx, id string, part int, modem string, mr int, now time.Time) error {
	if err := fence(ctx, tx, id); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, partSentSQL, mr, modem, fmtTime(now), id, part)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n > 0 {
		return nil
	}
	return partMissingOrConflict(ctx, tx, id, part)
}

// partMissingOrConflict explains why a part's update changed no row: it
// does not exist (ErrNotFound) or is in another status (ErrConflict).
func partMissingOrConflict(ctx context.Context, tx wtx, id string, part int) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM parts WHERE message_id = ? AND idx = ?`, id, part).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("message %s part %d: %w", id, part, gateway.ErrNotFound)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("message %s part %d is %s: %w", id, part, status, gateway.ErrConflict)
}

// markSent is Sent in tx, except that a sending message with parts still
// unsent is left as it is and their number returned.
func markSent(ctx context.Context, tx wtx, id string, now time.Time) (unsent int, err error) {
	var status string
	err = tx.QueryRowContext(ctx, sendStateSQL, id).Scan(&status, &unsent)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("message %s: %w", id, gateway.ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	switch gateway.Status(status) {
	case gateway.StatusSending:
		if unsent > 0 {
			return unsent, nil
		}
		m, err := scanMessageEvent(tx.QueryRowContext(ctx, sentSQL, fmtTime(now), id))
		if err != nil {
			return 0, err
		}
		return 0, appendEventOf(ctx, tx, m, now)
	case gateway.StatusSent, gateway.StatusDelivered, gateway.StatusFailed:
		_, err = tx.ExecContext(ctx, `UPDATE messages SET lease_until = '',
			sent_at = CASE WHEN sent_at = '' THEN ? ELSE sent_at END WHERE id = ?`, fmtTime(now), id)
		return 0, err
	}
	return 0, fmt.Errorf("message %s is %s: %w", id, status, gateway.ErrConflict)
}

// Retry puts a claimed message back in the queue, due at next, and releases
// its lease. Parts already sent keep their status and MR, so that they are
// not sent twice.
func (s *Store) Retry(ctx context.Context, id string, next time.Time, reason string, countAttempt bool) error {
	err := s.inTx(ctx, func(tx wtx) error {
		if err := fence(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE messages
			SET status = 'queued', next_attempt = ?, error = ?, attempts = attempts + ?, lease_until = ''
			WHERE id = ? AND status = 'sending'`, fmtTime(next), reason, boolInt(countAttempt), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return missingOrConflict(ctx, tx, id)
		}
		_, err = tx.ExecContext(ctx, `UPDATE parts SET status = 'queued'
			WHERE message_id = ? AND status = 'sending'`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("retry: %w", err)
	}
	return nil
}

// Fail ends a message as failed with reason; its unsent parts fail too,
// while parts already sent keep waiting for their reports. A message
// already final gives ErrConflict.
func (s *Store) Fail(ctx context.Context, id string, reason string, now time.Time) error {
	err := s.inTx(ctx, func(tx wtx) error {
		if err := fence(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE messages
			SET status = 'failed', error = ?, finished_at = ?, lease_until = ''
			WHERE id = ? AND status IN ('queued', 'sending', 'sent')`, reason, fmtTime(now), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return missingOrConflict(ctx, tx, id)
		}
		if _, err = tx.ExecContext(ctx, `UPDATE parts SET status = 'failed', error = ?
			WHERE message_id = ? AND status IN ('queued', 'sending')`, reason, id); err != nil {
			return err
		}
		return appendMessageEvent(ctx, tx, id, now)
	})
	if err != nil {
		return fmt.Errorf("fail: %w", err)
	}
	return nil
}

// ExpireDue turns queued messages whose expiry is at or before now into
// expired, with their unsent parts, and returns how many there were.
func (s *Store) ExpireDue(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx wtx) error {
		ts := fmtTime(now)
		rows, err := tx.QueryContext(ctx, `SELECT id FROM messages
			WHERE status = 'queued' AND expires_at <> '' AND expires_at <= ?`, ts)
		if err != nil {
			return err
		}
		ids, err := collect(rows, scanString)
		if err != nil || len(ids) == 0 {
			return err
		}
		// Parts first, while their messages are still found by the same
		// condition (and its partial index).
		if _, err := tx.ExecContext(ctx, `UPDATE parts SET status = 'expired'
			WHERE status IN ('queued', 'sending') AND message_id IN (
				SELECT id FROM messages WHERE status = 'queued' AND expires_at <> '' AND expires_at <= ?)`, ts); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE messages
			SET status = 'expired', finished_at = ?, error = 'expired before it could be sent'
			WHERE status = 'queued' AND expires_at <> '' AND expires_at <= ?`, ts, ts)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		for _, id := range ids {
			if err := appendMessageEvent(ctx, tx, id, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("expire due: %w", err)
	}
	return int(n), nil
}

// RecoverLeases puts every message left sending back in the queue, due at
// once, without counting an attempt, and returns how many there were. It
// is for startup when the caller knows that no other gateway shares the
// database (serve holds the data directory's lock): any lease then was left
// by a crash, and waiting for it to run out would only delay the message.
// Parts already sent keep their MR; a part in flight at the crash goes again.
func (s *Store) RecoverLeases(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx wtx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE parts SET status = 'queued' WHERE status = 'sending'`); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE messages
			SET status = 'queued', lease_until = '',
				next_attempt = CASE WHEN next_attempt > ?1 THEN ?1 ELSE next_attempt END
			WHERE status IN ('queued', 'sending') AND status = 'sending'`, fmtTime(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("recover leases: %w", err)
	}
	return int(n), nil
}

// nextDueSQL splits "the later of send_at and next_attempt" by which of
// the two is later, so that each half is the first row of an ordered index
// walk from now; a row past both is due already and plays no part.
// The terms that the times are not empty let the planner use the partial
// indexes (0102_next_due_partial), which hold only the rows they match.
var nextDueSQL = readStmt(`SELECT coalesce(min(t), '') FROM (
	SELECT * FROM (SELECT send_at AS t FROM messages
		WHERE status = 'queued' AND send_at <> '' AND send_at > ?1 AND send_at >= next_attempt
		ORDER BY send_at LIMIT 1) AS send
	UNION ALL
	SELECT * FROM (SELECT next_attempt FROM messages
		WHERE status = 'queued' AND next_attempt <> '' AND next_attempt > ?1 AND next_attempt > send_at
		ORDER BY next_attempt LIMIT 1) AS retry
	UNION ALL
	SELECT * FROM (SELECT lease_until FROM messages
		WHERE status = 'sending' AND lease_until > ?1 ORDER BY lease_until LIMIT 1) AS lease) AS due`)

// NextDue returns the earliest time strictly after now at which a queued
// message becomes due (the later of send_at and next_attempt) or a lease
// ends; zero when nothing is waiting on a timer.
func (s *Store) NextDue(ctx context.Context, now time.Time) (time.Time, error) {
	var next time.Time
	if err := s.r.QueryRowContext(ctx, nextDueSQL, fmtTime(now)).Scan(timeCol{&next}); err != nil {
		return time.Time{}, fmt.Errorf("next due: %w", err)
	}
	return next, nil
}
