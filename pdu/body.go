package pdu

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/simgate/simgate/gsm7"
)

// Errors of the user data layout.
var (
	// ErrNotGSM7 is a text forced to GSM-7 that has characters outside the
	// default alphabet and its extension table.
	ErrNotGSM7 = errors.New("text has characters outside the GSM 7-bit alphabet")
	// ErrInvalidUDH is a caller-supplied user data header that is not a
	// well-formed TP-UDH, or that clashes with what the encoder writes.
	ErrInvalidUDH = errors.New("invalid user data header")
	// ErrInvalidPort is an application port outside 0–65535.
	ErrInvalidPort = errors.New("port out of range 0–65535")
	// ErrInvalidEncoding is an Encoding this package does not know, or text
	// forced where only data fits.
	ErrInvalidEncoding = errors.New("invalid encoding")
)

// More information element identifiers (TS 23.040 §9.2.3.24).
const (
	ieiPorts8  byte = 0x04 // application port addressing, 8-bit (§9.2.3.24.3)
	ieiPorts16 byte = 0x05 // application port addressing, 16-bit (§9.2.3.24.4)
)

// DCS values this package writes (TS 23.038 §4), uncompressed. Without a
// class: the general data coding group. Flash (class 0) as gammu and Kannel
// write it: the data coding/message class group (0xF0) for GSM-7 and 8-bit,
// the general group with its class bit for UCS-2, which 0xF0 cannot carry.
const (
	dcsGSM7       byte = 0x00
	dcsOctet      byte = 0x04
	dcsUCS2       byte = 0x08
	dcsFlashGSM7  byte = 0xF0
	dcsFlashOctet byte = 0xF4
	dcsFlashUCS2  byte = 0x18
)

// udCapacity is the octets of TP-UD in one TPDU (TS 23.040 §9.2.3.16).
const udCapacity = 140

// Ports is application port addressing (TS 23.040 §9.2.3.24.3/.4): the
// application on the handset a data SMS is for. Encoding always writes the
// 16-bit IE; decoding reads both.
type Ports struct {
	Dest   int // destination port
	Source int // originator port; 0 when the sender gives none (as Android does)
	Bits   int // 8 or 16 when decoded
}

// Layout is how a message's user data is written, beyond its content: the
// alphabet, the class and what goes into every segment's header.
type Layout struct {
	// Encoding forces the alphabet: "" picks GSM-7 when the text allows it,
	// else UCS-2; GSM7 fails with ErrNotGSM7 when it cannot carry the text;
	// Octet sends the text's UTF-8 bytes as 8-bit data. Data is always 8-bit.
	Encoding Encoding
	// Flash sets message class 0 (TS 23.038 §4): the handset shows the
	// message at once and does not store it.
	Flash bool
	// UDH is a caller's TP-UDH with its length octet (TP-UDHL), as Kannel's
	// udh takes it, written at the start of every segment's header. A
	// concatenation IE in it is allowed only when the message fits one
	// segment (the caller segments on its own).
	UDH []byte
	// Ports adds the 16-bit application port IE to every segment.
	Ports *Ports
}

// body is a message cut into the user data of its segments.
type body struct {
	enc      Encoding
	flash    bool
	head     []byte     // IEs every segment's header starts with (no UDHL)
	septets  [][]byte   // GSM-7 segments
	units    [][]uint16 // UCS-2 segments
	octets   [][]byte   // 8-bit segments
	concat   bool       // the segments carry a concatenation IE
	ref      int
	concat16 bool
}

// newBody lays out text, or data when it is not nil, in segments.
func newBody(text string, data []byte, ref int, concat16 bool, l Layout) (body, error) {
	b := body{flash: l.Flash, ref: ref, concat16: concat16}
	head, err := headerIEs(l)
	if err != nil {
		return body{}, err
	}
	b.head = head
	if err := b.fill(text, data, l.Encoding); err != nil {
		return body{}, err
	}
	if n := b.count(); n > maxSegments {
		return body{}, fmt.Errorf("%d segments: %w", n, ErrTooLong)
	}
	if b.concat {
		if hasIE(b.head, ieiConcat8, ieiConcat16) {
			return body{}, fmt.Errorf("%w: it has a concatenation IE, but the message needs %d segments", ErrInvalidUDH, b.count())
		}
		limit := 0xFF
		if concat16 {
			limit = 0xFFFF
		}
		if ref < 0 || ref > limit {
			return body{}, fmt.Errorf("concatenation reference %d out of range 0–%d", ref, limit)
		}
	}
	return b, nil
}

