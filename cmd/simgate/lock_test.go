package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTightenDataDir: a data directory and files left readable by others
// become 0700 and 0600, each change is a warning, and what is already tight
// is left alone.
func TestTightenDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	loose, tight := filepath.Join(dir, "simgate.db"), filepath.Join(dir, "otp.key")
	if err := os.WriteFile(loose, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tight, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	tightenDataDir(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	for path, want := range map[string]os.FileMode{dir: 0o700, loose: 0o600, tight: 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s is %04o, want %04o", path, info.Mode().Perm(), want)
		}
	}
	if got := strings.Count(logs.String(), "permissions tightened"); got != 2 {
		t.Errorf("%d warnings, want 2 (the directory and simgate.db):\n%s", got, logs.String())
	}
}
