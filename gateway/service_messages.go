package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/simgate/simgate/pdu"
)

// SendRequest is POST /api/v1/messages after JSON decoding.
type SendRequest struct {
	To   string
	Text string
	// Data, when not nil, makes a data message: these bytes as 8-bit user
	// data instead of Text (one or the other).
	Data []byte
	// Ports adds application port addressing (0–65535 each); nil for none.
	Ports *Ports
	// Flash sends in class 0 (a "flash" SMS), in any alphabet.
	Flash bool
	// Encoding forces the alphabet: "" (GSM-7 when the text allows it, else
	// UCS-2), "gsm7", "ucs2" or "8bit" (the text's UTF-8 bytes; always so
	// for Data).
	Encoding string
	// UDH is a user data header with its length octet, as Kannel's udh.
	UDH []byte
	// Validity is the TP-VP asked of the SMSC (Kannel's validity); 0 takes
	// it from the TTL.
	Validity       time.Duration
	Priority       string // "high" | "normal" | "low" | "" (normal)
	Modem          string // IMEI to pin the message to; "" for any
	StatusReport   *bool  // nil means true
	TTL            time.Duration
	SendAt         time.Time
	APIKey         string // name of the authenticated key
	OwnerKey       int64  // its ID, the message's owner
	IdempotencyKey string
	BodyHash       string // hash of the request body, for idempotency; "" = derived from the fields
	// Callback, when set, is committed with the message (Kannel's dlr-url).
	Callback *MessageCallback
}

// Send validates r, checks the destination policy and the key's limits
// (a RetryAfterError when over one), commits the message and wakes the
// dispatcher. It returns as soon as the row is committed; with an
// Idempotency-Key seen before it returns the message committed then and
// replayed = true. A request without an owner key (the status page) has no
// limits.
func (s *Service) Send(ctx context.Context, r SendRequest) (*Message, bool, error) {
	now := s.clock.Now()
	if err := checkRequest(r); err != nil {
		return nil, false, err
	}
	m, err := s.newMessage(ctx, r, now)
	if err != nil {
		return nil, false, err
	}
	if err := s.dest.check(m.To, s.DefaultRegion()); err != nil {
		return nil, false, err
	}
	idem := IdempotencyKey{APIKey: r.APIKey, Key: r.IdempotencyKey, Hash: r.BodyHash}
	if idem.Key != "" && idem.Hash == "" {
		idem.Hash = requestHash(m, r)
	}
	if s.cfg.Router != nil && m.Pin == "" { // after the hash: a replay is the same request
		d := s.cfg.Router.Route(m.To, nil)
		m.Pin, m.Route = d.Modem, d.Reason
	}
	var (
		got      *Message
		replayed bool
	)
	commit := func() (err error) {
		got, replayed, err = s.store.CreateMessage(ctx, m, idem)
		return err
	}
	if r.OwnerKey != 0 {
		if err := s.limits.allow(r.OwnerKey, now); err != nil {
			return nil, false, err
		}
		err = s.limits.withQuota(ctx, s.store, r.OwnerKey, now, commit)
	} else {
		err = commit()
	}
	if err != nil {
		return nil, false, fmt.Errorf("create message: %w", err)
	}
	if !replayed {
		s.wake(m, now)
		s.log.Debug("message queued", "message_id", m.ID, "to", MaskNumber(m.To), "segments", m.Segments, "priority", int(m.Priority))
	}
	return got, replayed, nil
}

// Queued tells the dispatcher that m, committed by another component in
// its own transaction (an OTP and its SMS), is in the queue.
func (s *Service) Queued(m *Message) { s.wake(m, s.clock.Now()) }

// NewMessage checks r and builds the message Send would queue, without
// committing it: a component that commits it in a transaction of its own
// (OTP) calls Queued once it has.
func (s *Service) NewMessage(ctx context.Context, r SendRequest) (*Message, error) {
	return s.newMessage(ctx, r, s.clock.Now())
}

