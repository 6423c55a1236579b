package apiv1

import (
	"encoding/json"
	"time"
)

// Message statuses, as Message.Status and Part.Status show them.
const (
	StatusQueued    = "queued"
	StatusSending   = "sending"
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
	StatusExpired   = "expired"
	StatusCanceled  = "canceled"
)

// SendRequest is the body of POST /api/v1/messages.
type SendRequest struct {
	To   string `json:"to"`
	Text string `json:"text,omitempty"`
	// Data makes a data SMS instead of a text: its bytes in base64 (RFC 4648,
	// standard or URL alphabet, padding optional), sent as 8-bit user data.
	// Give text or data, not both.
	Data string `json:"data,omitempty"`
	// Port is the destination application port (0–65535) written in every
	// segment's header (the source port is 0), as Android's sendDataMessage.
	Port *int `json:"port,omitempty"`
	// Flash sends the SMS in class 0: the handset shows it at once and does
	// not store it. Any alphabet.
	Flash bool `json:"flash,omitempty"`
	// Priority is "high", "normal" or "low"; absent means normal.
	Priority string `json:"priority,omitempty"`
	// Modem is the IMEI to send from; absent means any.
	Modem string `json:"modem,omitempty"`
	// StatusReport asks for a delivery report; absent (null) means true.
	StatusReport *bool `json:"status_report,omitempty"`
	// TTL is how long the message may wait in the queue before it expires:
	// a JSON integer of seconds (3600), or a string holding either seconds
	// ("3600") or a Go duration ("1h", "90m", "1h30m"). 0 or absent: no
	// limit.
	TTL json.RawMessage `json:"ttl,omitempty"`
	// SendAt is an RFC 3339 time before which the message is not sent.
	SendAt string `json:"send_at,omitempty"`
}

// SendResponse is the 202 answer to POST /api/v1/messages.
type SendResponse struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	To       string `json:"to"` // E.164
	Segments int    `json:"segments"`
	Encoding string `json:"encoding"` // "gsm7", "ucs2" or "8bit" (data)
}

// Message is a message as GET, DELETE and the list show it.
type Message struct {
	ID           string     `json:"id"`
	Status       string     `json:"status"`
	To           string     `json:"to"`
	Text         string     `json:"text"`
	TextPurged   bool       `json:"text_purged,omitempty"` // the text (or data) was removed by retention; the rest is kept
	Data         []byte     `json:"data,omitempty"`        // a data SMS's bytes, base64
	Port         *int       `json:"port,omitempty"`        // its destination application port
	Flash        bool       `json:"flash,omitempty"`
	Segments     int        `json:"segments"`
	Encoding     string     `json:"encoding"`
	Modem        *string    `json:"modem"`
	Route        string     `json:"route,omitempty"` // why the router chose its modem (OTP SMS)
	Priority     string     `json:"priority"`
	StatusReport bool       `json:"status_report"`
	CreatedAt    *time.Time `json:"created_at"`
	SendAt       *time.Time `json:"send_at"`
	ExpiresAt    *time.Time `json:"expires_at"`
	SentAt       *time.Time `json:"sent_at"`
	DeliveredAt  *time.Time `json:"delivered_at"`
	Error        string     `json:"error,omitempty"`
	Parts        []Part     `json:"parts"`
}

// Part is one segment of a message. MR is the TP-Message-Reference the
// network gave it, null until +CMGS answered.
type Part struct {
	Index       int        `json:"index"`
	Status      string     `json:"status"`
	MR          *int       `json:"mr"`
	SentAt      *time.Time `json:"sent_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
	Error       string     `json:"error,omitempty"`
}

// MessageList is a page of GET /api/v1/messages, newest first. NextCursor
// is null on the last page.
type MessageList struct {
	Messages   []Message `json:"messages"`
	NextCursor *string   `json:"next_cursor"`
}
