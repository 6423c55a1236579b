package pdu

import (
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/warthog618/sms/encoding/gsm7"
	"github.com/warthog618/sms/encoding/gsm7/charset"
)

// esc is the GSM-7 escape to the extension (single shift) table.
const esc byte = 0x1B

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

var (
	warmOnce sync.Once
	// gsmBasic and gsmExt map runes to septets of the default alphabet and
	// its extension table. They are built here rather than taken from the
	// library at each call because the library builds its tables lazily
	// without a lock.
	gsmBasic map[rune]byte
	gsmExt   map[rune]byte
)

// warm builds every lazily built table of the sms library once, before
// any codec call reads them: the library fills package-level maps on first
// use without a lock, which is a data race when two goroutines get there
// first together.
func warm() {
	warmOnce.Do(func() {
		charset.DefaultDecoder()
		charset.DefaultEncoder()
		charset.DefaultExtDecoder()
		charset.DefaultExtEncoder()
		for nli := charset.Start; nli < charset.End; nli++ {
			charset.NewDecoder(nli)
			charset.NewExtDecoder(nli)
			charset.NewEncoder(nli)
			charset.NewExtEncoder(nli)
		}
		gsmBasic = make(map[rune]byte, 128)
		for r, s := range charset.DefaultEncoder() {
			// A literal ESC in the text would turn the next character into
			// an extension character on the phone, so it is not GSM-7.
			if s != esc {
				gsmBasic[r] = s
			}
		}
		gsmExt = make(map[rune]byte, 16)
		for r, s := range charset.DefaultExtEncoder() {
			gsmExt[r] = s
		}
	})
}

// toSeptets converts text to septets of the default alphabet and its
// extension table (an extension character takes ESC plus its code). It
// reports false when a character has no GSM-7 form. National language
// tables are never used to encode: many phones do not honour them.
func toSeptets(text string) ([]byte, bool) {
	warm()
	out := make([]byte, 0, len(text))
	for _, r := range text {
		if s, ok := gsmBasic[r]; ok {
			out = append(out, s)
			continue
		}
		if s, ok := gsmExt[r]; ok {
			out = append(out, esc, s)
			continue
		}
		return nil, false
	}
	return out, true
}

// gsm7Units counts the septets text needs, or -1 when it is not GSM-7.
func gsm7Units(text string) int {
	warm()
	n := 0
	for _, r := range text {
		if _, ok := gsmBasic[r]; ok {
			n++
			continue
		}
		if _, ok := gsmExt[r]; ok {
			n += 2
			continue
		}
		return -1
	}
	return n
}

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
			if s[n] == esc && n+1 < len(s) {
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

// decodeSeptets converts unpacked septets to text with the national
// language tables lock and shift (0 for the defaults). Unknown escapes fall
// back to the base character, as TS 23.038 §6.2.1.1 asks of receivers.
func decodeSeptets(s []byte, lock, shift int) string {
	warm()
	var opts []gsm7.DecoderOption
	if lock != 0 {
		opts = append(opts, gsm7.WithCharset(lock))
	}
	if shift != 0 {
		opts = append(opts, gsm7.WithExtCharset(shift))
	}
	b, _ := gsm7.Decode(s, opts...) // a non-strict decoder never fails
	return string(b)
}

// decodeUCS2 converts UTF-16BE octets to text; a lone surrogate becomes
// U+FFFD and an odd last octet is dropped.
func decodeUCS2(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u))
}
