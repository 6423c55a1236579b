package store

import (
	"errors"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func TestStore_AdminPassword(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	if _, err := s.AdminPasswordHash(ctx); !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("AdminPasswordHash on a new database: err = %v, want ErrNotFound", err)
	}
	if err := s.CreateSession(ctx, "tok", "csrf1", t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAdminPasswordHash(ctx, "$2a$hash"); err != nil {
		t.Fatal(err)
	}
	got, err := s.AdminPasswordHash(ctx)
	if err != nil || got != "$2a$hash" {
		t.Fatalf("AdminPasswordHash = %q, %v; want $2a$hash", got, err)
	}
	if _, err := s.Session(ctx, "tok", t0); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("session after a password change: err = %v, want ErrNotFound", err)
	}
	if err := s.SetAdminPasswordHash(ctx, ""); !errors.Is(err, gateway.ErrInvalid) {
		t.Errorf("SetAdminPasswordHash(\"\"): err = %v, want ErrInvalid", err)
	}
}

func TestStore_Session(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	if err := s.CreateSession(ctx, "a", "csrf-a", t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, "b", "csrf-b", t0, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		hash    string
		now     time.Time
		want    string
		wantErr error
	}{
		{"OK", "a", t0.Add(time.Minute), "csrf-a", nil},
		{"Other", "b", t0.Add(time.Minute), "csrf-b", nil},
		{"ErrExpired", "a", t0.Add(time.Hour), "", gateway.ErrNotFound},
		{"ErrUnknown", "c", t0, "", gateway.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Session(ctx, tt.hash, tt.now)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("Session(%q) = %q, %v; want %q, %v", tt.hash, got, err, tt.want, tt.wantErr)
			}
		})
	}

	if err := s.DeleteSession(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "b", t0); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("Session after logout: err = %v, want ErrNotFound", err)
	}
	// Creating a session sweeps the expired ones.
	if err := s.CreateSession(ctx, "d", "csrf-d", t0.Add(3*time.Hour), t0.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM admin_sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("sessions after the sweep = %d, want 1", n)
	}
	if err := s.CreateSession(ctx, "e", "x", t0, t0); !errors.Is(err, gateway.ErrInvalid) {
		t.Errorf("CreateSession already expired: err = %v, want ErrInvalid", err)
	}
}
