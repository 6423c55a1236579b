package pdu

import (
	"unicode/utf16"
	"unicode/utf8"

	"github.com/simgate/simgate/gsm7"
)

// Capacities of one TPDU's user data (TS 23.040 §9.2.3.24, TS 23.038 §6.1.2).
const (
	septetsSingle = 160 // 140 octets of 7-bit characters
	septets8      = 153 // after the 6-octet UDH with an 8-bit concat IE (49 bits with fill)
	septets16     = 152 // after the 7-octet UDH with a 16-bit concat IE
	ucs2Single    = 70
	ucs2Concat8   = 67 // (140-6)/2
	ucs2Concat16  = 66 // (140-7)/2
	maxSegments   = 255
)

// toUTF16 converts text to UTF-16 code units; invalid UTF-8 becomes U+FFFD.
func toUTF16(text string) []uint16 {
	out := make([]uint16, 0, utf8.RuneCountInString(text))
	for _, r := range text {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			out = append(out, uint16(r1), uint16(r2))
			continue
		}
		out = append(out, uint16(r))
	}
	return out
}

// splitSeptets cuts septets into chunks of at most size septets without
// separating an ESC from the character it escapes.
func splitSeptets(s []byte, size int) [][]byte {
	var chunks [][]byte
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			w := 1
			if s[n] == gsm7.Esc && n+1 < len(s) {
				w = 2
			}
			if n+w > size && n > 0 {
				break
			}
			n += w
		}
		chunks = append(chunks, s[:n])
		s = s[n:]
	}
	return chunks
}

// splitUTF16 cuts code units into chunks of at most size units without
// separating a surrogate pair.
func splitUTF16(u []uint16, size int) [][]uint16 {
	var chunks [][]uint16
	for len(u) > 0 {
		n := min(size, len(u))
		if n < len(u) && n > 1 && isHighSurrogate(u[n-1]) {
			n--
		}
		chunks = append(chunks, u[:n])
		u = u[n:]
	}
	return chunks
}

func isHighSurrogate(u uint16) bool { return u >= 0xD800 && u < 0xDC00 }

// decodeUCS2 converts UTF-16BE octets to text; a lone surrogate becomes
// U+FFFD and an odd last octet is dropped.
func decodeUCS2(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u))
}
