package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Webhook event types (DESIGN.md §3). They are part of the external
// contract.
const (
	EventMessageSent      = "message.sent"
	EventMessageDelivered = "message.delivered"
	EventMessageFailed    = "message.failed"
	EventSMSReceived      = "sms.received"
	EventOTPApproved      = "otp.approved"
	EventModemOffline     = "modem.offline"
	EventModemOnline      = "modem.online"
)

// WebhookEvents lists every event an endpoint may subscribe to.
var WebhookEvents = []string{
	EventMessageSent, EventMessageDelivered, EventMessageFailed, EventSMSReceived,
	EventOTPApproved, EventModemOffline, EventModemOnline,
}

// Outbox row statuses.
const (
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed"
)

// WebhookEndpoint is a receiver of webhooks. Secret is "whsec_" followed by
// the base64 of the HMAC key (Standard Webhooks).
type WebhookEndpoint struct {
	ID         string // "wh_" + 26 characters
	URL        string
	Events     []string
	Secret     string
	CreatedAt  time.Time
	DisabledAt time.Time // deleted; zero while live
}

// WebhookDelivery is one outbox row: one event for one endpoint. ID is the
// webhook-id header, the same on every attempt, so that a receiver can
// drop a repeat.
type WebhookDelivery struct {
	ID          string // "evt_" + 26 characters
	Endpoint    string
	URL         string // the endpoint's, joined when due
	Secret      string // the endpoint's, joined when due
	Event       string
	Payload     []byte
	Status      string
	Attempts    int
	NextAttempt time.Time
	LastError   string
	CreatedAt   time.Time
}

// WebhookStore is the Notifier's storage: endpoints and a durable outbox.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, e WebhookEndpoint) error
	// Webhooks lists the live endpoints, oldest first.
	Webhooks(ctx context.Context) ([]WebhookEndpoint, error)
	// DeleteWebhook disables a live endpoint and fails its pending rows;
	// ErrNotFound for an unknown or already deleted one.
	DeleteWebhook(ctx context.Context, id string, now time.Time) error
	// EnqueueWebhook adds one pending row per live endpoint subscribed to
	// event, in one transaction, and returns how many.
	EnqueueWebhook(ctx context.Context, event string, payload []byte, now time.Time) (int, error)
	// DueWebhooks returns up to limit pending rows of live endpoints due
	// at now, oldest first.
	DueWebhooks(ctx context.Context, now time.Time, limit int) ([]WebhookDelivery, error)
	// FinishWebhook records an attempt: status, attempts, next attempt (for
	// pending) and the last error.
	FinishWebhook(ctx context.Context, d WebhookDelivery) error
}

// NotifierConfig holds the Notifier's tunables; zero values take the
// defaults below.
type NotifierConfig struct {
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
	// Parallel is how many requests run at once; default 4.
	Parallel int
	// Client sends the requests; nil means one with Timeout that follows
	// redirects only within the same host.
	Client *http.Client
}

// Defaults of NotifierConfig.
const (
	DefaultWebhookFirstRetry  = 5 * time.Second
	DefaultWebhookMaxRetry    = time.Hour
	DefaultWebhookGiveUpAfter = 24 * time.Hour
	DefaultWebhookTimeout     = 10 * time.Second
	DefaultWebhookPollEvery   = time.Second
	DefaultWebhookParallel    = 4
)

// webhookBodyLimit bounds how much of a response is read: the status is
// all that matters, and the connection is reused only if the body is
// drained.
const webhookBodyLimit = 4 << 10

// Notifier delivers webhooks from a durable outbox: Notify commits a row
// per subscribed endpoint, Run posts them, signed per Standard Webhooks,
// and retries with exponential backoff until a 2xx or GiveUpAfter.
type Notifier struct {
	cfg    NotifierConfig
	store  WebhookStore
	clock  Clock
	log    *slog.Logger
	client *http.Client
	wake   chan struct{}

	mu     sync.Mutex
	online map[string]bool // by IMEI: whether the last state reported was online
	own    map[string]bool // the gateway's own numbers, by their last 8 digits
}

// NewNotifier builds a Notifier on st. A nil logger discards.
func NewNotifier(cfg NotifierConfig, st WebhookStore, clock Clock, logger *slog.Logger) *Notifier {
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
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout, CheckRedirect: sameHostRedirect}
	}
	return &Notifier{cfg: cfg, store: st, clock: clock, log: logger, client: client, wake: make(chan struct{}, 1),
		online: make(map[string]bool), own: make(map[string]bool)}
}

