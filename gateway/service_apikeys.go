package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// touchEvery bounds API-key "last used" writes: one per key per minute,
// not one per request, so auth stays a read on the hot path.
const touchEvery = time.Minute

// keyCacheFor is how long Authenticate trusts a key it looked up, rather
// than read it again on every request (a tenth of an accept's CPU). A key
// revoked through this Service is refused at once; one revoked by another
// process (simgate apikey revoke, another host of a cluster) within this
// time.
const keyCacheFor = time.Second

// keyCache holds the keys Authenticate found valid, by hash; when
// keyCacheMax are kept (stale entries of a busy minute), it starts over.
type keyCache struct{ memo[string, cachedKey] }

const keyCacheMax = 1024

type cachedKey struct {
	key APIKey
	at  time.Time
}

func (c *keyCache) lookup(hash string, now time.Time) (APIKey, bool) {
	e, ok := c.get(hash)
	if !ok || now.Sub(e.at) >= keyCacheFor || now.Before(e.at) {
		return APIKey{}, false
	}
	return e.key, true
}

func (c *keyCache) keep(hash string, k APIKey, now time.Time) {
	c.put(hash, cachedKey{key: k, at: now})
}

// Authenticate returns the API key whose secret is key; ErrUnauthorized when
// it is unknown or revoked. Only the SHA-256 of the key is looked up, so the
// comparison leaks nothing about stored keys; the key itself is never logged.
func (s *Service) Authenticate(ctx context.Context, key string) (APIKey, error) {
	if key == "" {
		return APIKey{}, ErrUnauthorized
	}
	hash, now := HashAPIKey(key), s.clock.Now()
	if k, ok := s.keys.lookup(hash, now); ok {
		s.touch(ctx, k)
		return k, nil
	}
	k, err := s.store.APIKeyByHash(ctx, hash)
	switch {
	case errors.Is(err, ErrNotFound):
		return APIKey{}, ErrUnauthorized
	case err != nil:
		return APIKey{}, fmt.Errorf("look up api key: %w", err)
	case !k.RevokedAt.IsZero():
		return APIKey{}, ErrUnauthorized
	}
	s.keys.keep(hash, k, now)
	s.touch(ctx, k)
	return k, nil
}

// touch records a key's use, at most once a minute per key; a failure costs
// only the "last used" column, so it is logged and not returned.
func (s *Service) touch(ctx context.Context, k APIKey) {
	now := s.clock.Now()
	s.touchMu.Lock()
	last, ok := s.touched[k.ID]
	due := !ok || now.Sub(last) >= touchEvery || now.Before(last)
	if due {
		s.touched[k.ID] = now
	}
	s.touchMu.Unlock()
	if !due {
		return
	}
	if err := s.store.TouchAPIKey(ctx, k.ID, now); err != nil {
		s.log.Warn("record api key use", "api_key", k.Name, "err", err)
	}
}

// HashAPIKey is how API keys are stored: hex SHA-256. Keys carry 190 random
// bits, so a fast unsalted hash is enough.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// APIKeyPrefix starts every API key, so that secret scanners and people can
// tell one at a glance.
const APIKeyPrefix = "sg_"

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// CreateAPIKey makes a key named name and returns its secret, which exists
// only in this return value: the store keeps its hash. No scopes means
// DefaultScopes; an unknown scope is refused.
func (s *Service) CreateAPIKey(ctx context.Context, name string, scopes []string) (string, APIKey, error) {
	if err := validKeyName(name); err != nil {
		return "", APIKey{}, err
	}
	scopes, err := ParseScopes(scopes)
	if err != nil {
		return "", APIKey{}, err
	}
	secret := newSecret()
	k, err := s.store.CreateAPIKey(ctx, APIKey{
		Name:      name,
		Hash:      HashAPIKey(secret),
		Scopes:    scopes,
		CreatedAt: s.clock.Now(),
	})
	if err != nil {
		return "", APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	return secret, k, nil
}

// validKeyName keeps names usable as the user of Basic auth and Kannel's
// username: no colon, no spaces.
func validKeyName(name string) error {
	if name == "" || len(name) > 64 {
		return &ValidationError{Field: "name", Reason: "must be 1 to 64 characters"}
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return &ValidationError{Field: "name", Reason: fmt.Sprintf("has %q; use letters, digits, '-', '_' and '.'", r)}
		}
	}
	return nil
}

// newSecret returns APIKeyPrefix and 32 base62 characters (190 bits) drawn
// without modulo bias.
func newSecret() string {
	b := []byte(APIKeyPrefix)
	n := big.NewInt(int64(len(base62)))
	for range 32 {
		i, _ := rand.Int(rand.Reader, n) // crypto/rand never fails (Go ≥ 1.24)
		b = append(b, base62[i.Int64()])
	}
	return string(b)
}

// APIKeys lists every key, revoked ones included; no secrets.
func (s *Service) APIKeys(ctx context.Context) ([]APIKey, error) {
	ks, err := s.store.APIKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return ks, nil
}

// RevokeAPIKey revokes the key named name from now on.
func (s *Service) RevokeAPIKey(ctx context.Context, name string) error {
	if err := s.store.RevokeAPIKey(ctx, name, s.clock.Now()); err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	s.keys.clear()
	return nil
}
