package gateway

import (
	"context"
	"encoding/json"
	"time"
)

// MessageCallback is a compatibility adapter's request to be called back
// about a message (Kannel's dlr-url and dlr-mask): committed with the
// message, in its transaction, so that no event of the message can happen
// before it is there to be found. The core does not read Data; the adapter
// named by Kind does, as it follows the event stream.
type MessageCallback struct {
	Kind string          // the adapter that reads it, e.g. "kannel"
	Data json.RawMessage // what it needs, as JSON
}

// Callback row statuses: those of the webhook outbox.
const (
	CallbackPending   = WebhookPending
	CallbackDelivered = WebhookDelivered
	CallbackFailed    = WebhookFailed
)

// CallbackDelivery is one row of the callback outbox: a GET of URL, made
// because of the event EventID (at most one row per event and kind).
type CallbackDelivery struct {
	ID          string // "cb_" + 26 characters
	EventID     string
	Kind        string
	MessageID   string
	URL         string
	Status      string
	Attempts    int
	NextAttempt time.Time
	LastError   string
	CreatedAt   time.Time
}

// CallbackStore keeps what the callbacks need: each message's request and
// the durable outbox of the calls it made.
type CallbackStore interface {
	// MessageCallbacks returns the callback data of kind of the messages
	// among ids that have one, by message ID.
	MessageCallbacks(ctx context.Context, kind string, ids []string) (map[string]json.RawMessage, error)
	// EnqueueCallbacks adds the rows, pending and due at their
	// NextAttempt, at most one per (event, kind) however often it is
	// called, and moves consumer's cursor in the event log to upTo, in one
	// transaction. It returns how many rows it added.
	EnqueueCallbacks(ctx context.Context, consumer string, upTo int64, rows []CallbackDelivery) (int, error)
	// DueCallbacks returns up to limit pending rows due at now, oldest due
	// first.
	DueCallbacks(ctx context.Context, now time.Time, limit int) ([]CallbackDelivery, error)
	// FinishCallback records an attempt: status, attempts, next attempt
	// (for pending) and the last error.
	FinishCallback(ctx context.Context, c CallbackDelivery) error
	// PruneCallbacks deletes finished rows made before before, and returns
	// how many.
	PruneCallbacks(ctx context.Context, before time.Time) (int, error)
}
