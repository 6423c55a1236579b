package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway"
)

// Delivery is per endpoint, so that one slow or dead receiver never delays
// another. Each endpoint has at most PerEndpoint requests in flight, taken
// from its own rows oldest due first; all endpoints together at most
// Parallel. There is no batch to wait for: Run starts a request whenever a
// row is due and its endpoint and the whole have a free slot, and each
// request that ends wakes Run to fill its slot. A hanging receiver thus
// holds only its own slots until the Timeout, and after ParkAfter timeouts
// or connection failures in a row it is parked (see breaker.go).

// dueLimit bounds the rows one round reads: enough for every free slot,
// with room for the rows skipped (in flight, parked, endpoint busy).
const dueLimit = 1024

// Run takes events into the outbox and delivers due rows until ctx ends. A
// row's attempt in flight when ctx ends is abandoned and stays pending, and
// events not yet taken stay in the log: both go at the next start. Run
// returns after every request it started has ended.
func (n *Notifier) Run(ctx context.Context) error {
	if err := n.resealSecrets(ctx); err != nil && ctx.Err() == nil {
		n.log.Error("seal webhook secrets", "err", err) // they are still opened as they are
	}
	var wg sync.WaitGroup
	wg.Go(func() { n.take(ctx) })
	defer wg.Wait()
	return rounds(ctx, n.wake, n.cfg.PollEvery, func() {
		n.deliverDue(ctx, &wg)
		n.prune(ctx)
	})
}

// rounds runs round at once, then each time wake fires or every has
// passed since the last, until ctx ends.
func rounds(ctx context.Context, wake <-chan struct{}, every time.Duration, round func()) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-t.C:
		}
		round()
		t.Reset(every)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// deliverDue starts a request, on wg, for each due row that has a free
// slot and whose endpoint is not parked. It does not wait for them.
func (n *Notifier) deliverDue(ctx context.Context, wg *sync.WaitGroup) {
	if n.flight.full(n.cfg.Parallel) {
		return
	}
	// The rows in flight before the read: a row that ends after it is
	// read as still pending, but was just sent; it must not go again.
	busy := n.flight.rowsInFlight()
	// Twice PerEndpoint per endpoint: its rows in flight come first.
	due, err := n.store.DueWebhooks(ctx, n.clock.Now(), 2*n.cfg.PerEndpoint, dueLimit)
	if err != nil {
		if ctx.Err() == nil {
			n.log.Error("read webhook outbox", "err", err)
		}
		return
	}
	now := n.clock.Now()
	for _, d := range due {
		if busy[d.ID] || n.parks.parked(d.Endpoint, now, n.log) {
			continue
		}
		ok, full := n.flight.start(d, n.cfg.PerEndpoint, n.cfg.Parallel)
		if full {
			return
		}
		if ok {
			wg.Go(func() {
				defer n.Wake() // its slot is free: fill it
				defer n.flight.end(d)
				n.attempt(ctx, d)
			})
		}
	}
}

// flight counts the requests in flight, per row and per endpoint. Run's
// goroutine starts them; each request ends its own.
type flight struct {
	mu    sync.Mutex
	rows  map[string]bool
	per   map[string]int
	total int
}

// full reports whether limit requests are in flight.
func (f *flight) full(limit int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total >= limit
}

// rowsInFlight returns a copy of the set of rows in flight.
func (f *flight) rowsInFlight() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	rows := make(map[string]bool, len(f.rows))
	for id := range f.rows {
		rows[id] = true
	}
	return rows
}

// start counts d in flight if it is not already, its endpoint has fewer
// than perEndpoint requests in flight and all fewer than total; full says
// that all have total and no row can start.
func (f *flight) start(d gateway.WebhookDelivery, perEndpoint, total int) (ok, full bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.total >= total {
		return false, true
	}
	if f.rows[d.ID] || f.per[d.Endpoint] >= perEndpoint {
		return false, false
	}
	if f.rows == nil {
		f.rows, f.per = map[string]bool{}, map[string]int{}
	}
	f.rows[d.ID] = true
	f.per[d.Endpoint]++
	f.total++
	return true, false
}

// end counts d out of flight.
func (f *flight) end(d gateway.WebhookDelivery) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.rows, d.ID)
	if f.per[d.Endpoint]--; f.per[d.Endpoint] <= 0 {
		delete(f.per, d.Endpoint)
	}
	f.total--
}

