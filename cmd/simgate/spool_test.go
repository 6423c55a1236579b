package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfig_SpoolAndHooks: spool directories come from dir unless set
// apart; a spool without dir needs its four directories; a hook program
// must be an absolute path (no shell looks it up); the hooks inherit PATH.
func TestConfig_SpoolAndHooks(t *testing.T) {
	load := func(body string) (config, error) {
		p := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		vars := map[string]string{"SIMGATE_CONFIG": p, "PATH": "/usr/bin:/bin", "SECRET": "not passed on"}
		return loadConfig(env{getenv: func(k string) string { return vars[k] }, stderr: &strings.Builder{}}, nil)
	}
	cfg, err := load("spool:\n  dir: /var/spool/sms\n  failed: /srv/failed\nhooks:\n  received: [/usr/local/bin/on-sms, -v]\n")
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Spool.spool()
	if !cfg.Spool.enabled() || s.Outgoing != "/var/spool/sms/outgoing" || s.Checked != "/var/spool/sms/checked" ||
		s.Sent != "/var/spool/sms/sent" || s.Failed != "/srv/failed" || s.Incoming != "/var/spool/sms/incoming" {
		t.Errorf("spool directories %+v", s)
	}
	if p := cfg.Hooks.programs(); len(p) != 1 || strings.Join(p["received"], " ") != "/usr/local/bin/on-sms -v" {
		t.Errorf("hook programs %v", p)
	}
	if got := strings.Join(cfg.Hooks.env, " "); got != "PATH=/usr/bin:/bin" {
		t.Errorf("hook environment %q, want PATH alone", got)
	}
	if cfg, err := load(""); err != nil || cfg.Spool.enabled() || len(cfg.Hooks.programs()) != 0 {
		t.Errorf("default: %v, spool %v, hooks %v; want both off", err, cfg.Spool.enabled(), cfg.Hooks.programs())
	}
	for body, want := range map[string]string{
		"spool:\n  outgoing: /o\n":                      "without dir",
		"hooks:\n  sent: [on-sent]\n":                   "absolute path",
		"hooks:\n  concurrency: -1\n  sent: [/bin/x]\n": "concurrency",
		"spool:\n  dir: /s\n  poll: -1s\n":              "spool.poll",
	} {
		if _, err := load(body); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want one saying %q", body, err, want)
		}
	}
}