// sameHostRedirect follows a redirect only to the host the endpoint named:
// a receiver must not be able to point the gateway at another machine.
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("webhook: too many redirects")
	}
	if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		return fmt.Errorf("webhook: redirect to another host (%s) refused", req.URL.Host)
	}
	return nil
}

// CreateWebhook registers an endpoint for events and returns it with its
// secret, which is shown this once.
func (n *Notifier) CreateWebhook(ctx context.Context, rawURL string, events []string) (WebhookEndpoint, error) {
	if err := ValidWebhookURL(rawURL); err != nil {
		return WebhookEndpoint{}, err
	}
	if len(events) == 0 {
		return WebhookEndpoint{}, &ValidationError{Field: "events", Reason: "is required: one or more of " + strings.Join(WebhookEvents, ", ")}
	}
	seen := map[string]bool{}
	var evs []string
	for _, e := range events {
		if !slices.Contains(WebhookEvents, e) {
			return WebhookEndpoint{}, &ValidationError{Field: "events", Reason: fmt.Sprintf("%q is not an event; want one of %s", e, strings.Join(WebhookEvents, ", "))}
		}
		if !seen[e] {
			seen[e] = true
			evs = append(evs, e)
		}
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (Go ≥ 1.24)
	now := n.clock.Now()
	e := WebhookEndpoint{
		ID: NewID("wh_", now), URL: rawURL, Events: evs,
		Secret: "whsec_" + base64.StdEncoding.EncodeToString(key), CreatedAt: now,
	}
	if err := n.store.CreateWebhook(ctx, e); err != nil {
		return WebhookEndpoint{}, fmt.Errorf("create webhook: %w", err)
	}
	n.log.Info("webhook endpoint created", "webhook_id", e.ID, "url", redactURL(rawURL), "events", evs)
	return e, nil
}

// Webhooks lists the live endpoints without their secrets.
func (n *Notifier) Webhooks(ctx context.Context) ([]WebhookEndpoint, error) {
	es, err := n.store.Webhooks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	for i := range es {
		es[i].Secret = ""
	}
	return es, nil
}

// DeleteWebhook removes an endpoint; its undelivered events are dropped.
func (n *Notifier) DeleteWebhook(ctx context.Context, id string) error {
	if err := n.store.DeleteWebhook(ctx, id, n.clock.Now()); err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	n.log.Info("webhook endpoint deleted", "webhook_id", id)
	return nil
}

// ValidWebhookURL accepts an absolute http or https URL with a host.
func ValidWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return &ValidationError{Field: "url", Reason: "is required"}
	case len(raw) > 2048:
		return &ValidationError{Field: "url", Reason: "is longer than 2048 characters"}
	case err != nil:
		return &ValidationError{Field: "url", Reason: "is not a URL"}
	case u.Scheme != "http" && u.Scheme != "https":
		return &ValidationError{Field: "url", Reason: "must be http or https"}
	case u.Host == "" || u.Hostname() == "":
		return &ValidationError{Field: "url", Reason: "has no host"}
	case u.Fragment != "":
		return &ValidationError{Field: "url", Reason: "must not have a fragment"}
	}
	return nil
}

// redactURL drops what a URL may carry as a credential (user info, query)
// before it is logged.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid url)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

// webhookPayload is the body of every webhook (Standard Webhooks).
type webhookPayload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// Notify commits event with data for every endpoint subscribed to it and
// wakes Run. data must hold no secret: it is stored and sent as is.
func (n *Notifier) Notify(ctx context.Context, event string, data any) error {
	now := n.clock.Now()
	body, err := json.Marshal(webhookPayload{Type: event, Timestamp: now.UTC(), Data: data})
	if err != nil {
		return fmt.Errorf("notify %s: %w", event, err)
	}
	k, err := n.store.EnqueueWebhook(ctx, event, body, now)
	if err != nil {
		return fmt.Errorf("notify %s: %w", event, err)
	}
	if k > 0 {
		n.Wake()
	}
	return nil
}

// Wake makes Run look for due rows now.
func (n *Notifier) Wake() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Run delivers due rows until ctx ends. A row's attempt in flight when ctx
// ends is abandoned and stays pending: it goes again at the next start.
func (n *Notifier) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.wake:
		case <-t.C:
		}
		n.deliverDue(ctx)
		t.Reset(n.cfg.PollEvery)
	}
}