// attempt posts d once and records the outcome, in the outbox and in its
// endpoint's breaker.
func (n *Notifier) attempt(ctx context.Context, d gateway.WebhookDelivery) {
	secret, _, err := n.box.open(d.Endpoint, d.Secret)
	if err != nil {
		n.failNow(ctx, d, err) // no attempt can ever be signed: the key file changed
		return
	}
	d.Secret = secret
	status, retryAfter, err := n.post(ctx, d)
	if ctx.Err() != nil {
		return // shutting down: not an attempt of the receiver's
	}
	now := n.clock.Now()
	d.Attempts++
	log := n.log.With("event_id", d.EventID, "event", d.Event, "webhook_id", d.Endpoint, "attempt", d.Attempts)
	var refused *redirectError
	var denied *targetError
	var unshaped *formatError
	if errors.As(err, &denied) {
		n.failNow(ctx, d, denied) // not the receiver's failure; no retry changes it
		return
	}
	if errors.As(err, &unshaped) {
		n.failNow(ctx, d, unshaped)
		return
	}
	switch {
	case err == nil || errors.As(err, &refused): // the receiver answered
		n.parks.answered(d.Endpoint, err == nil && status >= 200 && status < 300, log)
	default: // no answer: a timeout, a connection refused or reset…
		n.parks.failed(d.Endpoint, now, n.cfg, log)
	}
	switch {
	case err == nil && status >= 200 && status < 300:
		d.Status, d.LastError = gateway.WebhookDelivered, ""
		log.Debug("webhook delivered", "status", status)
	case err == nil && status == http.StatusGone:
		// Standard Webhooks: 410 means the receiver wants no more.
		d.Status, d.LastError = gateway.WebhookFailed, "http 410: endpoint gone; it was deleted"
		if derr := n.store.DeleteWebhook(ctx, d.Endpoint, now); derr != nil && !errors.Is(derr, gateway.ErrNotFound) {
			log.Error("delete gone webhook endpoint", "err", derr)
		}
		n.parks.forget(d.Endpoint)
		log.Warn("webhook endpoint answered 410; deleted")
	default:
		if err != nil {
			d.LastError = err.Error()
		} else {
			d.LastError = fmt.Sprintf("http %d", status)
		}
		next := now.Add(max(n.backoff(d.Attempts), retryAfter))
		if next.Sub(d.CreatedAt) > n.cfg.GiveUpAfter {
			d.Status = gateway.WebhookFailed
			log.Warn("webhook failed; giving up", "err", d.LastError, "age", now.Sub(d.CreatedAt).Round(time.Second))
		} else {
			d.Status, d.NextAttempt = gateway.WebhookPending, next
			log.Info("webhook attempt failed; will retry", "err", d.LastError, "next_attempt", next)
		}
	}
	if err := n.store.FinishWebhook(context.WithoutCancel(ctx), d); err != nil {
		log.Error("record webhook attempt", "err", err)
	}
}

// failNow fails d at once: it can never succeed, so retrying it for
// GiveUpAfter would only hide the reason.
func (n *Notifier) failNow(ctx context.Context, d gateway.WebhookDelivery, why error) {
	d.Status, d.LastError = gateway.WebhookFailed, why.Error()
	n.log.Error("webhook cannot be delivered", "event_id", d.EventID, "event", d.Event, "webhook_id", d.Endpoint, "err", why)
	if err := n.store.FinishWebhook(context.WithoutCancel(ctx), d); err != nil {
		n.log.Error("record webhook attempt", "err", err)
	}
}

// backoff is the delay after the attempts-th failure: FirstRetry doubling
// up to MaxRetry, drawn from its upper half so that receivers coming back
// are not hit by every retry at once.
func (n *Notifier) backoff(attempts int) time.Duration {
	d := n.cfg.FirstRetry
	for i := 1; i < attempts && d < n.cfg.MaxRetry; i++ {
		d *= 2
	}
	d = min(d, n.cfg.MaxRetry)
	return d/2 + mrand.N(d/2+1)
}

// redirectError is a redirect the Notifier refused: the receiver answered,
// so it is no timeout or connection failure.
type redirectError struct{ reason string }

func (e *redirectError) Error() string { return "webhook: " + e.reason }

// shape gives d's body and signature headers in its endpoint's format.
func (n *Notifier) shape(ctx context.Context, d gateway.WebhookDelivery) ([]byte, http.Header, error) {
	ts := n.clock.Now()
	if d.Format == "" || d.Format == gateway.WebhookStandard {
		sig, err := Sign(d.Secret, d.EventID, ts.Unix(), d.Payload)
		if err != nil {
			return nil, nil, err
		}
		h := http.Header{}
		h.Set("webhook-id", d.EventID)
		h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
		h.Set("webhook-signature", sig)
		return d.Payload, h, nil
	}
	f := n.cfg.Formats[d.Format]
	if f == nil {
		return nil, nil, &formatError{fmt.Sprintf("webhook format %q: this gateway has no formatter for it", d.Format)}
	}
	body, h, err := f.Format(ctx, d, ts)
	if errors.Is(err, ErrCannotFormat) {
		return nil, nil, &formatError{fmt.Sprintf("webhook format %q: %v", d.Format, err)}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("webhook format %q: %w", d.Format, err)
	}
	return body, h, nil
}

// formatError is a delivery its format could not shape: no retry changes it.
type formatError struct{ reason string }

func (e *formatError) Error() string { return e.reason }

// post sends d signed and returns the status and any Retry-After delay.
func (n *Notifier) post(ctx context.Context, d gateway.WebhookDelivery) (int, time.Duration, error) {
	body, header, err := n.shape(ctx, d)
	if err != nil {
		return 0, 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, d.URL, strings.NewReader(string(body)))
	if err != nil {
		return 0, 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "simgate-webhooks")
	for k, vs := range header {
		req.Header[k] = vs
	}
	return n.send(req, "post")
}

// send runs req and returns the status and any Retry-After delay (at most
// MaxRetry). An error names the step, not the URL, which may hold a token
// in its query. The body is drained, up to a bound, so the connection can
// be reused.
func (n *Notifier) send(req *http.Request, step string) (int, time.Duration, error) {
	resp, err := n.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, 0, fmt.Errorf("%s: %w", step, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, webhookBodyLimit))
	var wait time.Duration
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		wait = min(time.Duration(s)*time.Second, n.cfg.MaxRetry)
	}
	return resp.StatusCode, wait, nil
}
