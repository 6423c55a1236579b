package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
)

// UpsertModem records m's identity and last status under its IMEI, so that
// a modem renumbered by a replug keeps its row. An empty State is stored as
// offline.
func (s *Store) UpsertModem(ctx context.Context, m gateway.ModemInfo) error {
	if m.IMEI == "" {
		return fmt.Errorf("upsert modem: empty imei: %w", gateway.ErrInvalid)
	}
	state := m.State
	if state == "" {
		state = gateway.ModemOffline
	}
	err := s.inTx(ctx, func(tx wtx) error {
		var (
			prev    gateway.ModemInfo
			roaming int
		)
		err := tx.QueryRowContext(ctx, `SELECT state, operator, registration, roaming, bars, number, last_error,
			last_escalation, last_escalation_at
			FROM modems WHERE imei = ?`, m.IMEI).Scan(&prev.State, &prev.Operator, &prev.Registration,
			&roaming, &prev.Bars, &prev.Number, &prev.LastError, &prev.LastEscalation, timeCol{&prev.LastEscalationAt})
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		prev.Roaming = roaming != 0
		if _, err := tx.ExecContext(ctx, modemUpsertSQL,
			m.IMEI, m.Port, m.Manufacturer, m.Model, m.Revision, m.IMSI, m.ICCID, m.Number, m.Operator,
			m.Registration, boolInt(m.Roaming), m.CSQ, m.DBM, m.Bars, boolInt(m.SignalKnown), string(state),
			m.LastError, fmtTime(m.LastErrorAt), m.LastEscalation, fmtTime(m.LastEscalationAt),
			fmtTime(m.UpdatedAt)); err != nil {
			return err
		}
		if s.pg { // the modem is this host's, wherever it was before
			if _, err := tx.ExecContext(ctx, `UPDATE modems SET host = ? WHERE imei = ?`, s.host, m.IMEI); err != nil {
				return err
			}
		}
		m.State = state
		return appendModemEvent(ctx, tx, prev, m)
	})
	if err != nil {
		return fmt.Errorf("upsert modem: %w", err)
	}
	if err := s.appendHistory(ctx, m); err != nil { // the status page's charts and errors
		return fmt.Errorf("upsert modem: %w", err)
	}
	return nil
}

// appendModemEvent appends modem.online or modem.offline when a modem
// crosses between online and any other state, and modem.updated when
// anything the status page shows of it changed otherwise (state,
// registration, operator, signal bars, number, last error, last escalation
// step); a reading that
// changes nothing visible is no event.
func appendModemEvent(ctx context.Context, tx wtx, prev, m gateway.ModemInfo) error {
	was, now := prev.State == gateway.ModemOnline, m.State == gateway.ModemOnline
	var typ string
	switch {
	case now && !was:
		typ = gateway.EventModemOnline
	case was && !now:
		typ = gateway.EventModemOffline
	case prev.State != m.State || prev.Operator != m.Operator || prev.Registration != m.Registration ||
		prev.Roaming != m.Roaming || prev.Bars != m.Bars || prev.Number != m.Number || prev.LastError != m.LastError ||
		prev.LastEscalation != m.LastEscalation || !prev.LastEscalationAt.Equal(m.LastEscalationAt):
		typ = gateway.EventModemUpdated
	default:
		return nil
	}
	at := m.UpdatedAt
	if at.IsZero() {
		at = time.Now() // a caller that gives no time; only tests do
	}
	return appendNewEvent(ctx, tx, typ, m.IMEI, gateway.NewModemEventData(m), at)
}

var modemUpsertSQL = writeStmt(`INSERT INTO modems (imei, port, manufacturer, model, revision, imsi, iccid,
			number, operator, registration, roaming, csq, dbm, bars, signal_known, state, last_error,
			last_error_at, last_escalation, last_escalation_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (imei) DO UPDATE SET port = excluded.port, manufacturer = excluded.manufacturer,
			model = excluded.model, revision = excluded.revision, imsi = excluded.imsi,
			iccid = excluded.iccid, number = excluded.number, operator = excluded.operator,
			registration = excluded.registration, roaming = excluded.roaming, csq = excluded.csq,
			dbm = excluded.dbm, bars = excluded.bars, signal_known = excluded.signal_known,
			state = excluded.state, last_error = excluded.last_error,
			last_error_at = excluded.last_error_at, last_escalation = excluded.last_escalation,
			last_escalation_at = excluded.last_escalation_at, updated_at = excluded.updated_at`)

