package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway"
)

// CallbackOutbox is what Callbacks needs of the store: the due rows of the
// callback outbox, and a place to record each attempt.
type CallbackOutbox interface {
	DueCallbacks(ctx context.Context, now time.Time, limit int) ([]gateway.CallbackDelivery, error)
	FinishCallback(ctx context.Context, c gateway.CallbackDelivery) error
	PruneCallbacks(ctx context.Context, before time.Time) (int, error)
}

// CallbackRetention is how long a finished callback row is kept, for
// inspection, before Run deletes it.
const CallbackRetention = 7 * 24 * time.Hour

// Callbacks delivers the callback outbox that compatibility adapters fill
// (Kannel's dlr-url): each row is a GET of its URL, made and retried the
// way a webhook is — the Notifier's defaults, its client (no link-local
// address or cloud metadata service, redirects within the host only), its
// backoff and its breaker, with slots per host as a webhook has per
// endpoint — until a 2xx or GiveUpAfter. There is nothing to sign: the URL
// is the receiver's own.
type Callbacks struct {
	n      *Notifier // configuration, client, clock, logger, backoff and breaker
	store  CallbackOutbox
	wake   chan struct{}
	flight flight    // rows in flight, per host
	pruned time.Time // last prune; Run's goroutine only
}

// NewCallbacks builds a Callbacks on st with cfg's tunables (the
// Notifier's defaults for the zero ones). A nil logger discards.
func NewCallbacks(cfg Config, st CallbackOutbox, clock gateway.Clock, logger *slog.Logger) *Callbacks {
	return &Callbacks{n: New(cfg, nil, clock, logger), store: st, wake: make(chan struct{}, 1)}
}

// Wake makes Run look for due rows now: a producer calls it after it
// enqueued rows.
func (c *Callbacks) Wake() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run delivers due rows until ctx ends, and returns after every request
// it started has ended; an attempt cut short stays pending for the next
// start.
func (c *Callbacks) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	return rounds(ctx, c.wake, c.n.cfg.PollEvery, func() {
		c.deliverDue(ctx, &wg)
		c.prune(ctx)
	})
}

// prune deletes, at most once an hour, the rows finished CallbackRetention
// ago.
func (c *Callbacks) prune(ctx context.Context) {
	now := c.n.clock.Now()
	if now.Sub(c.pruned) < time.Hour {
		return
	}
	c.pruned = now
	if k, err := c.store.PruneCallbacks(ctx, now.Add(-CallbackRetention)); err != nil && ctx.Err() == nil {
		c.n.log.Error("prune the callback outbox", "err", err)
	} else if k > 0 {
		c.n.log.Debug("callbacks pruned", "count", k)
	}
}

// deliverDue starts a request for each due row whose host has a free slot
// and is not parked, as Notifier.deliverDue does for endpoints.
func (c *Callbacks) deliverDue(ctx context.Context, wg *sync.WaitGroup) {
	cfg := c.n.cfg
	if c.flight.full(cfg.Parallel) {
		return
	}
	busy := c.flight.rowsInFlight()
	due, err := c.store.DueCallbacks(ctx, c.n.clock.Now(), dueLimit)
	if err != nil {
		if ctx.Err() == nil {
			c.n.log.Error("read callback outbox", "err", err)
		}
		return
	}
	now := c.n.clock.Now()
	for _, d := range due {
		// flight and the breaker count by endpoint: a callback's is its host.
		slot := gateway.WebhookDelivery{ID: d.ID, Endpoint: callbackHost(d.URL)}
		if busy[d.ID] || c.n.parks.parked(slot.Endpoint, now, c.n.log) {
			continue
		}
		ok, full := c.flight.start(slot, cfg.PerEndpoint, cfg.Parallel)
		if full {
			return
		}
		if ok {
			wg.Go(func() {
				defer c.Wake()
				defer c.flight.end(slot)
				c.attempt(ctx, d, slot.Endpoint)
			})
		}
	}
}

// callbackHost is the host a callback goes to, its breaker's key.
func callbackHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Host
}

// attempt calls d's URL once and records the outcome.
func (c *Callbacks) attempt(ctx context.Context, d gateway.CallbackDelivery, host string) {
	status, retryAfter, err := c.get(ctx, d.URL)
	if ctx.Err() != nil {
		return // shutting down: not an attempt of the receiver's
	}
	n := c.n
	now := n.clock.Now()
	d.Attempts++
	log := n.log.With("callback_id", d.ID, "kind", d.Kind, "message_id", d.MessageID, "url", RedactURL(d.URL), "attempt", d.Attempts)
	var refused *redirectError
	var denied *targetError
	switch {
	case errors.As(err, &denied): // not the receiver's failure; no retry changes it
		d.Status, d.LastError = gateway.CallbackFailed, denied.Error()
		log.Error("callback cannot be delivered", "err", denied)
	case err == nil && status >= 200 && status < 300:
		n.parks.answered(host, true, log)
		d.Status, d.LastError = gateway.CallbackDelivered, ""
		log.Debug("callback delivered", "status", status)
	default:
		if err == nil || errors.As(err, &refused) {
			n.parks.answered(host, false, log)
		} else {
			n.parks.failed(host, now, n.cfg, log)
		}
		d.LastError = fmt.Sprintf("http %d", status)
		if err != nil {
			d.LastError = err.Error()
		}
		next := now.Add(max(n.backoff(d.Attempts), retryAfter))
		if next.Sub(d.CreatedAt) > n.cfg.GiveUpAfter {
			d.Status = gateway.CallbackFailed
			log.Warn("callback failed; giving up", "err", d.LastError)
		} else {
			d.Status, d.NextAttempt = gateway.CallbackPending, next
			log.Info("callback attempt failed; will retry", "err", d.LastError, "next_attempt", next)
		}
	}
	if err := c.store.FinishCallback(context.WithoutCancel(ctx), d); err != nil {
		log.Error("record callback attempt", "err", err)
	}
}

// get calls raw and returns the status and any Retry-After delay.
func (c *Callbacks) get(ctx context.Context, raw string) (int, time.Duration, error) {
	rctx, cancel := context.WithTimeout(ctx, c.n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, raw, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", "simgate-callbacks")
	return c.n.send(req, "get")
}
