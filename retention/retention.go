// Package retention prunes what the gateway no longer needs, in the
// background: idempotency keys, finished webhook deliveries (whose payloads
// may hold SMS texts), and the texts of old messages and inbound SMS — their
// metadata stays. The events log is pruned by the webhook Notifier.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/simgate/simgate/gateway"
)

// Defaults of Config.
const (
	DefaultIdempotencyKeys   = 72 * time.Hour
	DefaultWebhookDeliveries = 7 * 24 * time.Hour
	DefaultMessageTexts      = 30 * 24 * time.Hour
	DefaultInboundTexts      = 30 * 24 * time.Hour
	DefaultEvery             = time.Hour
	DefaultFirstAfter        = time.Minute
)

// Config says how long each kind of data is kept. Zero (or less) disables
// pruning of that kind: the zero Config prunes nothing; DefaultConfig
// holds the defaults.
type Config struct {
	// IdempotencyKeys: how long an Idempotency-Key replays its message.
	IdempotencyKeys time.Duration
	// WebhookDeliveries: how long a delivered or failed outbox row is kept
	// after its event. Pending rows are never pruned.
	WebhookDeliveries time.Duration
	// MessageTexts: how long after reaching a final status a message keeps
	// its text.
	MessageTexts time.Duration
	// InboundTexts: how long a received SMS keeps its text.
	InboundTexts time.Duration
	// Every is the time between two runs (default 1 h); FirstAfter the
	// time from Run to the first (default 1 min), so that a start is not
	// slowed by a backlog.
	Every, FirstAfter time.Duration
}

// DefaultConfig is the retention of a gateway that was told nothing.
func DefaultConfig() Config {
	return Config{
		IdempotencyKeys:   DefaultIdempotencyKeys,
		WebhookDeliveries: DefaultWebhookDeliveries,
		MessageTexts:      DefaultMessageTexts,
		InboundTexts:      DefaultInboundTexts,
	}
}

// Store is what the Pruner needs. Each call works in small batches and
// returns the rows it pruned; times are the caller's, never the database's.
type Store interface {
	PruneIdempotency(ctx context.Context, before time.Time) (int, error)
	PruneWebhookDeliveries(ctx context.Context, before time.Time) (int, error)
	PurgeMessageTexts(ctx context.Context, before, now time.Time) (int, error)
	PurgeInboundTexts(ctx context.Context, before, now time.Time) (int, error)
}

// Pruner runs the retention rules on a timer.
type Pruner struct {
	cfg   Config
	store Store
	clock gateway.Clock
	log   *slog.Logger
}

// New builds a Pruner; zero Every and FirstAfter take their defaults.
func New(cfg Config, store Store, clock gateway.Clock, logger *slog.Logger) *Pruner {
	if cfg.Every <= 0 {
		cfg.Every = DefaultEvery
	}
	if cfg.FirstAfter <= 0 {
		cfg.FirstAfter = DefaultFirstAfter
	}
	return &Pruner{cfg: cfg, store: store, clock: clock, log: logger}
}

// Run prunes FirstAfter after it starts, then every Every, until ctx ends.
// A failed run is logged and the next one tries again.
func (p *Pruner) Run(ctx context.Context) error {
	t := time.NewTimer(p.cfg.FirstAfter)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := p.Prune(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.log.Warn("retention: pruning failed; trying again at the next run", "err", err)
		}
		t.Reset(p.cfg.Every)
	}
}

// Prune applies every enabled rule once, as of the clock's now, and logs
// what it pruned. A rule that fails does not stop the others.
func (p *Pruner) Prune(ctx context.Context) error {
	now := p.clock.Now()
	rules := []struct {
		name string
		keep time.Duration
		run  func(before time.Time) (int, error)
	}{
		{"idempotency_keys", p.cfg.IdempotencyKeys, func(b time.Time) (int, error) { return p.store.PruneIdempotency(ctx, b) }},
		{"webhook_deliveries", p.cfg.WebhookDeliveries, func(b time.Time) (int, error) { return p.store.PruneWebhookDeliveries(ctx, b) }},
		{"message_texts", p.cfg.MessageTexts, func(b time.Time) (int, error) { return p.store.PurgeMessageTexts(ctx, b, now) }},
		{"inbound_texts", p.cfg.InboundTexts, func(b time.Time) (int, error) { return p.store.PurgeInboundTexts(ctx, b, now) }},
	}
	var errs []error
	attrs := []any{}
	for _, r := range rules {
		if r.keep <= 0 {
			continue
		}
		n, err := r.run(now.Add(-r.keep))
		if err != nil {
			errs = append(errs, fmt.Errorf("prune %s: %w", r.name, err))
		}
		if n > 0 {
			attrs = append(attrs, r.name, n)
		}
	}
	if len(attrs) > 0 {
		p.log.Info("retention: pruned", attrs...)
	}
	return errors.Join(errs...)
}
