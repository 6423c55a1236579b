package apiv1

import (
	"encoding/json"
	"time"
)

// Verification statuses, as the OTP answers show them. A wrong code leaves
// a verification pending.
const (
	OTPPending            = "pending"
	OTPApproved           = "approved"
	OTPExpired            = "expired"
	OTPMaxAttemptsReached = "max_attempts_reached"
	OTPCanceled           = "canceled"
	OTPFailed             = "failed"
)

// OTPSendRequest is the body of POST /api/v1/otp.
type OTPSendRequest struct {
	To     string `json:"to,omitempty"`
	Length int    `json:"length,omitempty"`
	// TTL is seconds or a duration string, as SendRequest.TTL.
	TTL      json.RawMessage `json:"ttl,omitempty"`
	Template string          `json:"template,omitempty"`
	Locale   string          `json:"locale,omitempty"`
	Domain   string          `json:"domain,omitempty"`
	AppHash  string          `json:"app_hash,omitempty"`
	Purpose  string          `json:"purpose,omitempty"`
	Channel  string          `json:"channel,omitempty"` // "sms" (default) or "email"
	Email    string          `json:"email,omitempty"`
	Fallback bool            `json:"fallback,omitempty"`
}

// OTPSendResponse is the 201 answer to POST /api/v1/otp.
type OTPSendResponse struct {
	ID        string    `json:"id"`
	To        string    `json:"to"`
	Status    string    `json:"status"`
	Channel   string    `json:"channel"`
	ExpiresAt time.Time `json:"expires_at"`
	MessageID *string   `json:"message_id"`
}

// OTPCheckRequest is the body of POST /api/v1/otp/{id}/check (Code only)
// and of POST /api/v1/otp/check (Code, To and Purpose).
type OTPCheckRequest struct {
	Code    string `json:"code"`
	To      string `json:"to,omitempty"`
	Purpose string `json:"purpose,omitempty"`
}

// OTPCheckResponse is the 200 answer to a check.
type OTPCheckResponse struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	AttemptsLeft int    `json:"attempts_left"`
}

// Verification is a verification as GET, resend and DELETE of
// /api/v1/otp/{id} show it: never the code.
type Verification struct {
	ID           string    `json:"id"`
	To           string    `json:"to"`
	Status       string    `json:"status"`
	Channel      string    `json:"channel"`
	Purpose      string    `json:"purpose"`
	ExpiresAt    time.Time `json:"expires_at"`
	CreatedAt    time.Time `json:"created_at"`
	MessageID    *string   `json:"message_id"`
	AttemptsLeft int       `json:"attempts_left"`
	Sends        int       `json:"sends"`
	Fallback     bool      `json:"fallback"`
	Channels     []Attempt `json:"channels"`
}

// Attempt is one delivery of a verification's code, by SMS or email.
type Attempt struct {
	Channel   string    `json:"channel"`
	MessageID *string   `json:"message_id,omitempty"`
	Status    string    `json:"status"`
	Error     string    `json:"error,omitempty"`
	At        time.Time `json:"at"`
	Modem     string    `json:"modem,omitempty"`   // the modem the router chose for this SMS
	Route     string    `json:"route,omitempty"`   // why
	Reroute   bool      `json:"reroute,omitempty"` // the same code again, through another modem
}
