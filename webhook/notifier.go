package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway"
)

// Formatter shapes and signs a delivery for an endpoint of a format other
// than Standard Webhooks. d.Payload is the Standard Webhooks body
// ({type, timestamp, data}) and d.Secret the endpoint's opened secret; the
// answer is the body to post and the headers that sign it. An error that
// wraps ErrCannotFormat fails the row at once; another is retried like a
// failed post.
type Formatter interface {
	Format(ctx context.Context, d gateway.WebhookDelivery, now time.Time) (body []byte, header http.Header, err error)
}

// ErrCannotFormat is a delivery a Formatter can never shape.
var ErrCannotFormat = errors.New("cannot format")

// NotifierConfig holds the Notifier's tunables; zero values take the
// defaults below.
type Config struct {
	// FirstRetry is the delay after the first failed attempt; it doubles
	// up to MaxRetry, with jitter. Defaults 5 s and 1 h.
	FirstRetry, MaxRetry time.Duration
	// GiveUpAfter is how long after the event a row still failing becomes
	// failed; default 24 h.
	GiveUpAfter time.Duration
	// Timeout bounds one request, response included; default 10 s.
	Timeout time.Duration
	// PollEvery is how often Run looks for due rows when not woken;
	// default 1 s.
	PollEvery time.Duration
	// Parallel is how many requests run at once, over all endpoints;
	// default 32. With PerEndpoint 2, up to 15 endpoints may hang at
	// once before a healthy one waits for a free slot (and the breaker
	// parks hanging ones after ParkAfter timeouts).
	Parallel int
	// PerEndpoint is how many requests one endpoint may have in flight;
	// default 2. A slow endpoint holds only its own slots.
	PerEndpoint int
	// ParkAfter is how many timeouts or connection failures in a row park
	// an endpoint; default 5.
	ParkAfter int
	// FirstPark is how long an endpoint is first parked; it doubles at
	// each park up to MaxPark until a 2xx. Defaults 5 min and 1 h.
	FirstPark, MaxPark time.Duration
	// Client sends the requests; nil means one with Timeout that follows
	// redirects only within the same host and connects to no link-local
	// address or cloud metadata service (target.go).
	Client *http.Client
	// Formats shape and sign the webhooks of endpoints whose Format is
	// not gateway.WebhookStandard, by format; a row of a format missing
	// here fails at once.
	Formats map[string]Formatter
	// Keys seal the endpoints' signing secrets at rest (see secret.go): the
	// first seals, each opens, so that the old key file still opens what it
	// sealed during a rotation. The bytes of the key files; nil means a
	// random key of this process, whose secrets a restart cannot open.
	Keys [][]byte
}

// Defaults of NotifierConfig.
const (
	DefaultWebhookFirstRetry  = 5 * time.Second
	DefaultWebhookMaxRetry    = time.Hour
	DefaultWebhookGiveUpAfter = 24 * time.Hour
	DefaultWebhookTimeout     = 10 * time.Second
	DefaultWebhookPollEvery   = time.Second
	DefaultWebhookParallel    = 32
	DefaultWebhookPerEndpoint = 2
	DefaultWebhookParkAfter   = 5
	DefaultWebhookFirstPark   = 5 * time.Minute
	DefaultWebhookMaxPark     = time.Hour
)

// webhookBodyLimit bounds how much of a response is read: the status is
// all that matters, and the connection is reused only if the body is
// drained.
const webhookBodyLimit = 4 << 10

// Consumer names the Notifier's cursor in the event log.
const Consumer = "webhooks"

// Store is what the Notifier needs: endpoints, the outbox, and the event
// log it fills the outbox from.
type Store interface {
	gateway.WebhookStore
	gateway.EventLog
}

