package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func hashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

func TestAPIKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	s := mustOpenPath(t, path)
	const secret = "sg_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0"

	created, err := s.CreateAPIKey(t.Context(), gateway.APIKey{Name: "crm", Hash: hashKey(secret),
		Scopes: []string{"messages:send", "inbox:read"}, CreatedAt: t0})
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	if created.ID == 0 {
		t.Error("no ID assigned")
	}
	other, err := s.CreateAPIKey(t.Context(), gateway.APIKey{Name: "billing", Hash: hashKey("other"), CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		k    gateway.APIKey
		want error
	}{
		{"DuplicateName", gateway.APIKey{Name: "crm", Hash: hashKey("x"), CreatedAt: t0}, gateway.ErrConflict},
		{"DuplicateHash", gateway.APIKey{Name: "crm2", Hash: hashKey(secret), CreatedAt: t0}, gateway.ErrConflict},
		{"NoName", gateway.APIKey{Hash: hashKey("y"), CreatedAt: t0}, gateway.ErrInvalid},
		{"NoHash", gateway.APIKey{Name: "z", CreatedAt: t0}, gateway.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateAPIKey(t.Context(), tt.k)
			wantErr(t, "CreateAPIKey", err, tt.want)
		})
	}

	got, err := s.APIKeyByHash(t.Context(), hashKey(secret))
	if err != nil {
		t.Fatalf("APIKeyByHash: %v", err)
	}
	if got.ID != created.ID || got.Name != "crm" || !reflect.DeepEqual(got.Scopes, []string{"messages:send", "inbox:read"}) ||
		!got.CreatedAt.Equal(t0) || !got.LastUsed.IsZero() || !got.RevokedAt.IsZero() {
		t.Errorf("by hash: %+v", got)
	}
	_, err = s.APIKeyByHash(t.Context(), hashKey("wrong"))
	wantErr(t, "unknown hash", err, gateway.ErrNotFound)

	if err := s.TouchAPIKey(t.Context(), created.ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "touch unknown", s.TouchAPIKey(t.Context(), 9999, t0), gateway.ErrNotFound)

	if err := s.RevokeAPIKey(t.Context(), "billing", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(t.Context(), "billing", t0.Add(2*time.Hour)); err != nil {
		t.Errorf("revoke twice: %v", err)
	}
	wantErr(t, "revoke unknown", s.RevokeAPIKey(t.Context(), "nobody", t0), gateway.ErrNotFound)
	_, err = s.APIKeyByHash(t.Context(), other.Hash)
	wantErr(t, "revoked key", err, gateway.ErrNotFound)

	keys, err := s.APIKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Name != "billing" || keys[1].Name != "crm" {
		t.Fatalf("APIKeys = %+v", keys)
	}
	if !keys[0].RevokedAt.Equal(t0.Add(time.Hour)) || keys[0].Scopes == nil || len(keys[0].Scopes) != 0 {
		t.Errorf("billing: revoked %v scopes %#v, want the first revocation and []", keys[0].RevokedAt, keys[0].Scopes)
	}
	if !keys[1].LastUsed.Equal(t0.Add(time.Minute)) {
		t.Errorf("crm last used %v", keys[1].LastUsed)
	}
	if _, err := s.CreateAPIKey(t.Context(), gateway.APIKey{Name: "billing", Hash: hashKey("new"), CreatedAt: t0}); err == nil {
		t.Error("a revoked key's name was reused")
	}

	// Nothing but hashes reaches the disk: check the file and its WAL,
	// before and after the close checkpoints one into the other.
	for _, closed := range []bool{false, true} {
		if closed {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
		assertNoSecret(t, path, secret, closed)
	}
}

func assertNoSecret(t *testing.T, path, secret string, closed bool) {
	t.Helper()
	found := false
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s contains the plaintext key", filepath.Base(path+suffix))
		}
		found = found || bytes.Contains(b, []byte(hashKey(secret)))
	}
	if !found {
		t.Errorf("closed=%v: no file holds the key's hash, so the check above proves nothing", closed)
	}
}

func TestSettings(t *testing.T) {
	s := mustOpen(t)
	_, err := s.Setting(t.Context(), "admin_password")
	wantErr(t, "unset", err, gateway.ErrNotFound)
	for _, v := range []string{"$argon2id$one", "$argon2id$two"} {
		if err := s.SetSetting(t.Context(), "admin_password", v); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Setting(t.Context(), "admin_password"); err != nil || got != v {
			t.Errorf("Setting = %q, %v; want %q", got, err, v)
		}
	}
}
