package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/pdu"
)

// receiver commits what a modem receives: SMS-DELIVER parts into the inbox
// and SMS-STATUS-REPORTs onto the parts they answer. It tells its caller
// when a PDU is safe to delete from the modem: only once it is committed.
type receiver struct {
	store  Store
	clock  gateway.Clock
	log    *slog.Logger
	window time.Duration // how far back a report looks for its part
}

// pduError is a received PDU that does not decode. It is kept raw in the
// inbox with the reason and then deleted from the modem like any other:
// left there, a few of them fill the SIM and the network holds back all SMS.
type pduError struct {
	Mem   string // storage, "" for a PDU routed directly (+CMT, +CDS)
	Index int
	Err   error
}

func (e *pduError) Error() string {
	if e.Mem == "" {
		return fmt.Sprintf("undecodable pdu: %v", e.Err)
	}
	return fmt.Sprintf("undecodable pdu at %s/%d: %v", e.Mem, e.Index, e.Err)
}

// Unwrap returns the decoder's error.
func (e *pduError) Unwrap() error { return e.Err }

// handle commits one received PDU (hex as the modem printed it, SMSC
// prefix included). deletable is true once the PDU is committed and the
// modem's copy may go; an SMS-SUBMIT someone stored on the SIM is not ours
// and stays. err is a *pduError for a PDU that does not decode (kept raw,
// deletable), an
// *unmatchedError for a status report that matched no part (deletable), or
// a store error.
func (r *receiver) handle(ctx context.Context, imei string, sms gateway.StoredSMS) (deletable bool, err error) {
	m, err := pdu.Decode(sms.PDU)
	if err != nil {
		switch err := r.keepRaw(ctx, imei, sms.PDU, err); {
		case errors.Is(err, gateway.ErrAlreadyStored):
			r.log.Debug("undecodable pdu read again, stored before", "modem", imei, "mem", sms.Mem, "index", sms.Index)
			return true, nil
		case err != nil:
			return false, err
		}
		return true, &pduError{Mem: sms.Mem, Index: sms.Index, Err: err}
	}
	switch m.Type {
	case pdu.TypeDeliver:
		if err := r.deliver(ctx, imei, sms.PDU, m); err != nil {
			return false, err
		}
		return true, nil
	case pdu.TypeStatusReport:
		err := r.report(ctx, imei, m)
		var ue *unmatchedError
		if err != nil && !errors.As(err, &ue) {
			return false, err
		}
		// Unmatched, it is held in memory for another try: a report is
		// worth less than a full storage that makes the SC hold back SMS.
		return true, err
	}
	r.log.Debug("leaving stored message alone", "modem", imei, "mem", sms.Mem, "index", sms.Index, "type", string(m.Type))
	return false, nil
}

// deliver stores one SMS-DELIVER part raw, then saves every set it
// completes. The raw part is the commit: from then on the SIM's copy may go,
// and a set whose parts straddle a restart still joins from the store.
func (r *receiver) deliver(ctx context.Context, imei, hexPDU string, m *pdu.Message) error {
	now := r.clock.Now()
	p := gateway.InboundPart{
		Modem:      imei,
		From:       m.From.Number,
		PDU:        strings.ToUpper(hexPDU),
		Part:       1,
		Total:      1,
		SCTS:       m.SCTS,
		ReceivedAt: now,
	}
	if c := m.Concat; c != nil {
		p.Ref, p.Part, p.Total, p.RefBits = c.Ref, c.Part, c.Total, c.Bits
	}
	held, err := r.store.AddInboundPart(ctx, p)
	if err != nil {
		return fmt.Errorf("add inbound part: %w", err)
	}
	if p.Total <= 1 {
		// Every held single is a whole message: this one, and any whose
		// save failed earlier.
		for _, h := range held {
			if err := r.saveJoined(ctx, []gateway.InboundPart{h}, now); err != nil {
				return err
			}
		}
		return nil
	}
	set, ok := completeSet(held, p.Total)
	if !ok {
		r.log.Debug("inbound part held", "modem", imei, "from", gateway.MaskNumber(p.From),
			"ref", p.Ref, "part", p.Part, "total", p.Total, "held", len(held))
		return nil
	}
	return r.saveJoined(ctx, set, now)
}

// keepRaw commits a PDU that does not decode as an inbound message of its
// own, its hex and the decoder's reason in place of a text; the same PDU
// read again is not (gateway.ErrAlreadyStored).
func (r *receiver) keepRaw(ctx context.Context, imei, hexPDU string, reason error) error {
	now := r.clock.Now()
	in := &gateway.InboundMessage{
		ID:          gateway.NewID("in_", now),
		Modem:       imei,
		Parts:       1,
		ReceivedAt:  now,
		RawPDU:      strings.ToUpper(strings.TrimSpace(hexPDU)),
		DecodeError: reason.Error(),
	}
	return r.save(ctx, in, nil)
}

