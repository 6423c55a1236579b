package smsgate

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/webhook"
)

// envelope is the body of SMSGate's webhooks.
type envelope struct {
	DeviceID  string `json:"deviceId"`
	Event     string `json:"event"`
	ID        string `json:"id"`
	Payload   any    `json:"payload"`
	WebhookID string `json:"webhookId"`
}

// Payloads of the events, with SMSGate's field names.
type (
	receivedPayload struct {
		MessageID   string `json:"messageId"`
		Message     string `json:"message"`
		PhoneNumber string `json:"phoneNumber"`
		SimNumber   *int   `json:"simNumber"`
		ReceivedAt  string `json:"receivedAt"`
	}
	dataReceivedPayload struct {
		MessageID   string `json:"messageId"`
		Data        string `json:"data"` // base64
		PhoneNumber string `json:"phoneNumber"`
		SimNumber   *int   `json:"simNumber"`
		ReceivedAt  string `json:"receivedAt"`
	}
	sentPayload struct {
		MessageID   string `json:"messageId"`
		PhoneNumber string `json:"phoneNumber"`
		SimNumber   *int   `json:"simNumber"`
		PartsCount  int    `json:"partsCount"`
		SentAt      string `json:"sentAt"`
	}
	deliveredPayload struct {
		MessageID   string `json:"messageId"`
		PhoneNumber string `json:"phoneNumber"`
		SimNumber   *int   `json:"simNumber"`
		DeliveredAt string `json:"deliveredAt"`
	}
	failedPayload struct {
		MessageID   string `json:"messageId"`
		PhoneNumber string `json:"phoneNumber"`
		SimNumber   *int   `json:"simNumber"`
		FailedAt    string `json:"failedAt"`
		Reason      string `json:"reason"`
	}
)

// standardBody is the outbox's payload: the Standard Webhooks body.
type standardBody struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// ModemList is where the formatter finds the modems, to number them as
// simNumber does; the store is one.
type ModemList interface {
	Modems(ctx context.Context) ([]gateway.ModemInfo, error)
}

// NewFormatter shapes the outbox's rows for SMSGate endpoints; give it to
// the Notifier as webhook.Config.Formats[gateway.WebhookSMSGate]. It reads
// a message's group from groups and the modems from modems.
func NewFormatter(groups gateway.Groups, modems ModemList) webhook.Formatter {
	return formatter{groups, modems}
}

type formatter struct {
	group  gateway.Groups
	modems ModemList
}

// Format makes SMSGate's envelope of d, signed with X-Signature: the hex
// HMAC-SHA256 of the body followed by X-Timestamp (Unix seconds), keyed
// with the endpoint's signing key.
func (f formatter) Format(ctx context.Context, d gateway.WebhookDelivery, now time.Time) ([]byte, http.Header, error) {
	var std standardBody
	if err := json.Unmarshal(d.Payload, &std); err != nil {
		return nil, nil, fmt.Errorf("read outbox payload: %w (%w)", err, webhook.ErrCannotFormat)
	}
	env := envelope{ID: d.EventID, WebhookID: d.ExternalID}
	var err error
	if std.Type == gateway.EventSMSReceived {
		env.Event, env.DeviceID, env.Payload, err = f.received(ctx, std)
	} else {
		env.Event = eventOf(std.Type)
		if env.Event == "" {
			return nil, nil, fmt.Errorf("event %s has no SMSGate webhook: %w", std.Type, webhook.ErrCannotFormat)
		}
		env.DeviceID, env.Payload, err = f.message(ctx, std)
	}
	if err != nil {
		return nil, nil, err
	}
	body, err := json.Marshal(env)
	if err != nil {
		return nil, nil, err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set("X-Timestamp", ts)
	h.Set("X-Signature", Sign(signingKey(d.Secret), body, ts))
	return body, h, nil
}

// Sign is SMSGate's X-Signature: the hex HMAC-SHA256 of body followed by
// timestamp, keyed with the signing key's bytes.
func Sign(key string, body []byte, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	mac.Write([]byte(timestamp))
	return hex.EncodeToString(mac.Sum(nil))
}

// inbound is what the formatter reads of an sms.received event: the
// gateway's InboundEventData, data and port included.
type inbound struct {
	ID         string    `json:"id"`
	From       string    `json:"from"`
	Text       string    `json:"text"`
	Data       string    `json:"data"` // base64
	Port       *int      `json:"port"`
	Modem      string    `json:"modem"`
	ReceivedAt time.Time `json:"received_at"`
}

// received is sms:received, or sms:data-received for a data SMS (with data
// or an application port, as the outbox's variant tells them apart).
func (f formatter) received(ctx context.Context, std standardBody) (event, device string, payload any, err error) {
	var in inbound
	if err := json.Unmarshal(std.Data, &in); err != nil {
		return "", "", nil, fmt.Errorf("read %s: %w (%w)", std.Type, err, webhook.ErrCannotFormat)
	}
	sim, err := f.simNumber(ctx, in.Modem)
	if err != nil {
		return "", "", nil, err
	}
	at := in.ReceivedAt.UTC().Format(time.RFC3339Nano)
	if in.Data != "" || in.Port != nil {
		return eventDataReceived, in.Modem, dataReceivedPayload{MessageID: in.ID, Data: in.Data, PhoneNumber: in.From,
			SimNumber: sim, ReceivedAt: at}, nil
	}
	return eventReceived, in.Modem, receivedPayload{MessageID: in.ID, Message: in.Text, PhoneNumber: in.From,
		SimNumber: sim, ReceivedAt: at}, nil
}

func (f formatter) message(ctx context.Context, std standardBody) (string, any, error) {
	var m gateway.MessageEventData
	if err := json.Unmarshal(std.Data, &m); err != nil {
		return "", nil, fmt.Errorf("read %s: %w (%w)", std.Type, err, webhook.ErrCannotFormat)
	}
	// A message sent through this API is known by its group's ID; one sent
	// through another by its own.
	id, err := f.group.GroupOfMessage(ctx, m.ID)
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		id = m.ID
	case err != nil:
		return "", nil, err
	}
	sim, err := f.simNumber(ctx, m.Modem)
	if err != nil {
		return "", nil, err
	}
	at := std.Timestamp.UTC().Format(time.RFC3339Nano)
	switch std.Type {
	case gateway.EventMessageSent:
		return m.Modem, sentPayload{MessageID: id, PhoneNumber: m.To, SimNumber: sim, PartsCount: m.Segments, SentAt: at}, nil
	case gateway.EventMessageDelivered:
		return m.Modem, deliveredPayload{MessageID: id, PhoneNumber: m.To, SimNumber: sim, DeliveredAt: at}, nil
	}
	reason := m.Error
	if reason == "" && std.Type == gateway.EventMessageExpired {
		reason = "expired before it could be sent"
	}
	return m.Modem, failedPayload{MessageID: id, PhoneNumber: m.To, SimNumber: sim, FailedAt: at, Reason: reason}, nil
}

// simNumber is the modem's number in simNumber's count (1..n by IMEI); nil
// when it is not known.
func (f formatter) simNumber(ctx context.Context, imei string) (*int, error) {
	if imei == "" {
		return nil, nil
	}
	mods, err := f.modems.Modems(ctx)
	if err != nil {
		return nil, err
	}
	// Numbered by IMEI, as API.modems orders them.
	n := 1
	found := false
	for _, m := range mods {
		if m.IMEI < imei {
			n++
		}
		found = found || m.IMEI == imei
	}
	if !found {
		return nil, nil
	}
	return &n, nil
}
