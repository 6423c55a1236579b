package gateway

import (
	"context"
	"time"
)

// WebhookEvents lists every event an endpoint may subscribe to.
var WebhookEvents = []string{
	EventMessageQueued, EventMessageSent, EventMessageDelivered, EventMessageFailed,
	EventMessageExpired, EventMessageCanceled, EventSMSReceived,
	EventOTPApproved, EventOTPFailed, EventModemOffline, EventModemOnline, EventModemBalanceLow,
}

// Webhook formats: how an endpoint's webhooks are shaped and signed.
const (
	WebhookStandard = "standard" // Standard Webhooks: {type, timestamp, data}, webhook-signature
	WebhookSMSGate  = "smsgate"  // SMSGate's envelope, X-Signature and X-Timestamp
)

// Variants of sms.received that an endpoint may subscribe to instead of
// the whole event (SMSGate's sms:received and sms:data-received): a text
// SMS, or a data SMS (8-bit, to a port).
const (
	EventSMSReceivedText = "sms.received.text"
	EventSMSReceivedData = "sms.received.data"
)

// EventVariants lists the variants an endpoint may subscribe to besides
// WebhookEvents.
var EventVariants = []string{EventSMSReceivedText, EventSMSReceivedData}

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
	// OwnerKey is the ID of the API key that registered it (0: before keys
	// owned endpoints; admin only). AllEvents is false for an endpoint of
	// a key that is not admin: it gets message and OTP events of its own
	// key's messages and verifications only.
	OwnerKey  int64
	AllEvents bool
	// Format is how its webhooks are shaped and signed: WebhookStandard
	// or another the Notifier was given a Formatter for (WebhookSMSGate).
	Format string
	// ExternalID is the ID the client knows the endpoint by, when it chose
	// one (SMSGate lets it); "" when it knows it by ID.
	ExternalID string
	// ParkedUntil is when the Notifier's breaker lets the endpoint be
	// tried again after it gave no answer too often; zero when it is not
	// parked. It is the Notifier's memory, not stored.
	ParkedUntil time.Time
}

// WebhookDelivery is one outbox row: one event for one endpoint. EventID
// is the webhook-id header: the event's own ID, the same on every attempt
// and after a crash, so that a receiver can drop a repeat.
type WebhookDelivery struct {
	ID          string // the row: "evt_" + 26 characters
	EventID     string // the event it delivers
	Endpoint    string
	URL         string // the endpoint's, joined when due
	Secret      string // the endpoint's, joined when due
	Format      string // the endpoint's, joined when due
	ExternalID  string // the endpoint's, joined when due
	Event       string
	Payload     []byte
	Status      string
	Attempts    int
	NextAttempt time.Time
	LastError   string
	CreatedAt   time.Time
}

// OutboxEvent is an event ready for the outbox: the body every endpoint
// subscribed to it receives.
type OutboxEvent struct {
	Event
	Payload []byte
	// Variant is the event's narrower name (EventVariants) that endpoints
	// may subscribe to instead of its Type; "" when it has none.
	Variant string
}

// WebhookStore is the Notifier's storage: endpoints and a durable outbox.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, e WebhookEndpoint) error
	// Webhooks lists the live endpoints, oldest first.
	Webhooks(ctx context.Context) ([]WebhookEndpoint, error)
	// DeleteWebhook disables a live endpoint and fails its pending rows;
	// ErrNotFound for an unknown or already deleted one.
	DeleteWebhook(ctx context.Context, id string, now time.Time) error
	// EnqueueEvents adds, in one transaction, a pending row due at now for
	// each event and each live endpoint subscribed to its type that existed
	// when the event happened — at most one per (endpoint, event), however
	// often it is called — and moves consumer's cursor in the event log to
	// upTo. It returns how many rows it added.
	EnqueueEvents(ctx context.Context, consumer string, upTo int64, events []OutboxEvent, now time.Time) (int, error)
	// DueWebhooks returns pending rows of live endpoints due at now: the
	// oldest perEndpoint of each endpoint, at most limit in all, every
	// endpoint's first before any endpoint's second (round-robin), so one
	// endpoint's backlog cannot crowd out another's rows.
	DueWebhooks(ctx context.Context, now time.Time, perEndpoint, limit int) ([]WebhookDelivery, error)
	// FinishWebhook records an attempt: status, attempts, next attempt (for
	// pending) and the last error.
	FinishWebhook(ctx context.Context, d WebhookDelivery) error
	// WebhookSecrets returns every live endpoint's stored (sealed) secret
	// by ID.
	WebhookSecrets(ctx context.Context) (map[string]string, error)
	// SetWebhookSecret replaces a live endpoint's stored secret when it is
	// still old; ErrNotFound otherwise.
	SetWebhookSecret(ctx context.Context, id, old, secret string) error
}
