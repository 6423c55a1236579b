package store

import (
	"context"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
)

// A modem is sampled at most every sampleEvery while its state holds, so
// a day's chart has a few hundred points whatever the poll interval; a
// state change is sampled at once. History older than historyRetention is
// dropped as new samples come.
const (
	sampleEvery      = 5 * time.Minute
	historyRetention = 7 * 24 * time.Hour
)

var (
	sampleSQL = writeStmt(`INSERT INTO modem_samples (imei, at, state, registration, csq, dbm, bars, signal_known)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
		WHERE NOT EXISTS (SELECT 1 FROM (SELECT at, state FROM modem_samples WHERE imei = ?1
			ORDER BY at DESC LIMIT 1) AS last WHERE at > ?9 AND state = ?3)
		ON CONFLICT DO NOTHING`)
	modemErrorSQL = writeStmt(`INSERT INTO modem_errors (imei, at, error) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`)
)

// appendHistory records what UpsertModem was told for the status page: a
// signal sample when the last is old or of another state, and the modem's
// last error if it is new.
func (s *Store) appendHistory(ctx context.Context, m gateway.ModemInfo) error {
	if m.UpdatedAt.IsZero() {
		return nil // no time to file it under
	}
	state := m.State
	if state == "" {
		state = gateway.ModemOffline
	}
	res, err := s.execHot(ctx, sampleSQL, m.IMEI, fmtTime(m.UpdatedAt), string(state), m.Registration,
		m.CSQ, m.DBM, m.Bars, boolInt(m.SignalKnown), fmtTime(m.UpdatedAt.Add(-sampleEvery)))
	if err != nil {
		return fmt.Errorf("sample modem: %w", err)
	}
	if m.LastError != "" && !m.LastErrorAt.IsZero() {
		if _, err := s.execHot(ctx, modemErrorSQL, m.IMEI, fmtTime(m.LastErrorAt), m.LastError); err != nil {
			return fmt.Errorf("record modem error: %w", err)
		}
	}
	if n, _ := res.RowsAffected(); n > 0 {
		cut := fmtTime(m.UpdatedAt.Add(-historyRetention))
		if _, err := s.w.ExecContext(ctx, `DELETE FROM modem_samples WHERE at < ?`, cut); err != nil {
			return fmt.Errorf("prune modem samples: %w", err)
		}
		if _, err := s.w.ExecContext(ctx, `DELETE FROM modem_errors WHERE at < ?`, cut); err != nil {
			return fmt.Errorf("prune modem errors: %w", err)
		}
	}
	return nil
}

// ModemSamples returns imei's radio samples taken at or after since, oldest
// first.
func (s *Store) ModemSamples(ctx context.Context, imei string, since time.Time) ([]gateway.ModemSample, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT at, state, registration, csq, dbm, bars, signal_known
		FROM modem_samples WHERE imei = ? AND at >= ? ORDER BY at`, imei, fmtTime(since))
	if err != nil {
		return nil, fmt.Errorf("modem samples: %w", err)
	}
	defer rows.Close()
	var out []gateway.ModemSample
	for rows.Next() {
		var (
			sm    gateway.ModemSample
			known int
		)
		if err := rows.Scan(timeCol{&sm.At}, &sm.State, &sm.Registration, &sm.CSQ, &sm.DBM, &sm.Bars, &known); err != nil {
			return nil, fmt.Errorf("modem samples: %w", err)
		}
		sm.SignalKnown = known != 0
		out = append(out, sm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("modem samples: %w", err)
	}
	return out, nil
}

// HourlySends counts, per UTC clock hour since since, the parts imei sent
// and its messages that failed; every modem's when imei is "". Hours with
// nothing are left out.
func (s *Store) HourlySends(ctx context.Context, imei string, since time.Time) ([]gateway.HourCount, error) {
	// Times are fixed-width UTC text: the first 13 characters are the hour.
	rows, err := s.r.QueryContext(ctx, `SELECT hour, sum(sent), sum(failed) FROM (
			SELECT substr(sent_at, 1, 13) AS hour, 1 AS sent, 0 AS failed FROM parts
				WHERE sent_at <> '' AND sent_at >= ?2 AND (?1 = '' OR modem = ?1)
			UNION ALL
			SELECT substr(finished_at, 1, 13), 0, 1 FROM messages
				WHERE status = 'failed' AND finished_at >= ?2 AND (?1 = '' OR modem = ?1)) AS hours
		GROUP BY hour ORDER BY hour`, imei, fmtTime(since))
	if err != nil {
		return nil, fmt.Errorf("hourly sends: %w", err)
	}
	defer rows.Close()
	var out []gateway.HourCount
	for rows.Next() {
		var (
			hour string
			hc   gateway.HourCount
		)
		if err := rows.Scan(&hour, &hc.Sent, &hc.Failed); err != nil {
			return nil, fmt.Errorf("hourly sends: %w", err)
		}
		t, err := time.Parse("2006-01-02T15", hour)
		if err != nil {
			return nil, fmt.Errorf("hourly sends: hour %q: %w", hour, err)
		}
		hc.Hour = t
		out = append(out, hc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("hourly sends: %w", err)
	}
	return out, nil
}

// RecentErrors returns the newest errors, of imei or of every modem when
// imei is "": what the modem reported, and the messages that failed.
func (s *Store) RecentErrors(ctx context.Context, imei string, limit int) ([]gateway.ErrorEvent, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	rows, err := s.r.QueryContext(ctx, `SELECT at, imei, message, error FROM (
			SELECT at, imei, '' AS message, error FROM modem_errors WHERE ?1 = '' OR imei = ?1
			UNION ALL
			SELECT finished_at, modem, id, error FROM messages
				WHERE status = 'failed' AND (?1 = '' OR modem = ?1)) AS errs
		ORDER BY at DESC LIMIT ?2`, imei, limit)
	if err != nil {
		return nil, fmt.Errorf("recent errors: %w", err)
	}
	defer rows.Close()
	var out []gateway.ErrorEvent
	for rows.Next() {
		var e gateway.ErrorEvent
		if err := rows.Scan(timeCol{&e.At}, &e.Modem, &e.Message, &e.Error); err != nil {
			return nil, fmt.Errorf("recent errors: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recent errors: %w", err)
	}
	return out, nil
}

// DeliveredSince counts, by modem IMEI, the messages delivered at or after
// since.
func (s *Store) DeliveredSince(ctx context.Context, since time.Time) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT modem, count(*) FROM messages
		WHERE status = 'delivered' AND delivered_at >= ? GROUP BY modem`, fmtTime(since))
	if err != nil {
		return nil, fmt.Errorf("delivered since: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			imei string
			n    int
		)
		if err := rows.Scan(&imei, &n); err != nil {
			return nil, fmt.Errorf("delivered since: %w", err)
		}
		out[imei] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delivered since: %w", err)
	}
	return out, nil
}

// QueueDepth counts the messages queued or being sent, across modems.
func (s *Store) QueueDepth(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE status IN ('queued', 'sending')`).Scan(&n); err != nil {
		return 0, fmt.Errorf("queue depth: %w", err)
	}
	return n, nil
}
