package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Status is the state of a message or of one of its parts (DESIGN.md §4).
type Status string

// Message and part states. A part goes queued → sending → sent →
// delivered | failed, and back to queued on a retryable error; a message's
// status is derived from its parts.
const (
	StatusQueued    Status = "queued"
	StatusSending   Status = "sending"
	StatusSent      Status = "sent"
	StatusDelivered Status = "delivered"
	StatusFailed    Status = "failed"
	StatusExpired   Status = "expired"
	StatusCanceled  Status = "canceled"
)

// Final reports whether no further transition can happen.
func (s Status) Final() bool {
	switch s {
	case StatusDelivered, StatusFailed, StatusExpired, StatusCanceled:
		return true
	}
	return false
}

// Priority orders the queue: OTP goes high and never waits behind bulk.
type Priority int

// Priorities, stored as integers so that ORDER BY priority DESC works.
const (
	PriorityLow    Priority = 0
	PriorityNormal Priority = 1
	PriorityHigh   Priority = 2
)

// Message is one outbound SMS, possibly of several parts.
type Message struct {
	ID       string // "msg_" + 26 Crockford base32 characters, time-ordered
	To       string // E.164
	Text     string
	Encoding string // "gsm7" | "ucs2" | "8bit"
	Segments int
	// Data is the 8-bit payload of a data message (Encoding "8bit"),
	// sent instead of Text; nil for a text message.
	Data []byte
	// Ports is the application port addressing of every segment; nil for none.
	Ports *Ports
	// Flash sends the message in class 0: shown at once, not stored.
	Flash bool
	// UDH is a caller's user data header with its length octet (Kannel's
	// udh), written first in every segment; nil for none.
	UDH []byte
	// Validity is the TP-VP the SMSC keeps the message for; 0 takes it from
	// ExpiresAt as before. The send uses the shorter of the two.
	Validity     time.Duration
	Priority     Priority
	Pin          string // IMEI of the only modem allowed to send it; "" for any
	Route        string // why a router pinned it there (RouteDecision.Reason); "" when none chose
	StatusReport bool   // request delivery reports (TP-SRR)
	Status       Status
	Error        string // reason of the last failure, for people
	Attempts     int    // claims that ended in an error
	ConcatRef    int    // concatenation reference, fixed at enqueue (0–255)
	Modem        string // IMEI of the modem that sent (or is sending) it
	APIKey       string // name of the API key that submitted it, for audit
	OwnerKey     int64  // ID of that key: only it (and admin) sees the message; 0 = admin only

	CreatedAt   time.Time
	SendAt      time.Time // not before; zero = now
	ExpiresAt   time.Time // zero = never; a queued message past it becomes expired
	NextAttempt time.Time // retry backoff; zero = now
	SentAt      time.Time // every part accepted by the SMSC
	DeliveredAt time.Time // every part delivered
	FinishedAt  time.Time // reached a final status
	// TextPurgedAt is when retention blanked Text; zero while it is kept.
	TextPurgedAt time.Time
	// LeaseUntil is when the claim that returned the message ends; it is
	// also the claim's fencing token (WithLease).
	LeaseUntil time.Time
	// Sealed is set on a claimed message whose text was sealed at rest (an
	// OTP's, opened for the send): its PDUs are secret (WithSecretPDU).
	Sealed bool
	// Callback is an adapter's callback request, committed with the
	// message by CreateMessage; nil when none (and on messages read back).
	Callback *MessageCallback

	Parts []Part
}

// Ports is application port addressing (TS 23.040 §9.2.3.24.3/.4): the
// handset application a data SMS is for, 0–65535 each.
type Ports struct {
	Dest   int
	Source int // 0 when the sender gives none
}

// Part is one segment of a Message.
type Part struct {
	Index       int // 1-based
	Status      Status
	MR          int // TP-MR answered by +CMGS; valid when HasMR
	HasMR       bool
	Modem       string // IMEI that sent this part
	SentAt      time.Time
	DeliveredAt time.Time // when the status report said delivered
	ReportCode  int       // last TP-Status, -1 when none
	Error       string
}