// Check is Send's checks without the commit and the key's limits: the
// request's fields and the destination policy. An adapter that turns one
// request into several messages checks them all before it sends the first.
func (s *Service) Check(ctx context.Context, r SendRequest) error {
	if err := checkRequest(r); err != nil {
		return err
	}
	m, err := s.newMessage(ctx, r, s.clock.Now())
	if err != nil {
		return err
	}
	return s.dest.check(m.To, s.DefaultRegion())
}

func (s *Service) wake(m *Message, now time.Time) {
	if s.waker == nil {
		return
	}
	if m.SendAt.After(now) {
		if sc, ok := s.waker.(Scheduler); ok {
			sc.WakeAt(m.SendAt)
			return
		}
	}
	if pw, ok := s.waker.(PinWaker); ok {
		pw.WakeFor(m.Pin)
		return
	}
	s.waker.Wake()
}

// newMessage checks r field by field and builds the queued message.
func (s *Service) newMessage(ctx context.Context, r SendRequest, now time.Time) (*Message, error) {
	to, err := NormalizeNumber(r.To, s.DefaultRegion(), s.cfg.AllowShortCodes)
	if err != nil {
		return nil, &ValidationError{Field: "to", Reason: "number " + err.Error()}
	}
	est, err := s.plan(r)
	if err != nil {
		return nil, err
	}
	prio, err := ParsePriority(r.Priority)
	if err != nil {
		return nil, &ValidationError{Field: "priority", Reason: err.Error()}
	}
	sendAt, expires, err := s.schedule(r, now)
	if err != nil {
		return nil, err
	}
	pin := strings.TrimSpace(r.Modem)
	if pin != "" {
		if err := s.checkModem(ctx, pin); err != nil {
			return nil, err
		}
	}
	sr := r.StatusReport == nil || *r.StatusReport
	var ports *Ports
	if r.Ports != nil {
		p := *r.Ports
		ports = &p
	}

	m := &Message{
		ID:           NewID("msg_", now),
		To:           to,
		Text:         r.Text,
		Encoding:     string(est.Encoding),
		Segments:     est.Segments,
		Data:         clone(r.Data),
		Ports:        ports,
		Flash:        r.Flash,
		UDH:          clone(r.UDH),
		Validity:     r.Validity,
		Priority:     prio,
		Pin:          pin,
		StatusReport: sr,
		Status:       StatusQueued,
		ConcatRef:    int(s.concatRef.Add(1) % 256),
		APIKey:       r.APIKey,
		OwnerKey:     r.OwnerKey,
		CreatedAt:    now,
		SendAt:       sendAt,
		ExpiresAt:    expires,
		Parts:        make([]Part, est.Segments),
		Callback:     r.Callback,
	}
	for i := range m.Parts {
		m.Parts[i] = Part{Index: i + 1, Status: StatusQueued, ReportCode: -1}
	}
	return m, nil
}

// schedule checks r's TTL and send_at: when the message may first be sent
// (zero: now) and when it expires (zero: never).
func (s *Service) schedule(r SendRequest, now time.Time) (sendAt, expires time.Time, err error) {
	ttl := r.TTL
	switch {
	case ttl < 0:
		return sendAt, expires, &ValidationError{Field: "ttl", Reason: "is negative"}
	case ttl > s.cfg.MaxTTL:
		return sendAt, expires, &ValidationError{Field: "ttl", Reason: fmt.Sprintf("is longer than the maximum of %s", s.cfg.MaxTTL)}
	case ttl == 0:
		ttl = s.cfg.DefaultTTL
	}
	// A year 9999 is more likely a mistake than a plan.
	if r.SendAt.After(now.AddDate(1, 0, 0)) {
		return sendAt, expires, &ValidationError{Field: "send_at", Reason: "is more than a year ahead"}
	}
	// send_at in the past means now; the TTL counts from when the message
	// may first be sent, so a scheduled message is not born expired.
	start := now
	if r.SendAt.After(now) {
		sendAt, start = r.SendAt, r.SendAt
	}
	if ttl > 0 {
		expires = start.Add(ttl)
	}
	return sendAt, expires, nil
}

