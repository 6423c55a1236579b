package store

import (
	"context"
	"fmt"

	"github.com/simgate/simgate/gateway"
)

// QueueCounts counts the messages queued or being sent, by lane and
// status. The claim index covers exactly these rows, so a scrape of the
// metrics costs the queue's size, not the table's.
func (s *Store) QueueCounts(ctx context.Context) ([]gateway.QueueCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT priority, status, count(*) FROM messages
		WHERE status IN ('queued', 'sending') GROUP BY priority, status`)
	if err != nil {
		return nil, fmt.Errorf("queue counts: %w", err)
	}
	defer rows.Close()
	var out []gateway.QueueCount
	for rows.Next() {
		var c gateway.QueueCount
		if err := rows.Scan(&c.Priority, &c.Status, &c.N); err != nil {
			return nil, fmt.Errorf("queue counts: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("queue counts: %w", err)
	}
	return out, nil
}
