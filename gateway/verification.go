package gateway

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Verification statuses (DESIGN.md §4). Blocked is internal: the API shows
// a blocked verification as pending, so that a client cannot tell which
// abuse limit refused a number.
const (
	OTPPending     = "pending"
	OTPApproved    = "approved"
	OTPExpired     = "expired"
	OTPMaxAttempts = "max_attempts_reached"
	OTPCanceled    = "canceled"
	OTPFailed      = "failed"
	OTPBlocked     = "blocked"
)

// OTP delivery channels.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
)

// Channel attempt states.
const (
	AttemptQueued    = "queued"    // the SMS is in the queue
	AttemptSent      = "sent"      // accepted by the SMSC or the mail server
	AttemptDelivered = "delivered" // the handset's delivery report said so
	AttemptFailed    = "failed"
)

// ChannelAttempt is one delivery of a code.
type ChannelAttempt struct {
	Channel   string    `json:"channel"`
	MessageID string    `json:"message_id,omitempty"` // the SMS, for channel sms
	Status    string    `json:"status"`
	Error     string    `json:"error,omitempty"`
	At        time.Time `json:"at"`
	// Modem and Route: the modem a router pinned the SMS to, and why.
	Modem string `json:"modem,omitempty"`
	Route string `json:"route,omitempty"`
	// Reroute marks the same code sent again through another modem
	// because the first SMS's report did not come in time.
	Reroute bool `json:"reroute,omitempty"`
}

// Verification is an OTP as the API shows it: never the code.
type Verification struct {
	ID           string
	To           string
	Channel      string
	Status       string // one of the OTP* statuses; Public gives the API's view
	Purpose      string
	Email        string
	ExpiresAt    time.Time
	CreatedAt    time.Time
	MessageID    string // the SMS carrying the current code ("" for email)
	AttemptsLeft int
	Sends        int
	Fallback     bool
	Channels     []ChannelAttempt
	BlockReason  string // why a blocked verification was refused; operators only
	OwnerKey     int64  // ID of the API key that started it; 0 = admin only
}

// PublicStatus is the status an API client sees: blocked shows as pending
// (or as max_attempts_reached once its checks are spent).
func (v *Verification) PublicStatus() string {
	if v.Status == OTPBlocked {
		if v.AttemptsLeft <= 0 {
			return OTPMaxAttempts
		}
		return OTPPending
	}
	return v.Status
}

// OTPRecord is a verification as the store keeps it. CodeHash is
// HMAC-SHA256(key, id ‖ code); CodeSealed is the code under AES-GCM, kept
// only while an email fallback may still need it. Both are emptied when the
// verification ends.
type OTPRecord struct {
	Verification
	CodeHash     []byte
	CodeSealed   []byte
	Length       int
	Attempts     int // wrong checks so far
	MaxAttempts  int
	MaxSends     int
	Template     string
	Locale       string
	Domain       string
	AppHash      string
	Country      string // ISO 3166 region of To, for stats
	Prefix       string // To without its last 4 digits, for velocity and the breaker
	APIKey       string
	LastSentAt   time.Time
	FallbackAt   time.Time // when an undelivered SMS falls back to email
	FallbackDone bool
	Watch        bool // Run still waits for the SMS's outcome
	FinishedAt   time.Time

	// QueueSMS, set by the function that creates or updates a record, is an
	// SMS the store commits in the same transaction as the record: a code
	// and the message that carries it exist together or not at all.
	QueueSMS *Message
	// CancelSMS names a queued SMS the store cancels in that transaction (a
	// code superseded or canceled before it left); one already sending or
	// final is left alone.
	CancelSMS string
}

// ClearSecrets drops what a finished verification must not keep: the code's
// hash and sealed copy; nothing is watched any more.
func (r *OTPRecord) ClearSecrets() {
	r.CodeHash, r.CodeSealed = nil, nil
	r.Watch = false
}

// OTPCounts are what the abuse limits need, read in the transaction that
// creates a verification so that a burst cannot slip past them.
type OTPCounts struct {
	NumberHour    int            // sends to the number in the last hour
	NumberDay     int            // … in the last 24 hours
	PrefixHour    int            // sends to the number's prefix in the last hour
	PrefixBlocked *BlockedPrefix // nil when the prefix is not blocked now
}

// BlockedPrefix is a number prefix the conversion breaker (or an operator)
// blocked until Until.
type BlockedPrefix struct {
	Prefix    string
	Reason    string
	Sends     int // verifications in the window that tripped the breaker
	Approvals int
	BlockedAt time.Time
	Until     time.Time
}

