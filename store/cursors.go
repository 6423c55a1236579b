package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/simgate/simgate/gateway"
)

// MoveEventCursor moves a durable consumer's cursor to seq on its own,
// never backwards: for a consumer whose work is outside the database (a
// program run, a file written), which therefore takes the log at least
// once rather than in the transaction that records what it did.
func (s *Store) MoveEventCursor(ctx context.Context, consumer string, seq int64) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO event_cursors (consumer, seq) VALUES (?, ?)
		ON CONFLICT (consumer) DO UPDATE SET seq = max(seq, excluded.seq)`, consumer, seq)
	if err != nil {
		return fmt.Errorf("move event cursor %s: %w", consumer, err)
	}
	return nil
}

// DropEventCursor forgets a consumer that is no longer configured, so that
// its cursor, which nothing moves any more, does not hold back the pruning
// of the log for ever.
func (s *Store) DropEventCursor(ctx context.Context, consumer string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM event_cursors WHERE consumer = ?`, consumer); err != nil {
		return fmt.Errorf("drop event cursor %s: %w", consumer, err)
	}
	return nil
}

// InboundMessageByID returns one received message; gateway.ErrNotFound
// when there is none with that ID.
func (s *Store) InboundMessageByID(ctx context.Context, id string) (*gateway.InboundMessage, error) {
	var (
		m         gateway.InboundMessage
		dest, src sql.NullInt64
		flash     int
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, modem, sender, body, parts, missing, scts, received_at, body_purged_at,
		raw_pdu, decode_error, data, dest_port, source_port, flash FROM inbound WHERE id = ?`, id).Scan(
		&m.ID, &m.Modem, &m.From, &m.Text, &m.Parts, &m.Missing, timeCol{&m.SCTS}, timeCol{&m.ReceivedAt},
		timeCol{&m.TextPurgedAt}, &m.RawPDU, &m.DecodeError, &m.Data, &dest, &src, &flash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("inbound message %s: %w", id, gateway.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("inbound message %s: %w", id, err)
	}
	m.Ports, m.Flash = scanPorts(dest, src), flash != 0
	return &m, nil
}