// Notifier delivers the event log to webhook endpoints: Run takes each
// event into a durable outbox, one row per subscribed endpoint, in the
// transaction that moves its cursor, and posts the rows, signed per
// Standard Webhooks, retrying with exponential backoff until a 2xx or
// GiveUpAfter.
type Notifier struct {
	cfg    Config
	store  Store
	clock  gateway.Clock
	log    *slog.Logger
	client *http.Client
	box    *secretBox
	wake   chan struct{}
	pruned time.Time // last prune of the event log; Run's goroutine only
	flight flight    // requests in flight, per row and per endpoint
	parks  breakers  // endpoints failing in a row, or parked

	subMu  sync.Mutex
	subs   map[string]bool // event types some live endpoint wants; nil: read again
	subsAt time.Time
}

// New builds a Notifier on st. A nil logger discards.
func New(cfg Config, st Store, clock gateway.Clock, logger *slog.Logger) *Notifier {
	if cfg.FirstRetry <= 0 {
		cfg.FirstRetry = DefaultWebhookFirstRetry
	}
	if cfg.MaxRetry <= 0 {
		cfg.MaxRetry = DefaultWebhookMaxRetry
	}
	if cfg.GiveUpAfter <= 0 {
		cfg.GiveUpAfter = DefaultWebhookGiveUpAfter
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultWebhookTimeout
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = DefaultWebhookPollEvery
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = DefaultWebhookParallel
	}
	if cfg.PerEndpoint <= 0 {
		cfg.PerEndpoint = DefaultWebhookPerEndpoint
	}
	if cfg.ParkAfter <= 0 {
		cfg.ParkAfter = DefaultWebhookParkAfter
	}
	if cfg.FirstPark <= 0 {
		cfg.FirstPark = DefaultWebhookFirstPark
	}
	if cfg.MaxPark <= 0 {
		cfg.MaxPark = DefaultWebhookMaxPark
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client := cfg.Client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = guardedDialer().DialContext
		client = &http.Client{Timeout: cfg.Timeout, CheckRedirect: sameHostRedirect, Transport: tr}
	}
	return &Notifier{cfg: cfg, store: st, clock: clock, log: logger, client: client, box: newSecretBox(cfg.Keys),
		wake: make(chan struct{}, 1)}
}

// sameHostRedirect follows a redirect only to the host the endpoint named:
// a receiver must not be able to point the gateway at another machine.
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return &redirectError{"too many redirects"}
	}
	if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		return &redirectError{fmt.Sprintf("redirect to another host (%s) refused", req.URL.Host)}
	}
	return nil
}

// CreateWebhook registers an endpoint of owner for events and returns it
// with its secret, which is shown this once: the database holds it sealed.
// An endpoint of a caller that is not admin gets the message and OTP
// events of its own key's rows only.
func (n *Notifier) CreateWebhook(ctx context.Context, owner gateway.Caller, rawURL string, events []string) (gateway.WebhookEndpoint, error) {
	return n.CreateFormatted(ctx, owner, Spec{URL: rawURL, Events: events})
}

// Spec is an endpoint to register: its URL, the events it wants, and, for
// another interface's webhooks, its format (a Formatter the Notifier was
// given) and the ID its client knows it by.
type Spec struct {
	URL        string
	Events     []string
	Format     string // "" = gateway.WebhookStandard
	ExternalID string
}