// fill picks the alphabet and cuts the content, first into one segment
// with the common header, else into parts with a concatenation IE too.
func (b *body) fill(text string, data []byte, enc Encoding) error {
	if data != nil {
		if enc != "" && enc != Octet {
			return fmt.Errorf("%w: data is sent as 8bit, not %s", ErrInvalidEncoding, enc)
		}
		if len(data) == 0 {
			return ErrEmptyText
		}
		enc = Octet
	} else {
		if text == "" {
			return ErrEmptyText
		}
		if !utf8.ValidString(text) {
			return ErrInvalidText
		}
		data = []byte(text)
	}
	switch enc {
	case Octet:
		b.enc = Octet
		b.octets = splitOctets(data, b.capacity(udCapacity, 1, false))
		if len(b.octets) > 1 {
			b.concat = true
			b.octets = splitOctets(data, b.capacity(udCapacity, 1, true))
		}
		return nil
	case "", GSM7:
		if s, ok := gsm7.Septets(text); ok {
			b.enc = GSM7
			b.septets = splitSeptets(s, b.capacity(udCapacity*8, 7, false))
			if len(b.septets) > 1 {
				b.concat = true
				b.septets = splitSeptets(s, b.capacity(udCapacity*8, 7, true))
			}
			return nil
		}
		if enc == GSM7 {
			return ErrNotGSM7
		}
	case UCS2:
	default:
		return fmt.Errorf("%w: %q; want gsm7, ucs2 or 8bit", ErrInvalidEncoding, enc)
	}
	b.enc = UCS2
	u := toUTF16(text)
	b.units = splitUTF16(u, b.capacity(udCapacity, 2, false))
	if len(b.units) > 1 {
		b.concat = true
		b.units = splitUTF16(u, b.capacity(udCapacity, 2, true))
	}
	return nil
}

// capacity is how many units of size unit (7 bits, or 1 or 2 octets) fit
// in room (bits for GSM-7, octets otherwise) after the header, with or
// without a concatenation IE. A GSM-7 header is padded to a septet.
func (b *body) capacity(room, unit int, concat bool) int {
	udh := b.udhLen(concat)
	if unit == 7 {
		return (room - udh*8) / 7
	}
	return (room - udh) / unit
}