// modemsSQL lists the modems; only PostgreSQL's have a host, and the
// host's last heartbeat.
var modemsSQL = twin(`SELECT imei, '' AS host, '' AS host_seen_at, port, manufacturer, model, revision, imsi, iccid,
			number, operator, registration, roaming, csq, dbm, bars, signal_known, state, last_error,
			last_error_at, last_escalation, last_escalation_at, updated_at
		FROM modems ORDER BY imei`, `SELECT imei, m.host, coalesce(h.seen_at, ''), port, manufacturer, model, revision,
			imsi, iccid, number, operator, registration, roaming, csq, dbm, bars, signal_known, state, last_error,
			last_error_at, last_escalation, last_escalation_at, updated_at
		FROM modems m LEFT JOIN hosts h ON h.host = m.host ORDER BY m.host, imei`)

// Heartbeat records that this host is alive at now, on a shared database
// (PostgreSQL), where every host lists every host's modems; on SQLite,
// with one host, it does nothing.
func (s *Store) Heartbeat(ctx context.Context, now time.Time) error {
	if !s.pg {
		return nil
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO hosts (host, seen_at) VALUES (?, ?)
		ON CONFLICT (host) DO UPDATE SET seen_at = excluded.seen_at`, s.host, fmtTime(now))
	if err != nil {
		return fmt.Errorf("heartbeat: %w", busy(err))
	}
	return nil
}

// Modems returns every modem ever seen, by IMEI (on PostgreSQL, by host
// then IMEI, each with its host).
func (s *Store) Modems(ctx context.Context) ([]gateway.ModemInfo, error) {
	rows, err := s.r.QueryContext(ctx, modemsSQL)
	if err != nil {
		return nil, fmt.Errorf("list modems: %w", err)
	}
	defer rows.Close()
	var ms []gateway.ModemInfo
	for rows.Next() {
		var (
			m              gateway.ModemInfo
			roaming, known int
		)
		if err := rows.Scan(&m.IMEI, &m.Host, timeCol{&m.HostSeenAt}, &m.Port, &m.Manufacturer, &m.Model, &m.Revision, &m.IMSI, &m.ICCID,
			&m.Number, &m.Operator, &m.Registration, &roaming, &m.CSQ, &m.DBM, &m.Bars, &known, &m.State,
			&m.LastError, timeCol{&m.LastErrorAt}, &m.LastEscalation, timeCol{&m.LastEscalationAt},
			timeCol{&m.UpdatedAt}); err != nil {
			return nil, fmt.Errorf("list modems: %w", err)
		}
		m.Roaming, m.SignalKnown = roaming != 0, known != 0
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list modems: %w", err)
	}
	balances, err := s.modemBalances(ctx)
	if err != nil {
		return nil, fmt.Errorf("list modems: %w", err)
	}
	for i := range ms {
		ms[i].Balance = balances[ms[i].IMEI]
	}
	return ms, nil
}

// ModemCounters returns imei's counters since dayStart. QueueDepth is what
// the modem may send next: queued messages pinned to it or unpinned (shared
// with every other modem), plus the messages it is sending now. Sent counts
// parts it sent; Failed counts messages it sent (or tried to) that failed.
func (s *Store) ModemCounters(ctx context.Context, imei string, dayStart time.Time) (gateway.ModemCounters, error) {
	var c gateway.ModemCounters
	ts := fmtTime(dayStart)
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM messages WHERE status IN ('queued', 'sending') AND
			((status = 'queued' AND pin IN ('', ?1)) OR (status = 'sending' AND modem = ?1))),
		(SELECT count(*) FROM parts WHERE modem = ?1 AND sent_at <> '' AND sent_at >= ?2),
		(SELECT count(*) FROM messages WHERE status = 'failed' AND modem = ?1 AND finished_at >= ?2)`,
		imei, ts).Scan(&c.QueueDepth, &c.Sent, &c.Failed)
	if err != nil {
		return gateway.ModemCounters{}, fmt.Errorf("modem counters: %w", err)
	}
	return c, nil
}

var sentSinceSQL = readStmt(`SELECT count(*) FROM parts WHERE modem = ? AND sent_at <> '' AND sent_at >= ?`)

// SentSince counts the parts imei sent at or after t, for its daily cap.
func (s *Store) SentSince(ctx context.Context, imei string, t time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, sentSinceSQL, imei, fmtTime(t)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sent since: %w", err)
	}
	return n, nil
}