// deliverDue posts every due row, Parallel at a time, until none is due.
func (n *Notifier) deliverDue(ctx context.Context) {
	for ctx.Err() == nil {
		due, err := n.store.DueWebhooks(ctx, n.clock.Now(), 64)
		if err != nil {
			if ctx.Err() == nil {
				n.log.Error("read webhook outbox", "err", err)
			}
			return
		}
		if len(due) == 0 {
			return
		}
		sem := make(chan struct{}, n.cfg.Parallel)
		var wg sync.WaitGroup
		for _, d := range due {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				n.attempt(ctx, d)
			}()
		}
		wg.Wait()
	}
}

// attempt posts d once and records the outcome.
func (n *Notifier) attempt(ctx context.Context, d WebhookDelivery) {
	status, retryAfter, err := n.post(ctx, d)
	if ctx.Err() != nil {
		return // shutting down: not an attempt of the receiver's
	}
	now := n.clock.Now()
	d.Attempts++
	log := n.log.With("event_id", d.ID, "event", d.Event, "webhook_id", d.Endpoint, "attempt", d.Attempts)
	switch {
	case err == nil && status >= 200 && status < 300:
		d.Status, d.LastError = WebhookDelivered, ""
		log.Debug("webhook delivered", "status", status)
	case err == nil && status == http.StatusGone:
		// Standard Webhooks: 410 means the receiver wants no more.
		d.Status, d.LastError = WebhookFailed, "http 410: endpoint gone; it was deleted"
		if derr := n.store.DeleteWebhook(ctx, d.Endpoint, now); derr != nil && !errors.Is(derr, ErrNotFound) {
			log.Error("delete gone webhook endpoint", "err", derr)
		}
		log.Warn("webhook endpoint answered 410; deleted")
	default:
		if err != nil {
			d.LastError = err.Error()
		} else {
			d.LastError = fmt.Sprintf("http %d", status)
		}
		next := now.Add(max(n.backoff(d.Attempts), retryAfter))
		if next.Sub(d.CreatedAt) > n.cfg.GiveUpAfter {
			d.Status = WebhookFailed
			log.Warn("webhook failed; giving up", "err", d.LastError, "age", now.Sub(d.CreatedAt).Round(time.Second))
		} else {
			d.Status, d.NextAttempt = WebhookPending, next
			log.Info("webhook attempt failed; will retry", "err", d.LastError, "next_attempt", next)
		}
	}
	if err := n.store.FinishWebhook(context.WithoutCancel(ctx), d); err != nil {
		log.Error("record webhook attempt", "err", err)
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

// post sends d signed and returns the status and any Retry-After delay.
func (n *Notifier) post(ctx context.Context, d WebhookDelivery) (int, time.Duration, error) {
	ts := n.clock.Now().Unix()
	sig, err := SignWebhook(d.Secret, d.ID, ts, d.Payload)
	if err != nil {
		return 0, 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, d.URL, strings.NewReader(string(d.Payload)))
	if err != nil {
		return 0, 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "simgate-webhooks")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := n.client.Do(req)
	if err != nil {
		// The URL may hold a token in its query: say what failed, not where.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, 0, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, webhookBodyLimit))
	var wait time.Duration
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		wait = min(time.Duration(s)*time.Second, n.cfg.MaxRetry)
	}
	return resp.StatusCode, wait, nil
}

// SignWebhook returns the webhook-signature header value for a message:
// "v1," and the base64 of HMAC-SHA256 over "id.timestamp.body", keyed with
// the secret's bytes (Standard Webhooks).
func SignWebhook(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// emit commits one event for a hook. The hooks run on the modems' and
// workers' goroutines, and the last modem state after ctx ended: the write
// gets a bounded context of its own, and a failure is logged, not returned.
func (n *Notifier) emit(ctx context.Context, event string, data any) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := n.Notify(wctx, event, data); err != nil {
		n.log.Error("queue webhook", "event", event, "err", err)
	}
}

// MessageFinished is DispatcherConfig.OnFinished: message.sent or
// message.failed.
func (n *Notifier) MessageFinished(ctx context.Context, m *Message) {
	switch m.Status {
	case StatusSent:
		n.emit(ctx, EventMessageSent, NewMessageEventData(m))
	case StatusFailed:
		n.emit(ctx, EventMessageFailed, NewMessageEventData(m))
	}
}

// MessageReported is SupervisorConfig.OnReport: message.delivered, or
// message.failed when a report ended the message.
func (n *Notifier) MessageReported(ctx context.Context, m *Message) {
	switch m.Status {
	case StatusDelivered:
		n.emit(ctx, EventMessageDelivered, NewMessageEventData(m))
	case StatusFailed:
		n.emit(ctx, EventMessageFailed, NewMessageEventData(m))
	}
}

// InboundReceived is SupervisorConfig.OnInbound: sms.received, without the
// text when the sender is one of the gateway's own lines.
func (n *Notifier) InboundReceived(ctx context.Context, m *InboundMessage) {
	n.mu.Lock()
	own := n.own[lineKey(m.From)]
	n.mu.Unlock()
	n.emit(ctx, EventSMSReceived, NewInboundEventData(m, own))
}

// OTPApproved is OTPConfig.OnApproved: otp.approved, never with the code.
func (n *Notifier) OTPApproved(ctx context.Context, v *Verification) {
	n.emit(ctx, EventOTPApproved, NewOTPEventData(v))
}

// ModemChanged is SupervisorConfig.OnModem: modem.online when a modem comes
// online, modem.offline when it leaves that state (offline or error); the
// states between are no event. It also learns the modem's own number.
func (n *Notifier) ModemChanged(ctx context.Context, m ModemInfo) {
	now := m.State == ModemOnline
	n.mu.Lock()
	was := n.online[m.IMEI]
	n.online[m.IMEI] = now
	if k := lineKey(m.Number); k != "" {
		n.own[k] = true
	}
	n.mu.Unlock()
	switch {
	case now && !was:
		n.emit(ctx, EventModemOnline, NewModemEventData(m))
	case !now && was:
		n.emit(ctx, EventModemOffline, NewModemEventData(m))
	}
}

// lineKey is a number's last 8 digits, as delivery reports are matched
// (national and international forms of one line agree); "" for a number
// too short to tell.
func lineKey(number string) string {
	var b []byte
	for i := len(number) - 1; i >= 0 && len(b) < 8; i-- {
		if c := number[i]; c >= '0' && c <= '9' {
			b = append(b, c)
		}
	}
	if len(b) < 8 {
		return ""
	}
	slices.Reverse(b)
	return string(b)
}

// MessageEventData is a message as webhooks show it: never its text,
// which for an OTP holds the code.
type MessageEventData struct {
	ID       string `json:"id"`
	To       string `json:"to"`
	Status   Status `json:"status"`
	Segments int    `json:"segments"`
	Error    string `json:"error,omitempty"`
	Modem    string `json:"modem,omitempty"`
}

// NewMessageEventData takes what a webhook may show of m.
func NewMessageEventData(m *Message) MessageEventData {
	return MessageEventData{ID: m.ID, To: m.To, Status: m.Status, Segments: m.Segments, Error: m.Error, Modem: m.Modem}
}

// InboundEventData is a received SMS as webhooks show it.
type InboundEventData struct {
	ID           string    `json:"id"`
	From         string    `json:"from"`
	Text         string    `json:"text,omitempty"`
	TextWithheld bool      `json:"text_withheld,omitempty"`
	Modem        string    `json:"modem"`
	ReceivedAt   time.Time `json:"received_at"`
}

// NewInboundEventData takes what a webhook may show of m. fromOwnModem
// says the sender is one of the gateway's own lines: its text may then be
// a one-time code the gateway sent (a test of the gateway on itself, or
// the virtual modems of --sim), and a code never goes out in a webhook.
func NewInboundEventData(m *InboundMessage, fromOwnModem bool) InboundEventData {
	d := InboundEventData{ID: m.ID, From: m.From, Text: m.Text, Modem: m.Modem, ReceivedAt: m.ReceivedAt.UTC()}
	if fromOwnModem || IsSealedOTP(d.Text) || !utf8.ValidString(d.Text) {
		d.Text, d.TextWithheld = "", true
	}
	return d
}

// OTPEventData is a verification as webhooks show it: never the code.
type OTPEventData struct {
	ID     string `json:"id"`
	To     string `json:"to"`
	Status string `json:"status"`
}

// NewOTPEventData takes what a webhook may show of v.
func NewOTPEventData(v *Verification) OTPEventData {
	return OTPEventData{ID: v.ID, To: v.To, Status: v.PublicStatus()}
}

// ModemEventData is a modem's state change as webhooks show it.
type ModemEventData struct {
	IMEI      string     `json:"imei"`
	State     ModemState `json:"state"`
	Operator  string     `json:"operator,omitempty"`
	LastError string     `json:"last_error,omitempty"`
}

// NewModemEventData takes what a webhook may show of m.
func NewModemEventData(m ModemInfo) ModemEventData {
	return ModemEventData{IMEI: m.IMEI, State: m.State, Operator: m.Operator, LastError: m.LastError}
}
