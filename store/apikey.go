package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
)

const apiKeyCols = `id, name, hash, scopes, created_at, last_used, revoked_at`

func scanAPIKey(sc scanner) (gateway.APIKey, error) {
	var (
		k      gateway.APIKey
		scopes string
	)
	if err := sc.Scan(&k.ID, &k.Name, &k.Hash, &scopes, timeCol{&k.CreatedAt}, timeCol{&k.LastUsed}, timeCol{&k.RevokedAt}); err != nil {
		return gateway.APIKey{}, err
	}
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return gateway.APIKey{}, fmt.Errorf("key %s scopes: %w", k.Name, err)
	}
	return k, nil
}

// CreateAPIKey stores k (its name, hash and scopes; never the key itself)
// and returns it with its ID. A name or hash already taken, even by a
// revoked key, gives ErrConflict: messages keep the name for audit.
func (s *Store) CreateAPIKey(ctx context.Context, k gateway.APIKey) (gateway.APIKey, error) {
	if k.Name == "" || k.Hash == "" || k.CreatedAt.IsZero() {
		return gateway.APIKey{}, fmt.Errorf("create api key: name %q: %w", k.Name, gateway.ErrInvalid)
	}
	scopes := k.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	js, err := json.Marshal(scopes)
	if err != nil {
		return gateway.APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	err = s.w.QueryRowContext(ctx, `INSERT INTO api_keys (name, hash, scopes, created_at, last_used, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		k.Name, k.Hash, string(js), fmtTime(k.CreatedAt), fmtTime(k.LastUsed), fmtTime(k.RevokedAt)).Scan(&k.ID)
	if isUnique(err) {
		return gateway.APIKey{}, fmt.Errorf("create api key %s: %w", k.Name, gateway.ErrConflict)
	}
	if err != nil {
		return gateway.APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	k.Scopes = scopes
	return k, nil
}

var apiKeyByHashSQL = readStmt(`SELECT ` + apiKeyCols + ` FROM api_keys WHERE hash = ? AND revoked_at = ''`)

// APIKeyByHash returns the live key with hash; ErrNotFound for an unknown
// or revoked one.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (gateway.APIKey, error) {
	k, err := scanAPIKey(s.r.QueryRowContext(ctx, apiKeyByHashSQL, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return gateway.APIKey{}, fmt.Errorf("api key by hash: %w", gateway.ErrNotFound)
	}
	if err != nil {
		return gateway.APIKey{}, fmt.Errorf("api key by hash: %w", err)
	}
	return k, nil
}

// APIKeys returns every key, revoked ones included, by name.
func (s *Store) APIKeys(ctx context.Context) ([]gateway.APIKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	keys, err := collect(rows, scanAPIKey)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey revokes the key name at now; revoking it again keeps the
// first time. ErrNotFound for an unknown name.
func (s *Store) RevokeAPIKey(ctx context.Context, name string, now time.Time) error {
	var id int64
	err := s.w.QueryRowContext(ctx, `UPDATE api_keys
		SET revoked_at = CASE WHEN revoked_at = '' THEN ? ELSE revoked_at END
		WHERE name = ? RETURNING id`, fmtTime(now), name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("revoke api key %s: %w", name, gateway.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	return nil
}

// TouchAPIKey records that key id was used at now.
func (s *Store) TouchAPIKey(ctx context.Context, id int64, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE api_keys SET last_used = ? WHERE id = ?`, fmtTime(now), id)
	if err != nil {
		return fmt.Errorf("touch api key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("touch api key: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("touch api key %d: %w", id, gateway.ErrNotFound)
	}
	return nil
}
