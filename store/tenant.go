package store

import (
	"context"
	"fmt"
	"time"
)

var keyMessagesSQL = readStmt(`SELECT count(*) FROM messages WHERE owner_key = ? AND created_at >= ?`)

// KeyMessagesSince counts the messages API key key queued since since (the
// messages_owner index), OTP codes included.
func (s *Store) KeyMessagesSince(ctx context.Context, key int64, since time.Time) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, keyMessagesSQL, key, fmtTime(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count messages of key %d: %w", key, err)
	}
	return n, nil
}
