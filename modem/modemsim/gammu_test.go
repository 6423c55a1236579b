//go:build linux

package modemsim

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mustGammu returns the path of gammu, skipping the test when it is missing
// outside CI.
func mustGammu(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("gammu")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("gammu not on PATH: %v", err)
		}
		t.Skip("gammu not on PATH")
	}
	return p
}

// runGammu runs gammu with a config pointing at device and returns its output.
func runGammu(t *testing.T, gammu, device string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	rc := filepath.Join(dir, "gammurc")
	logFile := filepath.Join(dir, "gammu.log")
	cfg := "[gammu]\ndevice = " + device + "\nconnection = at\nlogfile = " + logFile + "\nlogformat = textalldate\n"
	if err := os.WriteFile(rc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, gammu, append([]string{"-c", rc}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(logFile)
		t.Fatalf("gammu %s: %v\n%s\nlog:\n%s", strings.Join(args, " "), err, out, log)
	}
	if testing.Verbose() {
		log, _ := os.ReadFile(logFile)
		t.Logf("gammu %s log:\n%s", strings.Join(args, " "), log)
	}
	return string(out)
}

func TestGammu(t *testing.T) {
	gammu := mustGammu(t)
	n := NewNetwork()
	t.Cleanup(func() { n.Close() })
	m := n.AddModem(Config{})
	n.AddModem(Config{})
	path, err := m.OpenPTY(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("identify", func(t *testing.T) {
		out := runGammu(t, gammu, path, "identify")
		for _, want := range []string{m.IMEI(), DefaultManufacturer, DefaultModel, m.Config().IMSI} {
			if !strings.Contains(out, want) {
				t.Errorf("identify output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("sendsms", func(t *testing.T) {
		before := len(n.Records())
		runGammu(t, gammu, path, "sendsms", "TEXT", "+15550000002", "-text", "hello from gammu")
		recs := n.Records()[before:]
		if len(recs) != 1 {
			t.Fatalf("got %d records, want 1", len(recs))
		}
		if got := recs[0]; got.Text != "hello from gammu" || got.To != "+15550000002" || got.From != m.Number() || !got.Local {
			t.Errorf("record = %+v", got)
		}
	})
	t.Run("sendsms multipart", func(t *testing.T) {
		text := strings.Repeat("gammu splits long texts into concatenated parts. ", 6) // 294 septets
		before := len(n.Records())
		runGammu(t, gammu, path, "sendsms", "TEXT", "+15550000002", "-len", "400", "-text", text)
		recs := n.Records()[before:]
		if len(recs) != 2 {
			t.Fatalf("got %d records, want 2", len(recs))
		}
		var joined string
		for i, r := range recs {
			if r.To != "+15550000002" || r.Part != i+1 || r.Total != 2 || r.Ref != recs[0].Ref {
				t.Errorf("part %d: %+v", i+1, r)
			}
			joined += r.Text
		}
		if joined != text {
			t.Errorf("joined text %q, want %q", joined, text)
		}
	})
}
