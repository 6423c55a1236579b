package store

import (
	"context"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
)

var _ gateway.RouteSamples = (*Store)(nil)

// AddRouteSamples records what a router learned, in one transaction.
func (s *Store) AddRouteSamples(ctx context.Context, samples []gateway.RouteSample) error {
	if len(samples) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx wtx) error {
		for _, r := range samples {
			if _, err := tx.ExecContext(ctx, `INSERT INTO route_samples (modem, network, dest, sent_at, latency_ms, delivered)
				VALUES (?, ?, ?, ?, ?, ?)`, r.Modem, r.Network, r.Dest, fmtTime(r.SentAt), r.Latency.Milliseconds(), boolInt(r.Delivered)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add route samples: %w", err)
	}
	return nil
}

// RouteSamplesSince returns the samples sent at or after t, oldest first,
// at most limit.
func (s *Store) RouteSamplesSince(ctx context.Context, t time.Time, limit int) ([]gateway.RouteSample, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT modem, network, dest, sent_at, latency_ms, delivered FROM route_samples
		WHERE sent_at >= ? ORDER BY sent_at LIMIT ?`, fmtTime(t), limit)
	if err != nil {
		return nil, fmt.Errorf("route samples: %w", err)
	}
	out, err := collect(rows, func(sc scanner) (gateway.RouteSample, error) {
		var (
			r         gateway.RouteSample
			ms        int64
			delivered int
		)
		err := sc.Scan(&r.Modem, &r.Network, &r.Dest, timeCol{&r.SentAt}, &ms, &delivered)
		r.Latency, r.Delivered = time.Duration(ms)*time.Millisecond, delivered != 0
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("route samples: %w", err)
	}
	return out, nil
}

// PruneRouteSamples deletes the samples sent before t.
func (s *Store) PruneRouteSamples(ctx context.Context, t time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM route_samples WHERE sent_at < ?`, fmtTime(t))
	if err != nil {
		return 0, fmt.Errorf("prune route samples: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