// IdempotencyKey scopes an Idempotency-Key header to the API key that sent it.
type IdempotencyKey struct {
	APIKey string // name of the API key
	Key    string // the header value; "" when none
	Hash   string // hash of the request body, to refuse a reused key with another body
}

// MessageFilter selects messages for listing, newest first: the API's list
// and the status page's log are one query. Pages follow a Cursor (a client
// walking the whole log) or an Offset (an admin jumping to a page).
type MessageFilter struct {
	Status Status    // "" = any
	To     string    // E.164, exactly; "" = any
	Modem  string    // IMEI of the sending modem; "" = any
	Number string    // digits the recipient contains; "" = any
	Text   string    // substring of the body; "" = any
	From   time.Time // created at or after; zero = no bound
	Until  time.Time // created before; zero = no bound
	Limit  int       // 1–500
	Cursor string    // opaque, from a previous page; "" = first page
	Offset int       // rows to skip, for a page by number
	Owner  int64     // only the messages of this API key ID; 0 = every key's (Caller.OwnerFilter)
}

// Claim is a worker's request for the next message to send.
type Claim struct {
	Modem string // the claiming modem's IMEI
	Now   time.Time
	Lease time.Duration // how long the claim holds before another worker may take it
}

// Report is a delivery report (SMS-STATUS-REPORT) to match to a part.
type Report struct {
	Modem     string // IMEI of the modem that received it
	MR        int
	Recipient string // as the SMSC printed it; matched on trailing digits
	Code      int    // TP-Status
	Class     string // "delivered" | "pending" | "failed"
	At        time.Time
	Window    time.Duration // how far back to look for the part (MR wraps at 256)
}

// InboundPart is one received SMS-DELIVER, stored raw before anything else,
// so that the parts of a concatenated message straddling a restart still join.
type InboundPart struct {
	ID         int64 // assigned by the store
	Modem      string
	From       string
	PDU        string // hex as the modem printed it
	Ref        int    // 0 when not concatenated
	Part       int    // 1 when not concatenated
	Total      int    // 1 when not concatenated
	RefBits    int    // 8 or 16; 0 when not concatenated
	SCTS       time.Time
	ReceivedAt time.Time
	// TextPurgedAt is when retention blanked Text; zero while it is kept.
	TextPurgedAt time.Time
}

// InboundMessage is a received SMS, joined from its parts.
type InboundMessage struct {
	ID    string // "in_" + 26 characters, time-ordered
	Modem string
	From  string
	Text  string
	// Data is the payload of a data SMS (8-bit), joined across its parts;
	// nil for a text SMS, whose content is Text.
	Data []byte
	// Ports is the application port addressing it came with; nil for none.
	Ports *Ports
	// Flash is a class 0 SMS (shown at once by a handset).
	Flash      bool
	Parts      int
	Missing    int // parts that never came (an incomplete set given up on)
	SCTS       time.Time
	ReceivedAt time.Time
	// TextPurgedAt is when retention blanked Text; zero while it is kept.
	TextPurgedAt time.Time
	// RawPDU is the hex of a received PDU that did not decode, kept in
	// place of Text, and DecodeError the decoder's reason; both are empty
	// for a decoded message.
	RawPDU      string
	DecodeError string
}

// Undecodable reports whether m is a PDU that did not decode, kept raw.
func (m *InboundMessage) Undecodable() bool { return m.DecodeError != "" }

// ModemInfo is what the gateway knows about a modem, by IMEI.
type ModemInfo struct {
	IMEI string
	// Host is the gateway host that drives the modem, when several share a
	// PostgreSQL database; "" on a single host. The store fills it in.
	Host string
	// HostSeenAt is when Host last said it was alive (its heartbeat), on a
	// shared database; zero on a single host, or for a host that never did.
	HostSeenAt   time.Time
	Port         string
	Manufacturer string
	Model        string
	Revision     string
	IMSI         string
	ICCID        string
	Number       string
	Operator     string
	Registration string // modem.RegState names
	Roaming      bool
	CSQ          int
	DBM          int
	Bars         int
	SignalKnown  bool
	State        ModemState
	LastError    string
	LastErrorAt  time.Time
	// LastEscalation is the last step taken to bring the modem back from
	// a hang ("resync", "cfun_reset", "reopen", "usb_reset", "found"), ""
	// when none ever was; LastEscalationAt is when.
	LastEscalation   string
	LastEscalationAt time.Time
	UpdatedAt        time.Time
	// Balance is the last balance check's reading; nil when none was made.
	// Only the balance check writes it (Store.RecordBalance); UpsertModem
	// leaves it alone.
	Balance *Balance
}

