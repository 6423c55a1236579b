// Package balance checks each modem's prepaid credit on a schedule: it runs
// the configured USSD code on the modem, finds the amount in the reply with
// the configured pattern, and records the reading (gateway.BalanceStore),
// which appends modem.balance_low once per crossing below the threshold.
//
// A check runs when its modem is online and its interval has passed since
// its last success (a failure is tried again after RetryAfter, sooner when
// the interval is shorter). Checks run one at a time: a modem runs one USSD
// session at a time, and a balance is worth no hurry.
package balance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
)

// AnyModem as Check.Modem applies a check to every modem without one of
// its own.
const AnyModem = "*"

// DefaultPattern finds the first number in a reply.
var DefaultPattern = regexp.MustCompile(`-?[0-9]+(?:[ .,'][0-9]+)*`)

// Defaults.
const (
	DefaultInterval = 6 * time.Hour
	MinInterval     = time.Minute
	RetryAfter      = 15 * time.Minute
	// Tick is how often Run looks for checks that are due: a modem that
	// comes online is checked within it. A round that finds nothing due is
	// one read of the modems table.
	Tick = 5 * time.Second
	// Timeout bounds one USSD request.
	Timeout = 45 * time.Second
)

// Check is one modem's balance check.
type Check struct {
	// Modem is an IMEI, or AnyModem.
	Modem    string
	Code     string
	Interval time.Duration
	// Pattern finds the amount: its first group when it has one, else the
	// whole match.
	Pattern *regexp.Regexp
	// Threshold is the amount below which the balance is low, when
	// HasThreshold.
	Threshold    float64
	HasThreshold bool
}

// USSD runs a code on a modem by IMEI; *session.Supervisor is one.
type USSD interface {
	USSD(ctx context.Context, imei, code string) (gateway.USSDReply, error)
}

// Store is what the checker reads and writes.
type Store interface {
	gateway.BalanceStore
	Modems(ctx context.Context) ([]gateway.ModemInfo, error)
}

// Checker runs the balance checks.
type Checker struct {
	checks map[string]Check // by Modem
	ussd   USSD
	store  Store
	clock  gateway.Clock
	log    *slog.Logger
	next   map[string]time.Time // by IMEI; only Run's goroutine touches it
}

// New validates checks (a code, an interval of at least MinInterval,
// DefaultInterval when zero, DefaultPattern when nil; one check per modem).
func New(checks []Check, ussd USSD, store Store, clock gateway.Clock, log *slog.Logger) (*Checker, error) {
	c := &Checker{checks: map[string]Check{}, ussd: ussd, store: store, clock: clock, log: log, next: map[string]time.Time{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for i, ch := range checks {
		if ch.Modem == "" {
			ch.Modem = AnyModem
		}
		if err := gateway.CheckUSSDCode(ch.Code); err != nil {
			return nil, fmt.Errorf("balance check %d (%s): %w", i+1, ch.Modem, err)
		}
		if ch.Interval == 0 {
			ch.Interval = DefaultInterval
		}
		if ch.Interval < MinInterval {
			return nil, fmt.Errorf("balance check %d (%s): interval %v is under %v: %w", i+1, ch.Modem, ch.Interval, MinInterval, gateway.ErrInvalid)
		}
		if ch.Pattern == nil {
			ch.Pattern = DefaultPattern
		}
		if _, dup := c.checks[ch.Modem]; dup {
			return nil, fmt.Errorf("balance check %d: a second check for %s: %w", i+1, ch.Modem, gateway.ErrInvalid)
		}
		c.checks[ch.Modem] = ch
	}
	return c, nil
}

// Run checks what is due every Tick until ctx ends.
func (c *Checker) Run(ctx context.Context) error {
	if len(c.checks) == 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(Tick)
	defer t.Stop()
	for {
		c.Round(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Round runs every check that is due now, one after the other.
func (c *Checker) Round(ctx context.Context) {
	modems, err := c.store.Modems(ctx)
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "balance check: list modems", slog.String("error", err.Error()))
		return
	}
	for _, m := range modems {
		ch, ok := c.checks[m.IMEI]
		if !ok {
			ch, ok = c.checks[AnyModem]
		}
		if !ok || m.State != gateway.ModemOnline || c.clock.Now().Before(c.next[m.IMEI]) {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if err := c.check(ctx, m.IMEI, ch); err != nil {
			c.next[m.IMEI] = c.clock.Now().Add(min(RetryAfter, ch.Interval))
			c.log.LogAttrs(ctx, slog.LevelWarn, "balance check failed", slog.String("modem", m.IMEI), slog.String("error", err.Error()))
			continue
		}
		c.next[m.IMEI] = c.clock.Now().Add(ch.Interval)
	}
}

// errNoAmount means the pattern found no amount in the reply.
var errNoAmount = errors.New("no amount in the reply")

// check runs one modem's check and records what it found.
func (c *Checker) check(ctx context.Context, imei string, ch Check) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	r, err := c.ussd.USSD(ctx, imei, ch.Code)
	if err != nil {
		return err
	}
	amount, ok := Amount(r.Text, ch.Pattern)
	if !ok {
		return fmt.Errorf("%w: %q", errNoAmount, r.Text)
	}
	b := gateway.Balance{Amount: amount, Reply: r.Text, Threshold: ch.Threshold, HasThreshold: ch.HasThreshold,
		Low: ch.HasThreshold && amount < ch.Threshold, CheckedAt: c.clock.Now()}
	if err := c.store.RecordBalance(ctx, imei, b); err != nil {
		return err
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "balance checked", slog.String("modem", imei), slog.Float64("balance", amount), slog.Bool("low", b.Low))
	return nil
}

// Amount finds the amount in reply: pattern's first group, or its whole
// match, read as a number whose decimal separator is '.' or ',' (the last
// one when both appear, "1.234,56" and "1,234.56"; a lone separator
// followed by exactly three digits groups thousands, "1,000"). Spaces and
// apostrophes group digits.
func Amount(reply string, pattern *regexp.Regexp) (float64, bool) {
	m := pattern.FindStringSubmatch(reply)
	if m == nil {
		return 0, false
	}
	s := m[0]
	if len(m) > 1 {
		s = m[1]
	}
	s = strings.NewReplacer(" ", "", "\u00a0", "", "'", "").Replace(strings.TrimSpace(s))
	dot, comma := strings.LastIndexByte(s, '.'), strings.LastIndexByte(s, ',')
	dec := max(dot, comma)
	if dec >= 0 && dot >= 0 != (comma >= 0) && strings.Count(s, s[dec:dec+1]) == 1 && len(s)-dec-1 == 3 {
		dec = -1 // "1,000": a thousands separator
	} else if dec >= 0 && strings.Count(s, s[dec:dec+1]) > 1 && (dot < 0 || comma < 0) {
		dec = -1 // "1.000.000"
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case i == dec:
			b.WriteByte('.')
		case r >= '0' && r <= '9', r == '-' && b.Len() == 0:
			b.WriteRune(r)
		}
	}
	v, err := strconv.ParseFloat(b.String(), 64)
	return v, err == nil
}