// PrefixConversion is how the codes sent to one prefix fared.
type PrefixConversion struct {
	Prefix        string
	Verifications int
	Approvals     int
}

// OTPStat is one day and country of OTP traffic.
type OTPStat struct {
	Day            time.Time // UTC midnight
	Country        string
	Verifications  int
	Sends          int
	Approvals      int
	Blocked        int
	ConversionRate float64 // approvals / verifications not blocked
	// Delivered counts the verifications whose SMS was delivered;
	// ToDelivered and ToApproved add up the times from the request to
	// the delivery report and to the approval, for means.
	Delivered               int
	ToDelivered, ToApproved time.Duration
}

// OTPStore is what the OTP service needs of storage, beside Store.
// Implemented by package store on SQLite.
type OTPStore interface {
	// CreateVerification runs, in one write transaction: it reads the
	// pending (or blocked) verification of (owner, to, purpose), if any, and the
	// counts at now, and calls decide. decide returns existing to keep it
	// (nothing is written) or a new record, which is inserted after the
	// existing one, if any, is canceled. Every send the new record counts is
	// logged for the limits.
	CreateVerification(ctx context.Context, now time.Time, owner int64, to, purpose, prefix string,
		decide func(existing *OTPRecord, c OTPCounts) (*OTPRecord, error)) (*OTPRecord, error)
	// Verification returns one verification; ErrNotFound when absent.
	Verification(ctx context.Context, id string) (*OTPRecord, error)
	// VerificationByMessage returns the verification whose current code
	// travels in message id; ErrNotFound when none.
	VerificationByMessage(ctx context.Context, messageID string) (*OTPRecord, error)
	// PendingVerification returns the newest pending or blocked
	// verification API key owner started for (to, purpose); ErrNotFound
	// when none.
	PendingVerification(ctx context.Context, owner int64, to, purpose string) (*OTPRecord, error)
	// UpdateVerification reads id in a write transaction and calls fn, which
	// changes the record in place; when fn returns true the change is
	// written (sends added are logged). An error from fn rolls back and is
	// returned as is.
	UpdateVerification(ctx context.Context, id string, fn func(r *OTPRecord) (bool, error)) (*OTPRecord, error)
	// WatchedVerifications returns up to limit verifications whose SMS
	// outcome Run still waits for.
	WatchedVerifications(ctx context.Context, limit int) ([]*OTPRecord, error)
	// ExpireVerifications ends pending and blocked verifications past their
	// expiry, dropping their code hashes.
	ExpireVerifications(ctx context.Context, now time.Time) (int, error)
	// PurgeVerifications deletes verifications that ended before before,
	// and the send log older than it.
	PurgeVerifications(ctx context.Context, before time.Time) (int, error)
	// OTPStats groups verifications created since since by UTC day and
	// country.
	OTPStats(ctx context.Context, since time.Time) ([]OTPStat, error)
	// PrefixConversion counts, per prefix, verifications created in
	// [from, to) that were not blocked, and their approvals.
	PrefixConversion(ctx context.Context, from, to time.Time) ([]PrefixConversion, error)
	// BlockPrefix records (or extends) a block.
	BlockPrefix(ctx context.Context, b BlockedPrefix) error
	// BlockedPrefixes lists the blocks still in force at now.
	BlockedPrefixes(ctx context.Context, now time.Time) ([]BlockedPrefix, error)
}

// Mail is one email message with a text and an HTML part.
type Mail struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Mailer sends email; package mailer implements it over SMTP.
type Mailer interface {
	SendMail(ctx context.Context, m Mail) error
}

// RetryAfterError refuses a request that may succeed after Wait (a resend
// within the cooldown, an API key over its rate): HTTP 429 with Retry-After.
type RetryAfterError struct {
	Wait   time.Duration
	Reason string
}

// Error says why and for how long.
func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%s; retry after %s", e.Reason, e.Wait.Round(time.Second))
}

// SealedOTPPrefix starts the body of an OTP message in the database: the
// text, which holds the code, is stored under AES-256-GCM and opened only
// when a worker claims it (package otp).
const SealedOTPPrefix = "otp-sealed:v1:"

// IsSealedOTP reports whether a stored message body is a sealed OTP text.
func IsSealedOTP(body string) bool { return strings.HasPrefix(body, SealedOTPPrefix) }
