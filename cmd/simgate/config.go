package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/retention"
	"github.com/simgate/simgate/routing"
	"github.com/simgate/simgate/store"
	"gopkg.in/yaml.v3"
)

// config is everything "simgate serve" can be told. Precedence: flags >
// SIMGATE_* environment > YAML file > defaults (DESIGN.md §3).
type config struct {
	Listen string `yaml:"listen"`
	Data   string `yaml:"data"`
	// Database is where the queue lives: empty for the SQLite file in
	// Data, or a postgres:// URL that several gateway hosts share.
	Database string `yaml:"database"`
	// Host names this gateway among those sharing a PostgreSQL database
	// (default: the machine's hostname).
	Host     string `yaml:"host"`
	LogLevel string `yaml:"log_level"`
	// Durability is store.DurabilityFull or store.DurabilityNormal.
	Durability string   `yaml:"durability"`
	Modems     []string `yaml:"modems"`
	Sim        int      `yaml:"sim"`
	PIN        string   `yaml:"pin"`

	Region          string        `yaml:"region"`
	AllowShortCodes bool          `yaml:"allow_short_codes"`
	MaxSegments     int           `yaml:"max_segments"`
	DefaultTTL      time.Duration `yaml:"default_ttl"`
	MaxBodyBytes    int64         `yaml:"max_body_bytes"`
	MetricsToken    string        `yaml:"metrics_token"`

	PollInterval time.Duration `yaml:"poll_interval"`
	// Lease is how long a claimed message is a worker's before another
	// (on any host) may take it over; 0: the dispatcher's default.
	Lease        time.Duration `yaml:"lease"`
	SendInterval time.Duration `yaml:"send_interval"`
	DailyCap     int           `yaml:"daily_cap"`

	Messages  messagesConfig  `yaml:"messages"`
	OTP       otpConfig       `yaml:"otp"`
	SMTP      smtpConfig      `yaml:"smtp"`
	Retention retentionConfig `yaml:"retention"`
	Backup    backupConfig    `yaml:"backup"`
	Routing   routingConfig   `yaml:"routing"`
	Balance   []balanceConfig `yaml:"balance"`
	Spool     spoolConfig     `yaml:"spool"`
	Hooks     hooksConfig     `yaml:"hooks"`
	Kannel    kannelConfig    `yaml:"kannel"`
}

// kannelConfig is the kannel: section: Kannel's /cgi-bin/sendsms
// (docs/MIGRATING.md).
type kannelConfig struct {
	// SMSC names modems for sendsms' smsc parameter: name → IMEI (an IMEI
	// or a port is accepted as it is too).
	SMSC map[string]string `yaml:"smsc"`
}

// routingConfig is the routing: section: how OTP SMS choose their modem
// (docs/ROUTING.md).
type routingConfig struct {
	Enabled bool    `yaml:"enabled"`
	Explore float64 `yaml:"explore"`
	Window  int     `yaml:"window"`
	// Messages routes normal messages too (those sent without a modem).
	Messages bool `yaml:"messages"`
}

func (c routingConfig) gateway() routing.Config {
	explore := c.Explore
	if explore == 0 {
		explore = -1 // configured off
	}
	return routing.Config{Explore: explore, Window: c.Window}
}

// messagesConfig is the messages: section: where POST /api/v1/messages may
// send, and how much one API key may send.
type messagesConfig struct {
	AllowedCountries []string `yaml:"allowed_countries"` // default: the home region's; ["*"]: any
	RefusedTypes     []string `yaml:"refused_types"`     // default: premium_rate, shared_cost, …; ["none"]
	KeyRate          float64  `yaml:"key_rate"`          // messages per second per key; 0: no limit
	KeyBurst         int      `yaml:"key_burst"`
	KeyDailyQuota    int      `yaml:"key_daily_quota"` // messages per key per UTC day; 0: none
}

func (c messagesConfig) gateway() (gateway.SendLimits, gateway.DestinationPolicy) {
	return gateway.SendLimits{Rate: c.KeyRate, Burst: c.KeyBurst, DailyQuota: c.KeyDailyQuota},
		gateway.DestinationPolicy{AllowedCountries: c.AllowedCountries, RefusedTypes: c.RefusedTypes}
}

// retentionConfig is the retention: section: how long each kind of data is
// kept; 0 keeps it for ever.
type retentionConfig struct {
	IdempotencyKeys   time.Duration `yaml:"idempotency_keys"`
	WebhookDeliveries time.Duration `yaml:"webhook_deliveries"`
	MessageTexts      time.Duration `yaml:"message_texts"`
	InboundTexts      time.Duration `yaml:"inbound_texts"`
}

func (c retentionConfig) gateway() retention.Config {
	return retention.Config{IdempotencyKeys: c.IdempotencyKeys, WebhookDeliveries: c.WebhookDeliveries,
		MessageTexts: c.MessageTexts, InboundTexts: c.InboundTexts}
}

