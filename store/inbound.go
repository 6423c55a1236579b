package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
)

const inboundPartCols = `id, modem, sender, pdu, ref, part, total, ref_bits, scts, received_at`

func scanInboundPart(sc scanner) (gateway.InboundPart, error) {
	var p gateway.InboundPart
	err := sc.Scan(&p.ID, &p.Modem, &p.From, &p.PDU, &p.Ref, &p.Part, &p.Total, &p.RefBits,
		timeCol{&p.SCTS}, timeCol{&p.ReceivedAt})
	return p, err
}

// AddInboundPart stores p unless the very same part (same set, number and
// PDU) is already held, which happens when the SIM is listed again after a
// restart, and returns every part held for p's set ordered by part number.
// A part already joined into a saved message is not returned: it was
// received before (a crash came between the save and the SIM delete), and
// the caller only has to delete it from the SIM.
// A message of one part is a set of its own: two single SMS from one sender
// held at once are not returned together.
func (s *Store) AddInboundPart(ctx context.Context, p gateway.InboundPart) ([]gateway.InboundPart, error) {
	if p.Total < 1 || p.Part < 1 || p.Part > p.Total || p.ReceivedAt.IsZero() {
		return nil, fmt.Errorf("add inbound part: part %d of %d: %w", p.Part, p.Total, gateway.ErrInvalid)
	}
	var parts []gateway.InboundPart
	err := s.inTx(ctx, func(tx wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO inbound_parts (modem, sender, pdu, ref, part, total, ref_bits, scts, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (modem, sender, ref, total, ref_bits, part, pdu) DO NOTHING`,
			p.Modem, p.From, p.PDU, p.Ref, p.Part, p.Total, p.RefBits, fmtTime(p.SCTS), fmtTime(p.ReceivedAt))
		if err != nil {
			return err
		}
		q := `SELECT ` + inboundPartCols + ` FROM inbound_parts
			WHERE modem = ? AND sender = ? AND ref = ? AND total = ? AND ref_bits = ? AND consumed = ''`
		args := []any{p.Modem, p.From, p.Ref, p.Total, p.RefBits}
		if p.Total == 1 {
			q += ` AND part = 1 AND pdu = ?`
			args = append(args, p.PDU)
		}
		rows, err := tx.QueryContext(ctx, q+` ORDER BY part, id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ip, err := scanInboundPart(rows)
			if err != nil {
				return err
			}
			parts = append(parts, ip)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("add inbound part: %w", err)
	}
	return parts, nil
}

// SaveInbound commits m and marks the held parts it was joined from as
// consumed, in one transaction, so that a crash leaves either the parts or
// the message. Consumed parts stay a week, to recognise a re-read PDU.
func (s *Store) SaveInbound(ctx context.Context, m *gateway.InboundMessage, parts []int64) error {
	if m.ID == "" || m.ReceivedAt.IsZero() {
		return fmt.Errorf("save inbound: id %q: %w", m.ID, gateway.ErrInvalid)
	}
	err := s.inTx(ctx, func(tx wtx) error {
		if m.Undecodable() && len(parts) == 0 {
			if err := markRawSeen(ctx, tx, m); err != nil {
				return err
			}
		}
		dest, src := portArgs(m.Ports)
		var data any
		if m.Data != nil {
			data = m.Data
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO inbound (id, modem, sender, body, parts, missing, scts, received_at, raw_pdu, decode_error,
				data, dest_port, source_port, flash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.ID, m.Modem, m.From, m.Text, m.Parts, m.Missing, fmtTime(m.SCTS), fmtTime(m.ReceivedAt), m.RawPDU, m.DecodeError,
			data, dest, src, boolInt(m.Flash))
		if isUnique(err) {
			return fmt.Errorf("inbound %s exists: %w", m.ID, gateway.ErrConflict)
		}
		if err != nil {
			return err
		}
		if err := appendInboundEvent(ctx, tx, m); err != nil {
			return err
		}
		if len(parts) == 0 {
			return nil
		}
		args := make([]any, len(parts))
		for i, id := range parts {
			args[i] = id
		}
		args = append([]any{m.ID}, args...)
		if _, err = tx.ExecContext(ctx, `UPDATE inbound_parts SET consumed = ? WHERE id IN (`+strings.Repeat(",?", len(parts))[1:]+`)`, args...); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM inbound_parts WHERE consumed != '' AND received_at < ?`,
			fmtTime(m.ReceivedAt.Add(-consumedRetention)))
		return err
	})
	if err != nil {
		return fmt.Errorf("save inbound: %w", err)
	}
	return nil
}

// markRawSeen records an undecodable PDU as a consumed part of its own
// (no sender, part 1 of 1), so that the same PDU read again from the SIM
// is recognised like a decodable one: ErrAlreadyStored.
func markRawSeen(ctx context.Context, tx wtx, m *gateway.InboundMessage) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO inbound_parts (modem, sender, pdu, ref, part, total, ref_bits, received_at, consumed)
		VALUES (?, '', ?, 0, 1, 1, 0, ?, ?)
		ON CONFLICT (modem, sender, ref, total, ref_bits, part, pdu) DO NOTHING`,
		m.Modem, m.RawPDU, fmtTime(m.ReceivedAt), m.ID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return cmp.Or(err, fmt.Errorf("undecodable pdu on %s: %w", m.Modem, gateway.ErrAlreadyStored))
	}
	return nil
}

// consumedRetention is how long joined parts are kept to recognise a PDU
// read again from the SIM.
const consumedRetention = 7 * 24 * time.Hour

// appendInboundEvent appends sms.received for m. Its text is withheld when
// the sender is one of the gateway's own lines: it may then be a code the
// gateway sent itself (see gateway.NewInboundEventData).
func appendInboundEvent(ctx context.Context, tx wtx, m *gateway.InboundMessage) error {
	own, err := ownLine(ctx, tx, m.From)
	if err != nil {
		return err
	}
	return appendNewEvent(ctx, tx, gateway.EventSMSReceived, m.ID, gateway.NewInboundEventData(m, own), m.ReceivedAt)
}

// StaleInboundParts returns the held parts of every set whose newest part
// was received before before, oldest first, for the caller to give those
// sets up as incomplete. A set still receiving parts is not stale.
func (s *Store) StaleInboundParts(ctx context.Context, before time.Time) ([]gateway.InboundPart, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+inboundPartCols+` FROM inbound_parts
		WHERE consumed = '' AND (modem, sender, ref, total, ref_bits) IN (
			SELECT modem, sender, ref, total, ref_bits FROM inbound_parts WHERE consumed = ''
			GROUP BY modem, sender, ref, total, ref_bits HAVING max(received_at) < ?)
		ORDER BY received_at, id`, fmtTime(before))
	if err != nil {
		return nil, fmt.Errorf("stale inbound parts: %w", err)
	}
	parts, err := collect(rows, scanInboundPart)
	if err != nil {
		return nil, fmt.Errorf("stale inbound parts: %w", err)
	}
	return parts, nil
}

// Inbox returns received messages newer than since (all when zero), newest
// first; limit defaults to 50 and is capped at 500.
func (s *Store) Inbox(ctx context.Context, since time.Time, limit int) ([]*gateway.InboundMessage, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	rows, err := s.r.QueryContext(ctx, `SELECT id, modem, sender, body, parts, missing, scts, received_at, body_purged_at,
		raw_pdu, decode_error, data, dest_port, source_port, flash
		FROM inbound WHERE received_at > ? ORDER BY received_at DESC, id DESC LIMIT ?`, fmtTime(since), limit)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	defer rows.Close()
	var msgs []*gateway.InboundMessage
	for rows.Next() {
		var (
			m         gateway.InboundMessage
			dest, src sql.NullInt64
			flash     int
		)
		if err := rows.Scan(&m.ID, &m.Modem, &m.From, &m.Text, &m.Parts, &m.Missing,
			timeCol{&m.SCTS}, timeCol{&m.ReceivedAt}, timeCol{&m.TextPurgedAt}, &m.RawPDU, &m.DecodeError,
			&m.Data, &dest, &src, &flash); err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
		m.Ports, m.Flash = scanPorts(dest, src), flash != 0
		msgs = append(msgs, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	return msgs, nil
}
