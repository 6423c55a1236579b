package smsgate

import (
	"time"

	"github.com/simgate/simgate/gateway"
)

// SMSGate's message states.
const (
	statePending   = "Pending"   // accepted, not yet handed to a modem
	stateProcessed = "Processed" // being sent
	stateSent      = "Sent"
	stateDelivered = "Delivered"
	stateFailed    = "Failed"
	stateCancelled = "Cancelled"
)

// states in the order a message goes through them.
var states = []string{statePending, stateProcessed, stateSent, stateDelivered, stateFailed, stateCancelled}

// messageState is SMSGate's view of a message: GET /messages/{id}, the
// answer to a send, and each item of GET /messages.
type messageState struct {
	ID          string            `json:"id"`
	DeviceID    string            `json:"deviceId"`
	State       string            `json:"state"`
	IsHashed    bool              `json:"isHashed"`
	IsEncrypted bool              `json:"isEncrypted"`
	Recipients  []recipientState  `json:"recipients"`
	States      map[string]string `json:"states"`
}

type recipientState struct {
	PhoneNumber string  `json:"phoneNumber"`
	State       string  `json:"state"`
	Error       *string `json:"error"`
}

// recipientStateOf is one message's status in SMSGate's words.
func recipientStateOf(s gateway.Status) string {
	switch s {
	case gateway.StatusQueued:
		return statePending
	case gateway.StatusSending:
		return stateProcessed
	case gateway.StatusSent:
		return stateSent
	case gateway.StatusDelivered:
		return stateDelivered
	case gateway.StatusCanceled:
		return stateCancelled
	}
	return stateFailed // failed, expired
}

// groupState is the state of a message to several recipients: Pending
// while none has been handed to a modem, Processed while some are on their
// way, then — all of them final — Failed if any failed, Delivered if all
// were delivered, Cancelled if all were cancelled, else Sent.
func groupState(rs []string) string {
	count := map[string]int{}
	for _, r := range rs {
		count[r]++
	}
	n := len(rs)
	switch {
	case count[statePending] == n:
		return statePending
	case count[statePending]+count[stateProcessed] > 0:
		return stateProcessed
	case count[stateFailed] > 0:
		return stateFailed
	case count[stateDelivered] == n:
		return stateDelivered
	case count[stateCancelled] == n:
		return stateCancelled
	}
	return stateSent
}

// stateOf is g's state with its recipients' and the times it reached each
// state: Pending when accepted, Processed when its first part went to a
// modem, Sent when its last recipient's did, Delivered, Failed or
// Cancelled when its last recipient got there.
func (a *API) stateOf(g gateway.MessageGroup, msgs []*gateway.Message) messageState {
	st := messageState{ID: g.ID, Recipients: make([]recipientState, len(msgs)), States: map[string]string{}}
	rs := make([]string, len(msgs))
	var firstSent, lastSent, lastDone time.Time
	for i, m := range msgs {
		rs[i] = recipientStateOf(m.Status)
		st.Recipients[i] = recipientState{PhoneNumber: m.To, State: rs[i]}
		if m.Error != "" && rs[i] == stateFailed {
			e := m.Error
			st.Recipients[i].Error = &e
		}
		if st.DeviceID == "" {
			st.DeviceID = deviceOf(m)
		}
		for _, p := range m.Parts {
			if !p.SentAt.IsZero() && (firstSent.IsZero() || p.SentAt.Before(firstSent)) {
				firstSent = p.SentAt
			}
		}
		lastSent = later(lastSent, m.SentAt)
		lastDone = later(lastDone, m.FinishedAt)
	}
	st.State = groupState(rs)
	stamp := func(state string, t time.Time) {
		if !t.IsZero() {
			st.States[state] = t.UTC().Format(time.RFC3339Nano)
		}
	}
	stamp(statePending, g.CreatedAt)
	if st.State != statePending && st.State != stateCancelled {
		stamp(stateProcessed, firstSent)
	}
	if st.State == stateSent || st.State == stateDelivered {
		stamp(stateSent, lastSent)
	}
	if st.State == stateDelivered || st.State == stateFailed || st.State == stateCancelled {
		stamp(st.State, lastDone)
	}
	return st
}

// deviceOf is the modem that sent m, or the one it is pinned to.
func deviceOf(m *gateway.Message) string {
	if m.Modem != "" {
		return m.Modem
	}
	return m.Pin
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