// maxValidity is the longest relative TP-VP (TS 23.040 §9.2.3.12.1).
const maxValidity = 63 * 7 * 24 * time.Hour

// plan checks the content of r (text or data, alphabet, header, ports,
// validity) and measures it as the dispatcher will encode it.
func (s *Service) plan(r SendRequest) (pdu.Estimate, error) {
	field := "text"
	switch {
	case r.Data != nil && r.Text != "":
		return pdu.Estimate{}, &ValidationError{Field: "data", Reason: "and text exclude each other; give one"}
	case r.Data != nil:
		field = "data"
		if len(r.Data) == 0 {
			return pdu.Estimate{}, &ValidationError{Field: "data", Reason: "is empty"}
		}
	case r.Text == "":
		return pdu.Estimate{}, &ValidationError{Field: "text", Reason: "is empty"}
	case !utf8.ValidString(r.Text):
		return pdu.Estimate{}, &ValidationError{Field: "text", Reason: "is not valid UTF-8"}
	}
	if p := r.Ports; p != nil && (p.Dest < 0 || p.Dest > 0xFFFF || p.Source < 0 || p.Source > 0xFFFF) {
		return pdu.Estimate{}, &ValidationError{Field: "port", Reason: fmt.Sprintf("is %d (source %d); want 0 to 65535", p.Dest, p.Source)}
	}
	if r.Validity < 0 || r.Validity > maxValidity {
		return pdu.Estimate{}, &ValidationError{Field: "validity", Reason: fmt.Sprintf("is %s; want 0 to %s", r.Validity, maxValidity)}
	}
	l := pdu.Layout{Encoding: pdu.Encoding(r.Encoding), Flash: r.Flash, UDH: r.UDH}
	if r.Ports != nil {
		l.Ports = &pdu.Ports{Dest: r.Ports.Dest, Source: r.Ports.Source}
	}
	est, err := pdu.Plan(r.Text, r.Data, l)
	switch {
	case errors.Is(err, pdu.ErrInvalidEncoding):
		return pdu.Estimate{}, &ValidationError{Field: "encoding", Reason: fmt.Sprintf("is %q; want gsm7, ucs2 or 8bit (data is always 8bit)", r.Encoding)}
	case errors.Is(err, pdu.ErrNotGSM7):
		return pdu.Estimate{}, &ValidationError{Field: "text", Reason: "has characters outside the GSM 7-bit alphabet; send it as ucs2"}
	case errors.Is(err, pdu.ErrInvalidUDH):
		return pdu.Estimate{}, &ValidationError{Field: "udh", Reason: strings.TrimPrefix(err.Error(), pdu.ErrInvalidUDH.Error()+": ")}
	case err != nil:
		return pdu.Estimate{}, &ValidationError{Field: field, Reason: err.Error()}
	}
	if est.Segments > s.cfg.MaxSegments {
		return pdu.Estimate{}, &ValidationError{Field: field, Reason: fmt.Sprintf(
			"needs %d segments in %s, more than the limit of %d", est.Segments, est.Encoding, s.cfg.MaxSegments)}
	}
	return est, nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// checkModem refuses a pin to a modem the gateway has never seen: the
// message would wait forever.
func (s *Service) checkModem(ctx context.Context, imei string) error {
	mods, err := s.store.Modems(ctx)
	if err != nil {
		return fmt.Errorf("list modems: %w", err)
	}
	for _, m := range mods {
		if m.IMEI == imei {
			return nil
		}
	}
	return &ValidationError{Field: "modem", Reason: fmt.Sprintf("no modem with IMEI %q is known to this gateway", imei)}
}

// ParsePriority reads the API's priority names; "" is normal.
func ParsePriority(s string) (Priority, error) {
	switch s {
	case "normal", "":
		return PriorityNormal, nil
	case "high":
		return PriorityHigh, nil
	case "low":
		return PriorityLow, nil
	}
	return 0, fmt.Errorf("is %q; want high, normal or low", s)
}

// String is the API name of p.
func (p Priority) String() string {
	switch p {
	case PriorityHigh:
		return "high"
	case PriorityNormal:
		return "normal"
	case PriorityLow:
		return "low"
	}
	return "priority(" + strconv.Itoa(int(p)) + ")"
}

// requestHash stands in for a body hash the caller did not give: the fields
// that make the message, normalised, so the same request in other JSON
// spelling still matches.
func requestHash(m *Message, r SendRequest) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%s\x00%t\x00%d\x00%d", m.To, m.Text, m.Priority, m.Pin,
		m.StatusReport, r.TTL, r.SendAt.UnixNano())
	if m.Data != nil || m.Ports != nil || m.Flash || m.UDH != nil || m.Validity != 0 || r.Encoding != "" {
		// Only then: the hash of a plain text message stays what it was.
		ports := "-"
		if m.Ports != nil {
			ports = fmt.Sprintf("%d/%d", m.Ports.Dest, m.Ports.Source)
		}
		fmt.Fprintf(h, "\x00%x\x00%s\x00%t\x00%x\x00%d\x00%s", m.Data, ports, m.Flash, m.UDH, m.Validity, r.Encoding)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Listing limits shared by messages and the inbox.
const (
	defaultListLimit = 50
	maxListLimit     = 500
)

// Message returns one message with its parts.
func (s *Service) Message(ctx context.Context, id string) (*Message, error) {
	m, err := s.store.Message(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get message: %w", err)
	}
	return m, nil
}

// Messages lists messages newest first, a page at a time.
func (s *Service) Messages(ctx context.Context, f MessageFilter) ([]*Message, string, error) {
	switch f.Status {
	case "", StatusQueued, StatusSending, StatusSent, StatusDelivered, StatusFailed, StatusExpired, StatusCanceled:
	default:
		return nil, "", &ValidationError{Field: "status", Reason: fmt.Sprintf("is %q; want one of queued, sending, sent, delivered, failed, expired, canceled", f.Status)}
	}
	limit, err := listLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	f.Limit = limit
	if f.To != "" {
		to, err := NormalizeNumber(f.To, s.DefaultRegion(), true)
		if err != nil {
			return nil, "", &ValidationError{Field: "to", Reason: "number " + err.Error()}
		}
		f.To = to
	}
	msgs, next, err := s.store.Messages(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("list messages: %w", err)
	}
	return msgs, next, nil
}

func listLimit(n int) (int, error) {
	switch {
	case n == 0:
		return defaultListLimit, nil
	case n < 0 || n > maxListLimit:
		return 0, &ValidationError{Field: "limit", Reason: fmt.Sprintf("is %d; want 1 to %d", n, maxListLimit)}
	}
	return n, nil
}

// Cancel cancels a message still queued; ErrConflict once it is sending or
// final. Nothing needs waking: a worker that claims it no longer finds it.
func (s *Service) Cancel(ctx context.Context, id string) (*Message, error) {
	m, err := s.store.CancelMessage(ctx, id, s.clock.Now())
	if err != nil {
		return nil, fmt.Errorf("cancel message: %w", err)
	}
	return m, nil
}

// checkRequest is what Send and Check refuse before building the message:
// a text no client can have meant, a callback without a kind or JSON.
func checkRequest(r SendRequest) error {
	if c := r.Callback; c != nil && (c.Kind == "" || !json.Valid(c.Data)) {
		return &ValidationError{Field: "callback", Reason: "needs a kind and JSON data"}
	}
	return checkText(r.Text)
}

// checkText refuses a text an API client cannot have meant: only white
// space, or control characters other than line breaks (LF, and CR for
// CRLF). A tab, NUL or escape is invisible or mangled on a handset, and
// all but LF and CR force UCS-2, halving what a segment holds.
func checkText(text string) error {
	if text != "" && strings.TrimSpace(text) == "" {
		return &ValidationError{Field: "text", Reason: "is only white space"}
	}
	for i, r := range text {
		if r == '\n' || r == '\r' {
			continue
		}
		if unicode.IsControl(r) {
			return &ValidationError{Field: "text", Reason: fmt.Sprintf("has the control character U+%04X at byte %d; only line breaks (\\n) are allowed", r, i)}
		}
	}
	return nil
}