// CreateFormatted is CreateWebhook for an endpoint of any format.
func (n *Notifier) CreateFormatted(ctx context.Context, owner gateway.Caller, spec Spec) (gateway.WebhookEndpoint, error) {
	rawURL, events := spec.URL, spec.Events
	if spec.Format != "" && spec.Format != gateway.WebhookStandard && n.cfg.Formats[spec.Format] == nil {
		return gateway.WebhookEndpoint{}, fmt.Errorf("create webhook: no formatter for format %q", spec.Format)
	}
	if err := ValidURL(rawURL); err != nil {
		return gateway.WebhookEndpoint{}, err
	}
	if len(events) == 0 {
		return gateway.WebhookEndpoint{}, &gateway.ValidationError{Field: "events", Reason: "is required: one or more of " + strings.Join(gateway.WebhookEvents, ", ")}
	}
	seen := map[string]bool{}
	var evs []string
	for _, e := range events {
		if !slices.Contains(gateway.WebhookEvents, e) && !slices.Contains(gateway.EventVariants, e) {
			return gateway.WebhookEndpoint{}, &gateway.ValidationError{Field: "events", Reason: fmt.Sprintf("%q is not an event; want one of %s", e, strings.Join(gateway.WebhookEvents, ", "))}
		}
		if !seen[e] {
			seen[e] = true
			evs = append(evs, e)
		}
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (Go ≥ 1.24)
	now := n.clock.Now()
	e := gateway.WebhookEndpoint{
		ID: gateway.NewID("wh_", now), URL: rawURL, Events: evs,
		Secret: "whsec_" + base64.StdEncoding.EncodeToString(key), CreatedAt: now,
		OwnerKey: owner.KeyID, AllEvents: owner.Admin, Format: spec.Format, ExternalID: spec.ExternalID,
	}
	stored := e
	stored.Secret = n.box.seal(e.ID, e.Secret)
	if err := n.store.CreateWebhook(ctx, stored); err != nil {
		return gateway.WebhookEndpoint{}, fmt.Errorf("create webhook: %w", err)
	}
	n.forgetSubscriptions()
	n.log.Info("webhook endpoint created", "webhook_id", e.ID, "url", RedactURL(rawURL), "events", evs)
	return e, nil
}

// Webhooks lists the live endpoints without their secrets, with the time
// until which the breaker parked each one, if it did.
func (n *Notifier) Webhooks(ctx context.Context) ([]gateway.WebhookEndpoint, error) {
	es, err := n.store.Webhooks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	now := n.clock.Now()
	for i := range es {
		es[i].Secret = ""
		es[i].ParkedUntil = n.parks.parkedUntil(es[i].ID, now)
	}
	return es, nil
}

// DeleteWebhook removes an endpoint; its undelivered events are dropped and
// its secret wiped.
func (n *Notifier) DeleteWebhook(ctx context.Context, id string) error {
	if err := n.store.DeleteWebhook(ctx, id, n.clock.Now()); err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	n.forgetSubscriptions()
	n.parks.forget(id)
	n.log.Info("webhook endpoint deleted", "webhook_id", id)
	return nil
}

// ValidWebhookURL accepts an absolute http or https URL with a host.
func ValidURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return &gateway.ValidationError{Field: "url", Reason: "is required"}
	case len(raw) > 2048:
		return &gateway.ValidationError{Field: "url", Reason: "is longer than 2048 characters"}
	case err != nil:
		return &gateway.ValidationError{Field: "url", Reason: "is not a URL"}
	case u.Scheme != "http" && u.Scheme != "https":
		return &gateway.ValidationError{Field: "url", Reason: "must be http or https"}
	case u.Host == "" || u.Hostname() == "":
		return &gateway.ValidationError{Field: "url", Reason: "has no host"}
	case u.Fragment != "":
		return &gateway.ValidationError{Field: "url", Reason: "must not have a fragment"}
	case deniedHost(u.Hostname()) != "":
		return &gateway.ValidationError{Field: "url", Reason: "host " + u.Hostname() + " " + deniedHost(u.Hostname()) + "; refused"}
	}
	return nil
}

// RedactURL is a URL as lists and logs show it: without its user info
// (user:pass@) and with each query value replaced by "redacted", the keys
// kept so that an admin can still tell endpoints apart. The full URL is
// shown once, in the answer to its creation.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid url)"
	}
	u.User = nil
	if u.RawQuery != "" {
		q, _ := url.ParseQuery(u.RawQuery) // what does not parse is dropped
		keys := slices.Sorted(maps.Keys(q))
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, url.QueryEscape(k)+"=redacted")
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	return u.String()
}

// webhookPayload is the body of every webhook (Standard Webhooks).
type webhookPayload struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// Wake makes Run look for due rows now.
func (n *Notifier) Wake() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// SignWebhook returns the webhook-signature header value for a message:
// "v1," and the base64 of HMAC-SHA256 over "id.timestamp.body", keyed with
// the secret's bytes (Standard Webhooks).
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}
