package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/retention"
)

func TestConfig_Precedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "simgate.yaml")
	if err := os.WriteFile(file, []byte("listen: 127.0.0.1:9000\ndata: /from/file\nregion: GB\ndaily_cap: 50\nmodems: [/dev/a, /dev/b]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"SIMGATE_CONFIG": file, "SIMGATE_DATA": "/from/env", "SIMGATE_SEND_INTERVAL": "2s"}
	e := env{getenv: func(k string) string { return vars[k] }, stderr: &strings.Builder{}}
	cfg, err := loadConfig(e, []string{"--listen", "127.0.0.1:9100", "--modem", "/dev/c"})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"listen (flag over file)", cfg.Listen, "127.0.0.1:9100"},
		{"data (env over file)", cfg.Data, "/from/env"},
		{"region (file over default)", cfg.Region, "GB"},
		{"modems (flag over file)", strings.Join(cfg.Modems, ","), "/dev/c"},
		{"log level (default)", cfg.LogLevel, "info"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if cfg.DailyCap != 50 || cfg.SendInterval != 2*time.Second {
		t.Errorf("daily_cap %d send_interval %v, want 50 and 2s", cfg.DailyCap, cfg.SendInterval)
	}
}

func TestConfig_Errors(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		file string
		vars map[string]string
		args []string
		want string
	}{
		{"unknown key", "listn: 127.0.0.1:1\n", nil, nil, "listn"},
		{"bad duration", "poll_interval: often\n", nil, nil, "line 1"},
		{"bad env number", "", map[string]string{"SIMGATE_SIM": "two"}, nil, "sim"},
		{"bad listen", "", nil, []string{"--listen", "nowhere"}, "listen"},
		{"bad level", "log_level: loud\n", nil, nil, "log_level"},
		{"bad durability", "", map[string]string{"SIMGATE_DURABILITY": "fast"}, nil, "durability"},
		{"sim range", "", nil, []string{"--sim", "100"}, "sim"},
		{"negative retention", "retention:\n  message_texts: -1h\n", nil, nil, "retention"},
		{"bad retention env", "", map[string]string{"SIMGATE_RETENTION_INBOUND_TEXTS": "a month"}, nil, "retention_inbound_texts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range tt.vars {
				vars[k] = v
			}
			if tt.file != "" {
				vars["SIMGATE_CONFIG"] = write(tt.file)
			}
			e := env{getenv: func(k string) string { return vars[k] }, stderr: &strings.Builder{}}
			_, err := loadConfig(e, tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

// TestConfig_Example keeps configs/simgate.yaml loadable and complete: every
// setting of the config struct is documented there.
func TestConfig_Example(t *testing.T) {
	path := filepath.Join("..", "..", "configs", "simgate.yaml")
	e := env{getenv: func(k string) string {
		if k == "SIMGATE_CONFIG" {
			return path
		}
		return ""
	}, stderr: &strings.Builder{}}
	if _, err := loadConfig(e, nil); err != nil {
		t.Fatalf("example config: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"listen", "data", "log_level", "modems", "sim", "pin", "region", "allow_short_codes",
		"max_segments", "default_ttl", "max_body_bytes", "metrics_token", "poll_interval", "send_interval", "daily_cap", "messages", "otp", "smtp", "retention"} {
		if !strings.Contains(string(b), "\n"+key+":") {
			t.Errorf("configs/simgate.yaml does not document %q", key)
		}
	}
	// Every key of the otp: and smtp: sections, nested ones included.
	for _, key := range []string{"app", "length", "ttl", "max_ttl", "allow_long_ttl", "max_attempts", "max_sends",
		"resend_interval", "fallback_after", "retention", "default_locale", "templates", "email", "subject", "text", "html",
		"limits", "number_per_hour", "number_per_day", "api_key_per_minute", "allowed_countries", "refused_types",
		"prefix_per_hour", "breaker_every", "breaker_window", "breaker_min_verifications", "breaker_min_conversion",
		"block_for", "host", "port", "username", "password", "from", "tls", "timeout",
		"idempotency_keys", "webhook_deliveries", "message_texts", "inbound_texts",
		"key_rate", "key_burst", "key_daily_quota"} {
		if !strings.Contains(string(b), "\n  "+key+":") && !strings.Contains(string(b), "\n    "+key+":") {
			t.Errorf("configs/simgate.yaml does not document otp/smtp key %q", key)
		}
	}
}

// The retention: section keeps the defaults of the keys it leaves out, 0
// disables a kind, and SIMGATE_RETENTION_* overrides the file.
func TestConfig_Retention(t *testing.T) {
	file := filepath.Join(t.TempDir(), "simgate.yaml")
	if err := os.WriteFile(file, []byte("retention:\n  message_texts: 0s\n  inbound_texts: 48h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"SIMGATE_CONFIG": file, "SIMGATE_RETENTION_INBOUND_TEXTS": "96h"}
	e := env{getenv: func(k string) string { return vars[k] }, stderr: &strings.Builder{}}
	cfg, err := loadConfig(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Retention.gateway()
	want := retention.Config{IdempotencyKeys: 72 * time.Hour, WebhookDeliveries: 7 * 24 * time.Hour, InboundTexts: 96 * time.Hour}
	if got != want {
		t.Errorf("retention = %+v, want %+v", got, want)
	}
	def, err := loadConfig(env{getenv: func(string) string { return "" }, stderr: &strings.Builder{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := def.Retention.gateway(), retention.DefaultConfig(); got != want {
		t.Errorf("default retention = %+v, want %+v", got, want)
	}
}

// The messages: section: a new installation limits each key (20/s, bursts
// of 200) and sends home only; the file and SIMGATE_MESSAGES_* change it; a
// country or number type the gateway does not know is a config error.
func TestConfig_Messages(t *testing.T) {
	def, err := loadConfig(env{getenv: func(string) string { return "" }, stderr: &strings.Builder{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := def.Messages; m.KeyRate != 20 || m.KeyBurst != 200 || m.KeyDailyQuota != 0 || len(m.AllowedCountries) != 0 || len(m.RefusedTypes) != 0 {
		t.Errorf("default messages = %+v", m)
	}
	load := func(yaml string, vars map[string]string) (config, error) {
		file := filepath.Join(t.TempDir(), "simgate.yaml")
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		vars["SIMGATE_CONFIG"] = file
		return loadConfig(env{getenv: func(k string) string { return vars[k] }, stderr: &strings.Builder{}}, nil)
	}
	cfg, err := load("messages:\n  allowed_countries: [US, DE]\n  refused_types: [premium_rate]\n  key_daily_quota: 500\n",
		map[string]string{"SIMGATE_MESSAGES_KEY_RATE": "2.5"})
	if err != nil {
		t.Fatal(err)
	}
	limits, dest := cfg.Messages.gateway()
	if limits.Rate != 2.5 || limits.Burst != 200 || limits.DailyQuota != 500 || len(dest.AllowedCountries) != 2 || dest.RefusedTypes[0] != "premium_rate" {
		t.Errorf("messages = %+v, %+v", limits, dest)
	}
	for _, bad := range []string{"messages:\n  allowed_countries: [USA]\n", "messages:\n  refused_types: [premium]\n",
		"messages:\n  key_rate: -1\n", "messages:\n  key_burst: 0\n"} {
		if _, err := load(bad, map[string]string{}); err == nil || !strings.Contains(err.Error(), "messages") {
			t.Errorf("%q: %v, want a messages error", bad, err)
		}
	}
}
