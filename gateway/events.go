package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"
)

// Event types (DESIGN.md §3): the names of the event stream and of the
// webhooks, part of the external contract.
const (
	EventMessageQueued    = "message.queued"
	EventMessageSent      = "message.sent"
	EventMessageDelivered = "message.delivered"
	EventMessageFailed    = "message.failed"
	EventMessageExpired   = "message.expired"
	EventMessageCanceled  = "message.canceled"
	EventSMSReceived      = "sms.received"
	EventOTPApproved      = "otp.approved"
	EventOTPFailed        = "otp.failed"
	EventModemOnline      = "modem.online"
	EventModemOffline     = "modem.offline"
	// EventModemUpdated is a change of what the status page shows of a
	// modem other than going online or offline (signal bars, operator,
	// registration, last error). Internal: webhooks do not carry it.
	EventModemUpdated = "modem.updated"
)

// Event is one state change that matters, appended to the event log in the
// transaction that makes the change: if the change is committed, so is its
// event, and the other way round. Events of one subject (a message, a
// verification, a modem) are in the order of their changes.
type Event struct {
	Seq     int64  // position in the log, assigned by the store
	ID      string // "evt_" + 26 characters; stable: the webhook-id
	Type    string // one of the Event* types
	Subject string // the message, inbound message, verification or IMEI
	Data    json.RawMessage
	At      time.Time
}

// NewEvent builds an event of typ about subject with data as JSON.
func NewEvent(typ, subject string, data any, at time.Time) (Event, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("event %s: %w", typ, err)
	}
	return Event{ID: NewID("evt_", at), Type: typ, Subject: subject, Data: b, At: at}, nil
}

// MessageEvent is the event of m reaching its current status: queued, sent,
// delivered, failed, expired or canceled. ok is false for a status with no
// event (sending).
func MessageEvent(m *Message, at time.Time) (ev Event, ok bool, err error) {
	typ := map[Status]string{
		StatusQueued: EventMessageQueued, StatusSent: EventMessageSent, StatusDelivered: EventMessageDelivered,
		StatusFailed: EventMessageFailed, StatusExpired: EventMessageExpired, StatusCanceled: EventMessageCanceled,
	}[m.Status]
	if typ == "" {
		return Event{}, false, nil
	}
	ev, err = NewEvent(typ, m.ID, NewMessageEventData(m), at)
	return ev, err == nil, err
}

// EventLog is the event stream as stored. Appending belongs to the store's
// own transactions; readers go through it.
type EventLog interface {
	// EventsAfter returns up to limit events with Seq > seq, oldest first.
	EventsAfter(ctx context.Context, seq int64, limit int) ([]Event, error)
	// LastEventSeq is the Seq of the newest event; 0 when there is none.
	LastEventSeq(ctx context.Context) (int64, error)
	// EventCursor is how far a durable consumer has taken the log; 0 for a
	// consumer that has taken nothing yet. The consumer moves it in the
	// transaction that records what it did with the events.
	EventCursor(ctx context.Context, consumer string) (int64, error)
	// Appended returns a channel closed by the next commit that appends an
	// event. Take it before reading the log, wait on it after.
	Appended() <-chan struct{}
	// PruneEvents deletes events older than before that every durable
	// consumer has taken, and returns how many.
	PruneEvents(ctx context.Context, before time.Time) (int, error)
}

// EventRetention is how long the event log keeps an event every durable
// consumer has taken.
const EventRetention = 7 * 24 * time.Hour

// Signal is a broadcast wake-up: Notify wakes every goroutine waiting on a
// channel C returned before it. The store notifies after each commit that
// appended events; readers of the log wait on it instead of polling.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// NewSignal returns a Signal nobody has been woken by yet.
func NewSignal() *Signal { return &Signal{ch: make(chan struct{})} }

// C returns the channel the next Notify closes. Take it before looking at
// the state it guards, so that a change between the look and the wait is
// not missed.
func (s *Signal) C() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

// Notify wakes every waiter. A nil Signal does nothing.
func (s *Signal) Notify() {
	if s == nil {
		return
	}
	s.mu.Lock()
	close(s.ch)
	s.ch = make(chan struct{})
	s.mu.Unlock()
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
	// StatusReport tells whether a delivery report was asked for: only
	// then does a message.delivered follow message.sent.
	StatusReport bool `json:"status_report"`
}

// NewMessageEventData takes what a webhook may show of m.
func NewMessageEventData(m *Message) MessageEventData {
	return MessageEventData{ID: m.ID, To: m.To, Status: m.Status, Segments: m.Segments, Error: m.Error, Modem: m.Modem,
		StatusReport: m.StatusReport}
}

// InboundEventData is a received SMS as webhooks show it.
type InboundEventData struct {
	ID           string `json:"id"`
	From         string `json:"from"`
	Text         string `json:"text,omitempty"`
	TextWithheld bool   `json:"text_withheld,omitempty"`
	// Data is the payload of a data SMS (base64 in JSON), in place of Text.
	Data []byte `json:"data,omitempty"`
	// Port and SourcePort are its application ports, absent when it had none.
	Port       *int `json:"port,omitempty"`
	SourcePort *int `json:"source_port,omitempty"`
	// Flash is a class 0 SMS.
	Flash bool `json:"flash,omitempty"`
	// Undecodable is an SMS whose PDU did not decode: it has no text, and
	// the inbox keeps its PDU and the reason.
	Undecodable bool      `json:"undecodable,omitempty"`
	Modem       string    `json:"modem"`
	ReceivedAt  time.Time `json:"received_at"`
}

// NewInboundEventData takes what a webhook may show of m. fromOwnModem
// says the sender is one of the gateway's own lines: its text may then be
// a one-time code the gateway sent (a test of the gateway on itself, or
// the virtual modems of --sim), and a code never goes out in a webhook.
func NewInboundEventData(m *InboundMessage, fromOwnModem bool) InboundEventData {
	d := InboundEventData{ID: m.ID, From: m.From, Text: m.Text, Data: m.Data, Flash: m.Flash,
		Modem: m.Modem, ReceivedAt: m.ReceivedAt.UTC()}
	if p := m.Ports; p != nil {
		dest, src := p.Dest, p.Source
		d.Port, d.SourcePort = &dest, &src
	}
	if fromOwnModem || IsSealedOTP(d.Text) || !utf8.ValidString(d.Text) {
		d.Text, d.Data, d.TextWithheld = "", nil, true
	}
	d.Undecodable = m.Undecodable()
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