// ModemState is a modem's health as the status page and /api/v1/modems show it.
type ModemState string

// Modem states.
const (
	ModemOnline        ModemState = "online"
	ModemOffline       ModemState = "offline"
	ModemNoSIM         ModemState = "no_sim"
	ModemPINRequired   ModemState = "pin_required"
	ModemNotRegistered ModemState = "not_registered"
	ModemError         ModemState = "error"
)

// ModemCounters are a modem's sends for one day.
type ModemCounters struct {
	QueueDepth int // queued messages pinned to it, plus unpinned ones (shared)
	Sent       int // parts sent today
	Failed     int // messages failed today
}

// APIKey is an API client's credential; only its hash is stored.
type APIKey struct {
	ID        int64
	Name      string
	Hash      string // hex SHA-256 of the key
	Scopes    []string
	CreatedAt time.Time
	LastUsed  time.Time
	RevokedAt time.Time
}

// Errors callers branch on; the store returns them wrapped.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict") // e.g. cancel of a message already sending
	// ErrLeaseLost means the claim the work belongs to ran out and another
	// worker (maybe on another host) took the message over: what the first
	// would record is refused, so it never overwrites the new owner's
	// outcome. It wraps ErrConflict.
	ErrLeaseLost         = fmt.Errorf("lease lost to another worker: %w", ErrConflict)
	ErrIdempotencyReused = errors.New("idempotency key reused with a different request")
	ErrInvalid           = errors.New("invalid") // wrapped by *ValidationError
	ErrUnauthorized      = errors.New("unauthorized")
	// ErrStorageFull means the store cannot write (the disk is full):
	// nothing was changed, and the same request may succeed later.
	ErrStorageFull = errors.New("storage full")
	// ErrAlreadyStored means a received PDU was committed before (it was
	// read again after a crash or a failed delete): nothing was saved, and
	// the modem's copy may go. It wraps ErrConflict.
	ErrAlreadyStored = fmt.Errorf("already stored: %w", ErrConflict)
	// ErrStoreBusy means the database did not answer in time: a lock held
	// too long (by a host that froze in the middle of a write, say) or a
	// statement past its timeout. Nothing was changed; the same request
	// may succeed a moment later.
	ErrStoreBusy = errors.New("store busy")
)

// Store persists everything the gateway owns, one port per concern, so that
// a store can be built and tested a port at a time and each component
// names only the ports it uses. Times are passed in: a store never reads a
// clock. Implemented by package store on SQLite.
type Store interface {
	Queue
	Reports
	Inbox
	Modems
	Keys
	// Writable is nil while the store can write, ErrStorageFull after a
	// write failed for lack of space until one succeeds again (it tries a
	// small write itself to find out).
	Writable(ctx context.Context) error
}

