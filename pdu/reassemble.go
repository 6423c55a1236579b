package pdu

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/gsm7"
)

// DefaultReassemblyTimeout is the timeout NewReassembler uses when given
// none. SCs may deliver the parts of one message hours apart.
const DefaultReassemblyTimeout = 24 * time.Hour

// ErrConflictingPart is a part whose number is already held, with other
// content: usually a new message that reuses a reference while an old set
// with it is still incomplete.
var ErrConflictingPart = errors.New("conflicting part")

// Reassembler joins the parts of concatenated messages. It keeps no I/O and
// no goroutine: the caller passes the time and calls Expire. It is safe for
// concurrent use.
type Reassembler struct {
	timeout time.Duration

	mu   sync.Mutex
	sets map[setKey]*partSet
	seq  uint64 // order in which sets were opened, for a stable Expire
}

// setKey is what parts of one message share. The reference size is part of
// it because 8- and 16-bit references are independent sequences.
type setKey struct {
	source string
	peer   Address
	ref    int
	total  int
	bits   int
}

type partSet struct {
	parts    []*Message
	received int
	newest   time.Time
	seq      uint64
}

// NewReassembler returns a Reassembler that gives up on a set timeout after
// its newest part arrived. A timeout ≤ 0 means DefaultReassemblyTimeout.
func NewReassembler(timeout time.Duration) *Reassembler {
	if timeout <= 0 {
		timeout = DefaultReassemblyTimeout
	}
	return &Reassembler{timeout: timeout, sets: make(map[setKey]*partSet)}
}

// Add adds m, received through source (a modem's IMEI, say), at now. Parts
// are keyed by (source, sender, ref, total, ref size); the sender of an
// SMS-SUBMIT is its destination. It returns the whole message (Text joined,
// Concat nil) once every part is in, nil otherwise; a message that is not
// concatenated is returned as it is. A part already held with the same
// content is ignored; with other content it is refused with
// ErrConflictingPart.
func (r *Reassembler) Add(source string, m *Message, now time.Time) (*Message, error) {
	if m == nil {
		return nil, errors.New("reassemble: nil message")
	}
	c := m.Concat
	if c == nil {
		return m, nil
	}
	if c.Part < 1 || c.Part > c.Total || (c.Bits != 8 && c.Bits != 16) {
		return nil, fmt.Errorf("reassemble part %d of %d (%d-bit ref): %w", c.Part, c.Total, c.Bits, ErrInvalidConcat)
	}
	key := setKey{source: source, peer: peer(m), ref: c.Ref, total: c.Total, bits: c.Bits}

	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.sets[key]
	if set == nil {
		r.seq++
		set = &partSet{parts: make([]*Message, c.Total), seq: r.seq}
		r.sets[key] = set
	}
	if held := set.parts[c.Part-1]; held != nil {
		if samePart(held, m) {
			return nil, nil
		}
		return nil, fmt.Errorf("reassemble part %d of %d, ref %d: %w", c.Part, c.Total, c.Ref, ErrConflictingPart)
	}
	set.parts[c.Part-1] = m
	set.received++
	set.newest = now
	if set.received < c.Total {
		return nil, nil
	}
	delete(r.sets, key)
	return join(set.parts), nil
}

// Incomplete is a concatenated message given up on by Expire.
type Incomplete struct {
	Source string
	From   Address // the sender; the destination for SMS-SUBMIT parts
	Ref    int
	Total  int
	Parts  []*Message // Parts[i] is part i+1, nil where missing
}

// Expire removes and returns the sets whose newest part is older than the
// timeout at now, oldest set first.
func (r *Reassembler) Expire(now time.Time) []Incomplete {
	r.mu.Lock()
	defer r.mu.Unlock()
	type expired struct {
		seq uint64
		inc Incomplete
	}
	var out []expired
	for key, set := range r.sets {
		if now.Sub(set.newest) < r.timeout {
			continue
		}
		delete(r.sets, key)
		out = append(out, expired{set.seq, Incomplete{
			Source: key.source, From: key.peer, Ref: key.ref, Total: key.total, Parts: set.parts,
		}})
	}
	slices.SortFunc(out, func(a, b expired) int { return cmp.Compare(a.seq, b.seq) })
	incs := make([]Incomplete, len(out))
	for i, e := range out {
		incs[i] = e.inc
	}
	return incs
}

// Pending is the number of incomplete sets held.
func (r *Reassembler) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sets)
}

func peer(m *Message) Address {
	if m.Type == TypeSubmit {
		return m.To
	}
	return m.From
}

func samePart(a, b *Message) bool {
	return a.Encoding == b.Encoding && a.Text == b.Text && bytes.Equal(a.UD, b.UD) && bytes.Equal(a.Data, b.Data)
}

// join builds the whole message from its parts, in order. A character a
// sender split between parts (an ESC and its extension character, or the
// two halves of a surrogate pair) is carried over to the next part before
// decoding.
func join(parts []*Message) *Message {
	whole := *parts[0]
	whole.Concat = nil
	var text strings.Builder
	var ud, data []byte
	var carry []byte
	for i, p := range parts {
		ud = append(ud, p.UD...)
		data = append(data, p.Data...)
		if p.UD == nil && p.Text != "" {
			// Built by hand, without user data to rejoin.
			text.WriteString(p.Text)
			carry = nil
			continue
		}
		units := p.UD
		if carry != nil {
			units = append(carry, units...)
			carry = nil
		}
		sameNext := i+1 < len(parts) && parts[i+1].Encoding == p.Encoding
		switch p.Encoding {
		case GSM7:
			if sameNext && danglingEscape(units) {
				carry = []byte{gsm7.Esc}
				units = units[:len(units)-1]
			}
			text.WriteString(gsm7.Decode(units, p.LockingShift, p.SingleShift))
		case UCS2:
			if n := len(units); sameNext && n >= 2 && n%2 == 0 && isHighSurrogate(uint16(units[n-2])<<8|uint16(units[n-1])) {
				carry = append([]byte(nil), units[n-2:]...)
				units = units[:n-2]
			}
			text.WriteString(decodeUCS2(units))
		}
	}
	whole.Text = text.String()
	whole.UD = ud
	if whole.Encoding == Octet {
		whole.Data = data
	}
	return &whole
}

// danglingEscape reports whether septets end with an ESC that escapes
// nothing: an odd run of trailing ESCs (ESC ESC is an escaped ESC).
func danglingEscape(s []byte) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == gsm7.Esc; i-- {
		n++
	}
	return n%2 == 1
}
