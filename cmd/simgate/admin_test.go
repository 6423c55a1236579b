package main

import (
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/store"
)

func mustAdminHash(t *testing.T, data string) string {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(data, dbFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, err := db.AdminPasswordHash(t.Context())
	if err != nil {
		t.Fatalf("AdminPasswordHash: %v", err)
	}
	return h
}

func TestRunAdmin_SetPassword(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		stdin   string
		want    string // the password that must verify; "" for an error
		wantErr bool
	}{
		{"OK", nil, "correct horse battery\n", "correct horse battery", false},
		{"OKNoNewline", nil, "s3cret-enough", "s3cret-enough", false},
		{"OKCRLF", nil, "s3cret-enough\r\nignored\n", "s3cret-enough", false},
		{"ErrShort", nil, "short\n", "", true},
		{"ErrLong", nil, strings.Repeat("x", 73) + "\n", "", true},
		{"ErrEmpty", nil, "", "", true},
		{"ErrArgument", []string{"hunter22"}, "s3cret-enough\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			var out, errOut testkit.SyncBuffer
			args := append([]string{"simgate", "admin", "set-password", "--data", data}, tt.args...)
			err := run(t.Context(), args, func(string) string { return "" }, strings.NewReader(tt.stdin), &out, &errOut)
			if tt.wantErr {
				var u usageError
				if !errors.As(err, &u) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("run: %v\n%s", err, errOut.String())
			}
			if strings.Contains(out.String()+errOut.String(), tt.want) {
				t.Error("the password was echoed")
			}
			h := mustAdminHash(t, data)
			if bcrypt.CompareHashAndPassword([]byte(h), []byte(tt.want)) != nil {
				t.Errorf("stored hash does not verify %q", tt.want)
			}
		})
	}
}

func TestEnsureAdminPassword(t *testing.T) {
	data := t.TempDir()
	db, err := store.Open(t.Context(), filepath.Join(data, dbFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out testkit.SyncBuffer
	if err := ensureAdminPassword(t.Context(), db, data, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`shown once.*\n  (\S+)\n`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no password printed:\n%s", out.String())
	}
	h, err := db.AdminPasswordHash(t.Context())
	if err != nil || bcrypt.CompareHashAndPassword([]byte(h), []byte(m[1])) != nil {
		t.Fatalf("the printed password does not verify: %v", err)
	}
	// Shown once: the next start keeps it and prints nothing.
	var again testkit.SyncBuffer
	if err := ensureAdminPassword(t.Context(), db, data, &again); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(again.String(), m[1]) || !strings.Contains(again.String(), "set-password --data "+data) {
		t.Errorf("second start printed %q; want no password, and how to set one", again.String())
	}
	if h2, _ := db.AdminPasswordHash(t.Context()); h2 != h {
		t.Error("second start replaced the password")
	}
}