// udhLen is the length of the TP-UDH with its length octet, 0 for none.
func (b *body) udhLen(concat bool) int {
	n := len(b.head)
	if concat {
		n += 5
		if b.concat16 {
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return 1 + n
}

func (b body) count() int { return len(b.septets) + len(b.units) + len(b.octets) }

func (b body) dcs() byte {
	switch {
	case b.enc == UCS2 && b.flash:
		return dcsFlashUCS2
	case b.enc == UCS2:
		return dcsUCS2
	case b.enc == Octet && b.flash:
		return dcsFlashOctet
	case b.enc == Octet:
		return dcsOctet
	case b.flash:
		return dcsFlashGSM7
	}
	return dcsGSM7
}

func (b body) udhi() byte {
	if b.udhLen(b.concat) > 0 {
		return foUDHI
	}
	return 0
}

// appendUD appends TP-UDL and TP-UD of segment i: the header (the common
// IEs, then the concatenation IE of §9.2.3.24.1 or .8 when there is more
// than one segment) and the segment's user data.
func (b body) appendUD(dst []byte, i int) []byte {
	var udh []byte
	if n := b.udhLen(b.concat); n > 0 {
		udh = append(make([]byte, 0, n), byte(n-1))
		udh = append(udh, b.head...)
		if b.concat {
			n := b.count()
			if b.concat16 {
				udh = append(udh, ieiConcat16, 4, byte(b.ref>>8), byte(b.ref), byte(n), byte(i+1))
			} else {
				udh = append(udh, ieiConcat8, 3, byte(b.ref), byte(n), byte(i+1))
			}
		}
	}
	switch b.enc {
	case UCS2:
		u := b.units[i]
		dst = append(dst, byte(len(udh)+2*len(u)))
		dst = append(dst, udh...)
		for _, c := range u {
			dst = append(dst, byte(c>>8), byte(c))
		}
		return dst
	case Octet:
		o := b.octets[i]
		dst = append(dst, byte(len(udh)+len(o)))
		dst = append(dst, udh...)
		return append(dst, o...)
	}
	s := b.septets[i]
	// The septets start on a septet boundary after the header (§9.2.3.24).
	fill := (7 - len(udh)*8%7) % 7
	dst = append(dst, byte((len(udh)*8+fill)/7+len(s)))
	dst = append(dst, udh...)
	return append(dst, gsm7.Pack(s, fill)...)
}

// estimate describes the body as Preview and Plan report it.
func (b body) estimate() Estimate {
	e := Estimate{Encoding: b.enc, Segments: b.count()}
	switch b.enc {
	case GSM7:
		for _, s := range b.septets {
			e.Units += len(s)
		}
		e.CharsLeft = b.capacity(udCapacity*8, 7, b.concat) - len(b.septets[len(b.septets)-1])
	case UCS2:
		for _, u := range b.units {
			e.Units += len(u)
		}
		e.CharsLeft = b.capacity(udCapacity, 2, b.concat) - len(b.units[len(b.units)-1])
	case Octet:
		for _, o := range b.octets {
			e.Units += len(o)
		}
		e.CharsLeft = b.capacity(udCapacity, 1, b.concat) - len(b.octets[len(b.octets)-1])
	}
	return e
}

// Plan tells how text, or data when it is not nil, would be sent with
// layout l and 8-bit concatenation references: the alphabet, the number of
// segments and the units left in the last one. It fails where EncodeSubmit
// would.
func Plan(text string, data []byte, l Layout) (Estimate, error) {
	b, err := newBody(text, data, 0, false, l)
	if err != nil {
		return Estimate{}, err
	}
	return b.estimate(), nil
}

// headerIEs checks the caller's UDH and returns the IEs every segment
// starts with: the caller's, then the port IE.
func headerIEs(l Layout) ([]byte, error) {
	var head []byte
	if len(l.UDH) > 0 {
		if err := checkUDH(l.UDH); err != nil {
			return nil, err
		}
		head = append(head, l.UDH[1:]...)
	}
	if p := l.Ports; p != nil {
		if p.Dest < 0 || p.Dest > 0xFFFF || p.Source < 0 || p.Source > 0xFFFF {
			return nil, fmt.Errorf("ports %d/%d: %w", p.Dest, p.Source, ErrInvalidPort)
		}
		if hasIE(head, ieiPorts8, ieiPorts16) {
			return nil, fmt.Errorf("%w: it has a port IE and ports are given too", ErrInvalidUDH)
		}
		head = append(head, ieiPorts16, 4, byte(p.Dest>>8), byte(p.Dest), byte(p.Source>>8), byte(p.Source))
	}
	// What is left must hold a concatenation IE and some user data.
	if len(head) > udCapacity-16 {
		return nil, fmt.Errorf("%w: %d octets leave no room for the message", ErrInvalidUDH, len(head)+1)
	}
	return head, nil
}

// checkUDH checks that udh is TP-UDHL followed by exactly that many octets
// of whole information elements.
func checkUDH(udh []byte) error {
	if int(udh[0]) != len(udh)-1 {
		return fmt.Errorf("%w: length octet says %d, %d follow", ErrInvalidUDH, udh[0], len(udh)-1)
	}
	for i := 1; i < len(udh); {
		if i+1 >= len(udh) || i+2+int(udh[i+1]) > len(udh) {
			return fmt.Errorf("%w: information element at octet %d overruns the header", ErrInvalidUDH, i)
		}
		// A concatenation IE a recipient cannot read would strand the part.
		id, ie := udh[i], udh[i+2:i+2+int(udh[i+1])]
		if id == ieiConcat8 || id == ieiConcat16 {
			n := 3
			if id == ieiConcat16 {
				n = 4
			}
			if len(ie) != n || ie[n-1] < 1 || ie[n-1] > ie[n-2] {
				return fmt.Errorf("%w: concatenation IE at octet %d is not a part of a whole", ErrInvalidUDH, i)
			}
		}
		i += 2 + int(udh[i+1])
	}
	return nil
}

// hasIE reports whether the IEs ies (no UDHL) hold one of ids.
func hasIE(ies []byte, ids ...byte) bool {
	for i := 0; i+1 < len(ies); i += 2 + int(ies[i+1]) {
		for _, id := range ids {
			if ies[i] == id {
				return true
			}
		}
	}
	return false
}

// splitOctets cuts data into chunks of at most size octets.
func splitOctets(data []byte, size int) [][]byte {
	var chunks [][]byte
	for len(data) > 0 {
		n := min(size, len(data))
		chunks = append(chunks, data[:n])
		data = data[n:]
	}
	return chunks
}
