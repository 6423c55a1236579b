package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
)

var _ gateway.EventLog = (*Store)(nil)

// On PostgreSQL events are numbered in the order their transactions
// commit, so that a reader past seq N never misses an N-1 committed after
// it read: the append writes a placeholder seq, seen by its transaction
// only, and a deferred trigger numbers the row under a transaction lock
// while the COMMIT runs (migration 0100_pg_event_numbering), so that no
// host holds that lock across a round trip.
var eventInsertSQL = twin(writeStmt(`INSERT INTO events (id, type, subject, data, created_at) VALUES (?, ?, ?, ?, ?)`),
	`INSERT INTO events (seq, id, type, subject, data, created_at)
		VALUES (-nextval('events_placeholder'), $1, $2, $3, $4, $5)`)

// appendEvent adds ev to the log inside tx: it is committed with the change
// it describes or not at all.
func appendEvent(ctx context.Context, tx wtx, ev gateway.Event) error {
	if _, err := tx.ExecContext(ctx, eventInsertSQL, ev.ID, ev.Type, ev.Subject, string(ev.Data), fmtTime(ev.At)); err != nil {
		return fmt.Errorf("append event %s: %w", ev.Type, err)
	}
	*tx.appended = true
	return nil
}

// AppendEvent appends ev on its own: an event that belongs to no state
// change (a ping, an event injected by a test). Events of state changes are
// appended by the store in the change's own transaction.
func (s *Store) AppendEvent(ctx context.Context, ev gateway.Event) error {
	if err := s.inTx(ctx, func(tx wtx) error { return appendEvent(ctx, tx, ev) }); err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	return nil
}

// messageEventCols are the columns of a message that its event shows.
const messageEventCols = `id, recipient, status, segments, error, modem, status_report`

var messageEventSQL = writeStmt(`SELECT ` + messageEventCols + ` FROM messages WHERE id = ?`)

// scanMessageEvent scans messageEventCols.
func scanMessageEvent(row *sql.Row) (*gateway.Message, error) {
	var m gateway.Message
	err := row.Scan(&m.ID, &m.To, &m.Status, &m.Segments, &m.Error, &m.Modem, &m.StatusReport)
	return &m, err
}

// appendMessageEvent reads message id back inside tx — what its event
// shows, no more — and appends the event of the status it is now in, if
// that status has one.
func appendMessageEvent(ctx context.Context, tx wtx, id string, at time.Time) error {
	return appendMessageEventAs(ctx, tx, id, "", at)
}

// appendMessageEventAs is appendMessageEvent for the message as if in
// status (its own when status is ""): the event of a state it passed
// through within the transaction.
func appendMessageEventAs(ctx context.Context, tx wtx, id string, status gateway.Status, at time.Time) error {
	m, err := scanMessageEvent(tx.QueryRowContext(ctx, messageEventSQL, id))
	if err != nil {
		return err
	}
	if status != "" {
		m.Status, m.Error = status, ""
	}
	return appendEventOf(ctx, tx, m, at)
}

// appendEventOf appends the event of m's status, if it has one, from the
// columns of messageEventCols.
func appendEventOf(ctx context.Context, tx wtx, m *gateway.Message, at time.Time) error {
	ev, ok, err := gateway.MessageEvent(m, at)
	if err != nil || !ok {
		return err
	}
	return appendEvent(ctx, tx, ev)
}

// appendNewEvent builds an event and appends it.
func appendNewEvent(ctx context.Context, tx wtx, typ, subject string, data any, at time.Time) error {
	ev, err := gateway.NewEvent(typ, subject, data, at)
	if err != nil {
		return err
	}
	return appendEvent(ctx, tx, ev)
}

// LastEventSeq is the Seq of the newest event; 0 when there is none.
func (s *Store) LastEventSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("last event: %w", err)
	}
	return seq, nil
}

// EventCursor is how far consumer has taken the log; 0 when never.
func (s *Store) EventCursor(ctx context.Context, consumer string) (int64, error) {
	var seq int64
	err := s.r.QueryRowContext(ctx, `SELECT seq FROM event_cursors WHERE consumer = ?`, consumer).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("event cursor %s: %w", consumer, err)
	}
	return seq, nil
}

// Appended returns a channel closed at the next commit that appends an
// event. Take it before reading the log and wait on it after.
func (s *Store) Appended() <-chan struct{} { return s.events.C() }

// setCursor moves consumer's cursor to seq inside tx; never backwards.
func setCursor(ctx context.Context, tx wtx, consumer string, seq int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO event_cursors (consumer, seq) VALUES (?, ?)
		ON CONFLICT (consumer) DO UPDATE SET seq = CASE WHEN excluded.seq > event_cursors.seq THEN excluded.seq ELSE event_cursors.seq END`, consumer, seq)
	return err
}

// enqueueUpTo runs insert for each of n rows of an outbox in one
// transaction with moving consumer's cursor to upTo, and returns how many
// rows the inserts added (a row already there adds none).
func (s *Store) enqueueUpTo(ctx context.Context, consumer string, upTo int64, n int, insert func(tx wtx, i int) (sql.Result, error)) (int, error) {
	var added int
	err := s.inTx(ctx, func(tx wtx) error {
		added = 0 // a transaction run again counts again
		for i := range n {
			res, err := insert(tx, i)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			added += int(k)
		}
		return setCursor(ctx, tx, consumer, upTo)
	})
	return added, err
}

// PruneEvents deletes events older than before that every durable consumer
// has taken, and returns how many.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	// The newest event stays, so that seq never starts again from below a
	// cursor.
	res, err := s.w.ExecContext(ctx, `DELETE FROM events WHERE created_at < ?
		AND seq <= coalesce((SELECT min(seq) FROM event_cursors), 0)
		AND seq < (SELECT max(seq) FROM events)`, fmtTime(before))
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ownLine reports whether number is one of the gateway's own modems' lines,
// compared on its last 8 digits (an SMSC may print it nationally).
func ownLine(ctx context.Context, tx wtx, number string) (bool, error) {
	key := lastDigits(number, 8)
	if len(key) < 8 {
		return false, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT number FROM modems WHERE number <> ''`)
	if err != nil {
		return false, err
	}
	nums, err := collect(rows, scanString)
	if err != nil {
		return false, err
	}
	for _, n := range nums {
		if lastDigits(n, 8) == key {
			return true, nil
		}
	}
	return false, nil
}

func lastDigits(s string, n int) string {
	d := digits(s)
	return d[max(len(d)-n, 0):]
}

func scanString(sc scanner) (string, error) {
	var v string
	return v, sc.Scan(&v)
}