// completeSet picks parts 1..total from held, the first of each number, and
// reports whether all are there.
func completeSet(held []gateway.InboundPart, total int) ([]gateway.InboundPart, bool) {
	byPart := make([]*gateway.InboundPart, total)
	for i := range held {
		n := held[i].Part
		if n >= 1 && n <= total && byPart[n-1] == nil {
			byPart[n-1] = &held[i]
		}
	}
	set := make([]gateway.InboundPart, 0, total)
	for _, p := range byPart {
		if p == nil {
			return nil, false
		}
		set = append(set, *p)
	}
	return set, true
}

// saveJoined joins a complete set (in part order) with a fresh Reassembler,
// so that a character the sender split between parts comes out whole, and
// commits it.
func (r *receiver) saveJoined(ctx context.Context, set []gateway.InboundPart, now time.Time) error {
	ra := pdu.NewReassembler(0)
	var whole *pdu.Message
	for _, p := range set {
		m, err := pdu.Decode(p.PDU)
		if err != nil {
			return fmt.Errorf("decode held part %d: %w", p.ID, err)
		}
		whole, err = ra.Add(p.Modem, m, now)
		if err != nil {
			return fmt.Errorf("join inbound parts: %w", err)
		}
	}
	if whole == nil {
		return fmt.Errorf("join inbound parts: %d parts did not make a message", len(set))
	}
	first := set[0]
	in := &gateway.InboundMessage{
		ID:         gateway.NewID("in_", now),
		Modem:      first.Modem,
		From:       first.From,
		Text:       whole.Text,
		Parts:      len(set),
		SCTS:       first.SCTS,
		ReceivedAt: now,
	}
	setContent(in, whole)
	return r.save(ctx, in, set)
}

func (r *receiver) save(ctx context.Context, in *gateway.InboundMessage, set []gateway.InboundPart) error {
	ids := make([]int64, len(set))
	for i, p := range set {
		ids[i] = p.ID
	}
	if err := r.store.SaveInbound(ctx, in, ids); err != nil {
		return fmt.Errorf("save inbound: %w", err)
	}
	r.log.Info("sms received", "id", in.ID, "modem", in.Modem, "from", gateway.MaskNumber(in.From),
		"parts", in.Parts, "missing", in.Missing)
	return nil
}

// flushStale saves the sets whose parts have waited since before: the
// text that arrived, with Missing counting the parts that never came.
func (r *receiver) flushStale(ctx context.Context, before time.Time) (int, error) {
	parts, err := r.store.StaleInboundParts(ctx, before)
	if err != nil {
		return 0, fmt.Errorf("stale inbound parts: %w", err)
	}
	type setKey struct {
		modem, from         string
		ref, total, refBits int
	}
	sets := map[setKey][]gateway.InboundPart{}
	var order []setKey
	for _, p := range parts {
		k := setKey{p.Modem, p.From, p.Ref, p.Total, p.RefBits}
		if _, ok := sets[k]; !ok {
			order = append(order, k)
		}
		sets[k] = append(sets[k], p)
	}
	saved := 0
	var errs []error
	for _, k := range order {
		set := sets[k]
		if err := r.saveIncomplete(ctx, set, k.total); err != nil {
			errs = append(errs, err)
			continue
		}
		saved++
	}
	return saved, errors.Join(errs...)
}

func (r *receiver) saveIncomplete(ctx context.Context, set []gateway.InboundPart, total int) error {
	slices.SortStableFunc(set, func(a, b gateway.InboundPart) int { return cmp.Compare(a.Part, b.Part) })
	var (
		text     strings.Builder
		data     []byte
		first    *pdu.Message
		seen     = map[int]bool{}
		received time.Time
	)
	for _, p := range set {
		if p.ReceivedAt.After(received) {
			received = p.ReceivedAt
		}
		if seen[p.Part] {
			continue
		}
		seen[p.Part] = true
		// Parts are joined by text here: with a gap, a character split
		// across it is lost anyway.
		if m, err := pdu.Decode(p.PDU); err == nil {
			text.WriteString(m.Text)
			data = append(data, m.Data...)
			if first == nil {
				first = m
			}
		}
	}
	if total < len(seen) {
		total = len(seen)
	}
	in := &gateway.InboundMessage{
		ID:         gateway.NewID("in_", r.clock.Now()),
		Modem:      set[0].Modem,
		From:       set[0].From,
		Text:       text.String(),
		Parts:      total,
		Missing:    total - len(seen),
		SCTS:       set[0].SCTS,
		ReceivedAt: received,
	}
	if first != nil {
		setContent(in, &pdu.Message{Encoding: first.Encoding, Data: data, Ports: first.Ports, Flash: first.Flash})
	}
	return r.save(ctx, in, set)
}

// setContent gives in what a decoded message carries besides its text:
// the bytes of a data SMS (8-bit), its ports and its class.
func setContent(in *gateway.InboundMessage, m *pdu.Message) {
	if m.Encoding == pdu.Octet {
		in.Data = append([]byte{}, m.Data...)
	}
	if p := m.Ports; p != nil {
		in.Ports = &gateway.Ports{Dest: p.Dest, Source: p.Source}
	}
	in.Flash = m.Flash
}
