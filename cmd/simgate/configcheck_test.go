package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCheck: every unknown key and every value of the wrong type is
// named with its line and column, nested ones with their path; a setting
// validation refuses is placed on its key; good files pass.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.yaml", "listen: 127.0.0.1:8080\nregoin: DE\npoll_interval: soon\notp:\n  ttl: 5m\n  lenght: 6\n  limits:\n    number_per_hour: many\n")
	stdout, _, err := runCmd(t, t.Context(), "", "config", "check", bad)
	if !errors.Is(err, errConfigInvalid) {
		t.Fatalf("config check: err %v, want %v", err, errConfigInvalid)
	}
	for _, want := range []string{
		bad + ":2:1: regoin: unknown key",
		bad + ":3:16: poll_interval: cannot unmarshal !!str `soon` into time.Duration",
		bad + ":6:3: otp.lenght: unknown key",
		bad + ":8:22: otp.limits.number_per_hour: cannot unmarshal !!str `many` into int",
	} {
		if !strings.Contains(stdout, want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}

	long := write("long.yaml", "listen: 127.0.0.1:8080\notp:\n  max_ttl: 1h\n")
	stdout, _, err = runCmd(t, t.Context(), "", "config", "check", long)
	if !errors.Is(err, errConfigInvalid) || !strings.HasPrefix(stdout, long+":3:3: otp.max_ttl: ") {
		t.Errorf("max_ttl over 10 min: err %v, output %q", err, stdout)
	}

	// The example config and the package's config are valid as shipped.
	for _, good := range []string{"../../configs/simgate.yaml", "../../packaging/simgate.yaml"} {
		if stdout, _, err := runCmd(t, t.Context(), "", "config", "check", good); err != nil || stdout != good+": ok\n" {
			t.Errorf("%s: err %v, output %q", good, err, stdout)
		}
	}
}

// TestPackagedConfig: the package's config serves from /var/lib/simgate
// on loopback and discovers the modems.
func TestPackagedConfig(t *testing.T) {
	cfg := defaultConfig()
	if err := loadConfigFile(&cfg, "../../packaging/simgate.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Data != "/var/lib/simgate" || cfg.Listen != "127.0.0.1:8080" || len(cfg.Modems) != 0 || cfg.Sim != 0 {
		t.Errorf("packaged config: data %q listen %q modems %v sim %d", cfg.Data, cfg.Listen, cfg.Modems, cfg.Sim)
	}
}