func defaultConfig() config {
	return config{
		Listen:       "127.0.0.1:8080",
		Data:         "./data",
		LogLevel:     "info",
		Durability:   string(store.DurabilityFull),
		MaxSegments:  10,
		MaxBodyBytes: 64 << 10,
		PollInterval: 30 * time.Second,
		Routing:      routingConfig{Enabled: true, Explore: 0.1, Window: 10},
		Messages:     messagesConfig{KeyRate: 20, KeyBurst: 200},
		Retention: retentionConfig{
			IdempotencyKeys:   retention.DefaultIdempotencyKeys,
			WebhookDeliveries: retention.DefaultWebhookDeliveries,
			MessageTexts:      retention.DefaultMessageTexts,
			InboundTexts:      retention.DefaultInboundTexts,
		},
		Backup: backupConfig{At: defaultBackupAt, Keep: defaultBackupKeep},
	}
}

// configError names the setting that is wrong and where it came from.
type configError struct {
	Source string // "flag", "env SIMGATE_X", "file F"
	Field  string
	Err    error
}

func (e *configError) Error() string {
	return fmt.Sprintf("config: %s (%s): %v", e.Field, e.Source, e.Err)
}

func (e *configError) Unwrap() error { return e.Err }

// loadConfig builds the configuration of "simgate serve" from its arguments,
// the environment and the file named by --config or SIMGATE_CONFIG.
func loadConfig(e env, args []string) (config, error) {
	cfg := defaultConfig()
	fs := newFlagSet(e, "serve", "[--config FILE] [--listen ADDR] [--data DIR] [--modem PORT]... [--sim N]")
	var (
		file   = fs.String("config", "", "YAML configuration file (default $SIMGATE_CONFIG)")
		listen = fs.String("listen", "", "HTTP listen address (default 127.0.0.1:8080)")
		data   = fs.String("data", "", "data directory holding the database and keys (default ./data)")
		sim    = fs.Int("sim", -1, "add N virtual modems on one virtual network")
		pin    = fs.String("pin", "", "SIM PIN for modems that ask")
		level  = fs.String("log-level", "", "debug, info, warn or error")
		modems stringList
	)
	fs.Var(&modems, "modem", "serial port of a modem (repeatable; default: discover)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return cfg, err
	}
	if len(pos) != 0 {
		return cfg, usagef("serve: unexpected argument %q", pos[0])
	}

	if *file == "" {
		*file = e.getenv("SIMGATE_CONFIG")
	}
	if *file != "" {
		if err := loadConfigFile(&cfg, *file); err != nil {
			return cfg, err
		}
	}
	if err := applyEnv(&cfg, e.getenv); err != nil {
		return cfg, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["listen"] {
		cfg.Listen = *listen
	}
	if set["data"] {
		cfg.Data = *data
	}
	if set["sim"] {
		cfg.Sim = *sim
	}
	if set["pin"] {
		cfg.PIN = *pin
	}
	if set["log-level"] {
		cfg.LogLevel = *level
	}
	if set["modem"] {
		cfg.Modems = modems
	}
	cfg.Hooks.env = hookEnv(e.getenv)
	return cfg, cfg.validate()
}

func loadConfigFile(cfg *config, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true) // a misspelt key is an error, not a silent default
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// applyEnv reads SIMGATE_<FIELD> for each setting.
func applyEnv(cfg *config, getenv func(string) string) error {
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	num := func(name string, dst *int) error {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return &configError{"env " + name, strings.ToLower(strings.TrimPrefix(name, "SIMGATE_")), err}
			}
			*dst = n
		}
		return nil
	}
	dur := func(name string, dst *time.Duration) error {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return &configError{"env " + name, strings.ToLower(strings.TrimPrefix(name, "SIMGATE_")), err}
			}
			*dst = d
		}
		return nil
	}
	str("SIMGATE_LISTEN", &cfg.Listen)
	str("SIMGATE_DATA", &cfg.Data)
	str("SIMGATE_DATABASE", &cfg.Database)
	str("SIMGATE_HOST", &cfg.Host)
	str("SIMGATE_LOG_LEVEL", &cfg.LogLevel)
	str("SIMGATE_PIN", &cfg.PIN)
	str("SIMGATE_REGION", &cfg.Region)
	str("SIMGATE_DURABILITY", &cfg.Durability)
	str("SIMGATE_METRICS_TOKEN", &cfg.MetricsToken)
	if v := getenv("SIMGATE_MODEMS"); v != "" {
		cfg.Modems = strings.Split(v, ",")
	}
	if v := getenv("SIMGATE_MESSAGES_KEY_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return &configError{"env SIMGATE_MESSAGES_KEY_RATE", "messages.key_rate", err}
		}
		cfg.Messages.KeyRate = r
	}
	if v := getenv("SIMGATE_ALLOW_SHORT_CODES"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return &configError{"env SIMGATE_ALLOW_SHORT_CODES", "allow_short_codes", err}
		}
		cfg.AllowShortCodes = b
	}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"SIMGATE_SIM", &cfg.Sim}, {"SIMGATE_MAX_SEGMENTS", &cfg.MaxSegments}, {"SIMGATE_DAILY_CAP", &cfg.DailyCap},
		{"SIMGATE_MESSAGES_KEY_BURST", &cfg.Messages.KeyBurst}, {"SIMGATE_MESSAGES_KEY_DAILY_QUOTA", &cfg.Messages.KeyDailyQuota}} {
		if err := num(f.name, f.dst); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		dst  *time.Duration
	}{
		{"SIMGATE_DEFAULT_TTL", &cfg.DefaultTTL}, {"SIMGATE_POLL_INTERVAL", &cfg.PollInterval}, {"SIMGATE_SEND_INTERVAL", &cfg.SendInterval},
		{"SIMGATE_LEASE", &cfg.Lease},
		{"SIMGATE_RETENTION_IDEMPOTENCY_KEYS", &cfg.Retention.IdempotencyKeys},
		{"SIMGATE_RETENTION_WEBHOOK_DELIVERIES", &cfg.Retention.WebhookDeliveries},
		{"SIMGATE_RETENTION_MESSAGE_TEXTS", &cfg.Retention.MessageTexts},
		{"SIMGATE_RETENTION_INBOUND_TEXTS", &cfg.Retention.InboundTexts},
	} {
		if err := dur(f.name, f.dst); err != nil {
			return err
		}
	}
	return nil
}

