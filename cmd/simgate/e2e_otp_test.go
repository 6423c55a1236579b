package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestE2E_OTP: "simgate otp send" through a running gateway, the code read
// where a phone would read it (the virtual network's record), a wrong code
// refused, the right one approved once; the code never in the database
// file nor in the gateway's log.
func TestE2E_OTP(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	netw := startNetwork(t, 2)
	data := t.TempDir()
	g := startGateway(t, data, freePort(t), "", netw.ports, "--log-level", "debug")
	cli := func(args ...string) (string, error) { t.Helper(); return g.cli(t, args...) }
	// A phone outside the gateway: sent to one of its own modems, the code
	// would rightly be in its inbox.
	to := "+12025550150"
	// Ten digits: a six-digit code could turn up by chance in a timestamp.
	out, err := cli("otp", "send", "--to", to, "--length", "10", "--json")
	if err != nil {
		t.Fatalf("otp send: %v\n%s", err, out)
	}
	var v struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Status != "pending" {
		t.Fatalf("otp send answered %q (%v), want a pending verification", out, err)
	}

	// The phone's view: the SMS the network carried to the number.
	codeRe := regexp.MustCompile(`\b(\d{10})\b`)
	var code string
	waitFor(t, 15*time.Second, "the code SMS on the network", func() bool {
		for _, r := range netw.records(t) {
			if r.To == to {
				if m := codeRe.FindStringSubmatch(r.Text); m != nil {
					code = m[1]
				}
			}
		}
		return code != ""
	})
	wrong := "0000000000"
	if code == wrong {
		wrong = "1111111111"
	}
	if out, err := cli("otp", "check", v.ID, wrong); err == nil || !strings.Contains(out, "pending") {
		t.Errorf("wrong code: err %v, output %q; want refused, still pending", err, out)
	}
	if out, err := cli("otp", "check", v.ID, code); err != nil || !strings.Contains(out, "approved") {
		t.Fatalf("right code: %v\n%s", err, out)
	}
	if out, err := cli("otp", "check", v.ID, code); err == nil {
		t.Errorf("the same code a second time was accepted: %s", out)
	}

	// Nowhere in clear: not in the database files, not in the debug log.
	g.stop(t)
	files, _ := filepath.Glob(filepath.Join(data, "simgate.db*"))
	if len(files) == 0 {
		t.Fatal("no database file")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if i := strings.Index(string(b), code); i >= 0 {
			lo, hi := max(0, i-60), min(len(b), i+60)
			t.Errorf("%s contains the code: %q", filepath.Base(f), b[lo:hi])
		}
	}
	if strings.Contains(g.stderr.String(), code) || strings.Contains(g.stdout.String(), code) {
		t.Error("the gateway's output contains the code")
	}
	if fi, err := os.Stat(filepath.Join(data, "otp.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("otp.key: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
}
