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
	return string(out)
}

// recordsFrom returns the records of the SUBMITs sent by number.
func recordsFrom(n *Network, number string) []Record {
	var out []Record
	for _, r := range n.Records() {
		if r.From == number {
			out = append(out, r)
		}
	}
	return out
}

func TestGammu(t *testing.T) {
	gammu := mustGammu(t)
	n := NewNetwork()
	t.Cleanup(func() { n.Close() })
	// One modem per gammu run, so that the runs, slow by gammu's own
	// pacing, can go in parallel.
	mustPTY := func(t *testing.T) (*Modem, string) {
		t.Helper()
		m := n.AddModem(Config{})
		path, err := m.OpenPTY(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return m, path
	}
	to := n.AddModem(Config{}).Number()

	t.Run("identify", func(t *testing.T) {
		t.Parallel()
		m, path := mustPTY(t)
		out := runGammu(t, gammu, path, "identify")
		for _, want := range []string{m.IMEI(), DefaultManufacturer, DefaultModel, m.Config().IMSI} {
			if !strings.Contains(out, want) {
				t.Errorf("identify output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("sendsms", func(t *testing.T) {
		t.Parallel()
		m, path := mustPTY(t)
		runGammu(t, gammu, path, "sendsms", "TEXT", to, "-text", "hello from gammu")
		recs := recordsFrom(n, m.Number())
		if len(recs) != 1 {
			t.Fatalf("got %d records, want 1", len(recs))
		}
		if got := recs[0]; got.Text != "hello from gammu" || got.To != to || !got.Local {
			t.Errorf("record = %+v", got)
		}
	})
	t.Run("sendsms multipart", func(t *testing.T) {
		t.Parallel()
		m, path := mustPTY(t)
		text := strings.Repeat("gammu splits long texts into concatenated parts. ", 6) // 294 septets
		runGammu(t, gammu, path, "sendsms", "TEXT", to, "-len", "400", "-text", text)
		recs := recordsFrom(n, m.Number())
		if len(recs) != 2 {
			t.Fatalf("got %d records, want 2", len(recs))
		}
		var joined string
		for i, r := range recs {
			if r.To != to || r.Part != i+1 || r.Total != 2 || r.Ref != recs[0].Ref {
				t.Errorf("part %d: %+v", i+1, r)
			}
			joined += r.Text
		}
		if joined != text {
			t.Errorf("joined text %q, want %q", joined, text)
		}
	})
}