func (c config) validate() error {
	bad := func(field, format string, args ...any) error {
		return &configError{"merged", field, fmt.Errorf(format, args...)}
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return bad("listen", "%v", err)
	}
	if c.Data == "" {
		return bad("data", "must not be empty")
	}
	if c.Database != "" && !store.IsPostgresURL(c.Database) {
		return bad("database", "want a postgres:// URL, or nothing for the SQLite file in data, got %q", redactURL(c.Database))
	}
	if c.Sim < 0 || c.Sim > 64 {
		return bad("sim", "must be within 0–64, got %d", c.Sim)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("log_level", "want debug, info, warn or error, got %q", c.LogLevel)
	}
	switch store.Durability(c.Durability) {
	case store.DurabilityFull, store.DurabilityNormal:
	default:
		return bad("durability", "want full (every commit survives a power cut) or normal (faster; a power cut can lose the last commits), got %q", c.Durability)
	}
	if c.Region != "" && len(c.Region) != 2 {
		return bad("region", "want a two-letter country code such as US or GB (or nothing, to follow the SIM), got %q", c.Region)
	}
	if c.MaxSegments < 1 || c.MaxSegments > 255 {
		return bad("max_segments", "must be within 1–255, got %d", c.MaxSegments)
	}
	if c.MaxBodyBytes < 1024 {
		return bad("max_body_bytes", "must be at least 1024, got %d", c.MaxBodyBytes)
	}
	if c.PollInterval < time.Second {
		return bad("poll_interval", "must be at least 1s, got %v", c.PollInterval)
	}
	if c.SendInterval < 0 || c.DailyCap < 0 || c.DefaultTTL < 0 {
		return bad("send_interval/daily_cap/default_ttl", "must not be negative")
	}
	if m := c.Messages; m.KeyRate < 0 || m.KeyBurst < 0 || m.KeyDailyQuota < 0 {
		return bad("messages", "key_rate, key_burst and key_daily_quota must not be negative (0 is no limit)")
	}
	if c.Messages.KeyRate > 0 && c.Messages.KeyBurst < 1 {
		return bad("messages.key_burst", "must be at least 1 with a key_rate")
	}
	if err := gateway.CheckDestinations(gateway.DestinationPolicy{AllowedCountries: c.Messages.AllowedCountries,
		RefusedTypes: c.Messages.RefusedTypes}); err != nil {
		return bad("messages", "%v", err)
	}
	if r := c.Retention; r.IdempotencyKeys < 0 || r.WebhookDeliveries < 0 || r.MessageTexts < 0 || r.InboundTexts < 0 {
		return bad("retention", "must not be negative (0 keeps that kind for ever)")
	}
	if r := c.Routing; r.Explore < 0 || r.Explore > 0.5 || r.Window < 0 || r.Window > 1000 {
		return bad("routing", "explore must be within 0–0.5 and window within 1–1000")
	}
	if _, err := balanceChecks(c.Balance); err != nil {
		return bad("balance", "%v", err)
	}
	if err := c.OTP.validate(); err != nil {
		return err
	}
	if err := c.Backup.validate(); err != nil {
		return err
	}
	if err := c.Spool.validate(); err != nil {
		return err
	}
	if err := c.Hooks.validate(); err != nil {
		return err
	}
	return c.SMTP.validate()
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// database is what store.Open opens: the PostgreSQL URL, else the SQLite
// file in the data directory.
func (c config) database() string {
	if c.Database != "" {
		return c.Database
	}
	return filepath.Join(c.Data, dbFile)
}

// hostID names this gateway among the hosts of a shared database.
func (c config) hostID() string {
	if c.Host != "" {
		return c.Host
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// redactURL hides the password of a database URL in what is logged.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

// databaseFor is the database of the commands that take only --data:
// $SIMGATE_DATABASE when set, else the SQLite file in data.
func databaseFor(data string, e env) string {
	if db := e.getenv("SIMGATE_DATABASE"); db != "" {
		return db
	}
	return filepath.Join(data, dbFile)
}
