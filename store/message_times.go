package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/simgate/simgate/gateway"
)

// MessageTimes returns the times of the messages ids that exist, by ID, in
// one read: the metrics follow the event log a batch at a time, and one
// read per sent message was a twentieth of the gateway's CPU under load.
func (s *Store) MessageTimes(ctx context.Context, ids []string) (map[string]gateway.MessageTimes, error) {
	out := make(map[string]gateway.MessageTimes, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 256)
		if err := s.messageTimes(ctx, ids[:n], out); err != nil {
			return nil, fmt.Errorf("message times: %w", err)
		}
		ids = ids[n:]
	}
	return out, nil
}

func (s *Store) messageTimes(ctx context.Context, ids []string, out map[string]gateway.MessageTimes) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	q := `SELECT id, recipient, created_at, send_at, sent_at, delivered_at FROM messages WHERE id IN (?` +
		strings.Repeat(`, ?`, len(ids)-1) + `)`
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			t  gateway.MessageTimes
		)
		if err := rows.Scan(&id, &t.To, timeCol{&t.CreatedAt}, timeCol{&t.SendAt}, timeCol{&t.SentAt}, timeCol{&t.DeliveredAt}); err != nil {
			return err
		}
		out[id] = t
	}
	return rows.Err()
}