// Queue is the outbound queue: messages from accepted to final.
type Queue interface {
	// CreateMessage commits m (ID, parts and CreatedAt set by the caller).
	// With a non-empty idem.Key already used by the same API key it returns
	// the existing message and true, or ErrIdempotencyReused when the body
	// hash differs.
	CreateMessage(ctx context.Context, m *Message, idem IdempotencyKey) (*Message, bool, error)
	Message(ctx context.Context, id string) (*Message, error)
	Messages(ctx context.Context, f MessageFilter) (msgs []*Message, next string, err error)
	// CancelMessage cancels a queued message (ErrConflict once it is sending
	// or final).
	CancelMessage(ctx context.Context, id string, now time.Time) (*Message, error)
	// KeyMessagesSince counts the messages API key key queued since since,
	// for its daily quota.
	KeyMessagesSince(ctx context.Context, key int64, since time.Time) (int, error)

	// ClaimNext picks, in one UPDATE … RETURNING, the next message c.Modem
	// may send — pinned to it or unpinned; status queued; send_at,
	// next_attempt and expiry respected; by priority then age — marks it
	// sending with a lease until c.Now+c.Lease, and returns it with its
	// parts. A message whose lease expired (a crash mid-send) is claimable
	// again. nil, nil when there is none.
	ClaimNext(ctx context.Context, c Claim) (*Message, error)
	// PartSent records a part's TP-MR the moment +CMGS answers.
	PartSent(ctx context.Context, id string, part int, modem string, mr int, now time.Time) error
	// PartUnknown records a part handed to modem whose outcome is unknown
	// (ErrSendUnknown) and that is not to be sent again: sent, without an
	// MR, with reason as its error and the message's.
	PartUnknown(ctx context.Context, id string, part int, modem, reason string, now time.Time) error
	// Sent marks a claimed message sent once every part is. Without a status
	// report request, sent is as far as it goes.
	Sent(ctx context.Context, id string, now time.Time) error
	// LastPartSent is PartSent for the last unsent part, then Sent, in one
	// write: a single-part message is recorded sent with one commit.
	LastPartSent(ctx context.Context, id string, part int, modem string, mr int, now time.Time) error
	// Retry returns a claimed message to the queue for another attempt at
	// next, releasing its lease; countAttempt is false when the message was
	// not at fault (the modem went away, shutdown). Parts already sent keep
	// their MR and are not sent again.
	Retry(ctx context.Context, id string, next time.Time, reason string, countAttempt bool) error
	// Fail ends a message (and its unsent parts) as failed with reason.
	Fail(ctx context.Context, id string, reason string, now time.Time) error
	// ExpireDue turns queued messages past their expiry into expired.
	ExpireDue(ctx context.Context, now time.Time) (int, error)
	// NextDue is the earliest time after now at which a queued message
	// becomes claimable (send_at, next_attempt, lease end); zero if none.
	NextDue(ctx context.Context, now time.Time) (time.Time, error)
}

// Reports matches delivery reports to the parts they are about.
type Reports interface {
	// ApplyReport matches r to the newest open part sent by r.Modem with
	// r.MR to r.Recipient within r.Window, records it and updates the
	// message; ErrNotFound when nothing matches.
	ApplyReport(ctx context.Context, r Report) (*Message, error)
	// PartLateMR gives mr to the newest part modem sent at or after since
	// whose outcome was unknown (sent without an MR), so that its report
	// can match, and clears the error that said so; it returns the part.
	// ErrNotFound when there is none (an OTP part of unknown outcome is
	// sent again rather than recorded).
	PartLateMR(ctx context.Context, modem string, mr int, since time.Time) (id string, part int, err error)
}

// Inbox is received SMS: raw parts first, then joined messages.
type Inbox interface {
	// AddInboundPart stores a received part (a duplicate of one already held
	// is ignored) and returns every part held for the same (modem, from,
	// ref, total, bits) set, this one included.
	AddInboundPart(ctx context.Context, p InboundPart) ([]InboundPart, error)
	// SaveInbound commits a joined message and drops the parts it consumed.
	// An undecodable PDU (DecodeError set, no parts) is saved once per modem
	// within the week consumed parts are kept: the same PDU again returns
	// ErrAlreadyStored.
	SaveInbound(ctx context.Context, m *InboundMessage, parts []int64) error
	// StaleInboundParts returns held parts older than before, for sets that
	// will never complete.
	StaleInboundParts(ctx context.Context, before time.Time) ([]InboundPart, error)
	Inbox(ctx context.Context, since time.Time, limit int) ([]*InboundMessage, error)
}

// Modems is what is known of each modem, by IMEI, and what it sent.
type Modems interface {
	UpsertModem(ctx context.Context, m ModemInfo) error
	Modems(ctx context.Context) ([]ModemInfo, error)
	ModemCounters(ctx context.Context, imei string, dayStart time.Time) (ModemCounters, error)
	// SentSince counts parts a modem sent since t, for its daily cap.
	SentSince(ctx context.Context, imei string, t time.Time) (int, error)
}

// Keys are the API clients' credentials.
type Keys interface {
	CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error)
	APIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	APIKeys(ctx context.Context) ([]APIKey, error)
	RevokeAPIKey(ctx context.Context, name string, now time.Time) error
	TouchAPIKey(ctx context.Context, id int64, now time.Time) error
}
