package kannel

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/simgate/simgate/events"
	"github.com/simgate/simgate/gateway"
)

// Consumer names the DLR follower's cursor in the event log.
const Consumer = "kannel-dlr"

// How far the cursor on disk may lag behind events that made no DLR (as
// the webhook Notifier's).
const (
	cursorLag   = 1024
	cursorEvery = 10 * time.Second
)

// Run follows the event log from the follower's cursor and, for each
// event of a message sent through sendsms with a dlr-url whose mask wants
// it, puts the expanded URL in the callback outbox, in the transaction that
// moves the cursor: a crash never loses a DLR nor makes one twice. It
// returns when ctx ends.
func (k *Kannel) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		// It returns only with an error: a failed read or write, or ctx.
		if err := k.follow(ctx); ctx.Err() == nil {
			k.log.Error("kannel: follow events for DLRs", "err", err)
			t := time.NewTimer(time.Second)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
	return ctx.Err()
}

func (k *Kannel) follow(ctx context.Context) error {
	seq, err := k.store.EventCursor(ctx, Consumer)
	if err != nil {
		return err
	}
	r := events.NewReader(k.store, seq, events.Settle)
	saved, savedAt := seq, k.clock.Now()
	for {
		evs, err := r.Next(ctx)
		if err != nil {
			return err
		}
		rows, err := k.dlrRows(ctx, evs)
		if err != nil {
			return err
		}
		now := k.clock.Now()
		if len(rows) == 0 && r.Seq()-saved < cursorLag && now.Sub(savedAt) < cursorEvery {
			continue // taken again after a crash, these events still make no DLR
		}
		n, err := k.store.EnqueueCallbacks(ctx, Consumer, r.Seq(), rows)
		if err != nil {
			return err
		}
		saved, savedAt = r.Seq(), now
		if n > 0 && k.cfg.Callbacks != nil {
			k.cfg.Callbacks.Wake()
		}
	}
}

// dlrType is the DLR an event is, 0 for none: sent is accepted by the
// SMSC (8); delivered (1); failed after the SMSC took it is failed (2),
// before (refused, or never sent) rejected by the SMSC (16), and so is an
// expiry in the queue.
func dlrType(ev gateway.Event, m *gateway.Message) (int, string) {
	switch ev.Type {
	case gateway.EventMessageSent:
		return dlrSMSCSuccess, "ACK/"
	case gateway.EventMessageDelivered:
		return dlrDelivered, "Success"
	case gateway.EventMessageFailed:
		if !m.SentAt.IsZero() || sentParts(m) > 0 {
			return dlrFailed, "Failed"
		}
		return dlrSMSCFail, "NACK/" + m.Error
	case gateway.EventMessageExpired:
		return dlrSMSCFail, "NACK/expired"
	}
	return 0, ""
}

func sentParts(m *gateway.Message) int {
	n := 0
	for _, p := range m.Parts {
		if !p.SentAt.IsZero() {
			n++
		}
	}
	return n
}

// dlrRows makes the outbox rows of a batch of events.
func (k *Kannel) dlrRows(ctx context.Context, evs []gateway.Event) ([]gateway.CallbackDelivery, error) {
	var ids []string
	for _, ev := range evs {
		switch ev.Type {
		case gateway.EventMessageSent, gateway.EventMessageDelivered, gateway.EventMessageFailed, gateway.EventMessageExpired:
			ids = append(ids, ev.Subject)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	regs, err := k.store.MessageCallbacks(ctx, Kind, ids)
	if err != nil || len(regs) == 0 {
		return nil, err
	}
	var rows []gateway.CallbackDelivery
	for _, ev := range evs {
		data, ok := regs[ev.Subject]
		if !ok {
			continue
		}
		reg, err := readRegistration(data)
		if err != nil {
			if !errors.Is(err, errNoRegistration) {
				k.log.Error("kannel: a message's dlr-url cannot be read; no DLR", "message_id", ev.Subject, "err", err)
			}
			continue
		}
		row, ok, err := k.dlrRow(ctx, ev, reg)
		if err != nil {
			return nil, err
		}
		if ok {
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// dlrRow is the DLR of ev, when reg's mask wants it.
func (k *Kannel) dlrRow(ctx context.Context, ev gateway.Event, reg registration) (gateway.CallbackDelivery, bool, error) {
	m, err := k.store.Message(ctx, ev.Subject)
	if err != nil {
		return gateway.CallbackDelivery{}, false, err
	}
	typ, reply := dlrType(ev, m)
	if typ == 0 || reg.Mask&typ == 0 {
		return gateway.CallbackDelivery{}, false, nil
	}
	f := dlrFields{typ: typ, reply: reply, receiver: reg.Receiver, sender: reg.Sender,
		smsc: k.smscName(reg.SMSC, m.Modem), id: m.ID, foreign: foreignID(m), user: reg.User, url: reg.URL, at: ev.At}
	now := k.clock.Now()
	return gateway.CallbackDelivery{
		ID: gateway.NewID("cb_", now), EventID: ev.ID, Kind: Kind, MessageID: m.ID,
		URL: expand(reg.URL, f), Status: gateway.CallbackPending, NextAttempt: now, CreatedAt: now,
	}, true, nil
}

// foreignID is %F: the TP-MR of the message's last part that has one, as
// Kannel's AT driver keeps it; "" when none.
func foreignID(m *gateway.Message) string {
	for i := len(m.Parts) - 1; i >= 0; i-- {
		if p := m.Parts[i]; p.HasMR {
			return strconv.Itoa(p.MR)
		}
	}
	return ""
}
