package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
)

// adminPasswordKey is the setting holding the status page's password hash.
const adminPasswordKey = "admin_password_hash"

// AdminPasswordHash returns the status page's password hash; ErrNotFound
// when none was set.
func (s *Store) AdminPasswordHash(ctx context.Context) (string, error) {
	return s.Setting(ctx, adminPasswordKey)
}

// SetAdminPasswordHash stores the status page's password hash and ends
// every session, so that a password changed because it leaked also locks
// out whoever used it.
func (s *Store) SetAdminPasswordHash(ctx context.Context, hash string) error {
	if hash == "" {
		return fmt.Errorf("set admin password: empty hash: %w", gateway.ErrInvalid)
	}
	err := s.inTx(ctx, func(tx wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, adminPasswordKey, hash); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions`)
		return err
	})
	if err != nil {
		return fmt.Errorf("set admin password: %w", err)
	}
	return nil
}

// CreateSession records a status page session under the hash of its
// cookie, with the CSRF token of its forms, and drops sessions expired by
// now.
func (s *Store) CreateSession(ctx context.Context, tokenHash, csrf string, now, expires time.Time) error {
	if tokenHash == "" || csrf == "" || !expires.After(now) {
		return fmt.Errorf("create session: %w", gateway.ErrInvalid)
	}
	err := s.inTx(ctx, func(tx wtx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE expires_at <= ?`, fmtTime(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO admin_sessions (token_hash, csrf, created_at, expires_at)
			VALUES (?, ?, ?, ?)`, tokenHash, csrf, fmtTime(now), fmtTime(expires))
		return err
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session returns the CSRF token of the session whose cookie hashes to
// tokenHash; ErrNotFound when there is none or it expired by now.
func (s *Store) Session(ctx context.Context, tokenHash string, now time.Time) (string, error) {
	var csrf string
	err := s.r.QueryRowContext(ctx, `SELECT csrf FROM admin_sessions WHERE token_hash = ? AND expires_at > ?`,
		tokenHash, fmtTime(now)).Scan(&csrf)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("session: %w", gateway.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("session: %w", err)
	}
	return csrf, nil
}

// DeleteSession ends a session (logout); ending one that does not exist is
// not an error.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM admin_sessions WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
