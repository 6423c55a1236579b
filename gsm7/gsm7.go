// Package gsm7 is the GSM 7-bit default alphabet and its packing (3GPP TS
// 23.038 §6.1.2 and §6.2.1), in one place for package pdu (SMS user data)
// and package modem (USSD strings).
//
// It stands on github.com/warthog618/sms/encoding/gsm7, whose character
// tables are built lazily without a lock; every function here builds them
// all once first, so concurrent callers never race on them.
package gsm7

import (
	"sync"

	"github.com/warthog618/sms/encoding/gsm7"
	"github.com/warthog618/sms/encoding/gsm7/charset"
)

// Esc is the escape to the extension (single shift) table.
const Esc byte = 0x1B

// cr fills seven spare bits at the end of packed USSD (§6.1.2.3.1).
const cr byte = 0x0D

var (
	warmOnce sync.Once
	// basic and ext map runes to septets of the default alphabet and its
	// extension table, taken once from the library's tables.
	basic map[rune]byte
	ext   map[rune]byte
)

// Warm builds every lazily built table of the sms library once, before
// any codec call reads them: the library fills package-level maps on first
// use without a lock, which is a data race when two goroutines get there
// first together. The functions here call it; a package that also uses the
// library directly (tpdu decodes alphanumeric addresses) calls it first.
func Warm() {
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
		basic = make(map[rune]byte, 128)
		for r, s := range charset.DefaultEncoder() {
			// A literal ESC in the text would turn the next character into
			// an extension character on the phone, so it is not GSM-7.
			if s != Esc {
				basic[r] = s
			}
		}
		ext = make(map[rune]byte, 16)
		for r, s := range charset.DefaultExtEncoder() {
			ext[r] = s
		}
	})
}

// Septets converts text to septets of the default alphabet and its
// extension table (an extension character takes Esc plus its code). It
// reports false when a character has no GSM-7 form. National language
// tables are never used to encode: many phones do not honour them.
func Septets(text string) ([]byte, bool) {
	Warm()
	out := make([]byte, 0, len(text))
	for _, r := range text {
		if s, ok := basic[r]; ok {
			out = append(out, s)
			continue
		}
		if s, ok := ext[r]; ok {
			out = append(out, Esc, s)
			continue
		}
		return nil, false
	}
	return out, true
}

// Count is the number of septets text needs, or -1 when it is not GSM-7.
func Count(text string) int {
	Warm()
	n := 0
	for _, r := range text {
		if _, ok := basic[r]; ok {
			n++
			continue
		}
		if _, ok := ext[r]; ok {
			n += 2
			continue
		}
		return -1
	}
	return n
}

// Decode converts unpacked septets to text with the national language
// tables lock and shift (0 for the defaults). Unknown escapes fall back to
// the base character, as TS 23.038 §6.2.1.1 asks of receivers.
func Decode(septets []byte, lock, shift int) string {
	Warm()
	var opts []gsm7.DecoderOption
	if lock != 0 {
		opts = append(opts, gsm7.WithCharset(lock))
	}
	if shift != 0 {
		opts = append(opts, gsm7.WithExtCharset(shift))
	}
	b, _ := gsm7.Decode(septets, opts...) // a non-strict decoder never fails
	return string(b)
}

// Pack packs septets into octets after fill bits of padding (the fill
// that aligns user data after a user data header, §6.1.2.1.1).
func Pack(septets []byte, fill int) []byte { return gsm7.Pack7Bit(septets, fill) }

// Unpack unpacks octets into septets, skipping fill bits of padding.
func Unpack(b []byte, fill int) []byte { return gsm7.Unpack7Bit(b, fill) }

// PackUSSD packs septets as USSD and cell broadcast do (§6.1.2.3.1): seven
// spare bits at the end would read as '@', so they hold a CR; a CR that
// really ends the text on an octet boundary gets a second one, so the
// receiver drops only the filler.
func PackUSSD(septets []byte) []byte {
	if n := len(septets); n%8 == 7 || (n > 0 && n%8 == 0 && septets[n-1] == cr) {
		septets = append(septets[:n:n], cr)
	}
	return Pack(septets, 0)
}

// UnpackUSSD undoes PackUSSD: a CR in the last seven bits of a whole
// number of septets is the filler and is dropped.
func UnpackUSSD(b []byte) []byte {
	s := Unpack(b, 0)
	if n := len(s); len(b)*8%7 == 0 && n > 0 && s[n-1] == cr {
		s = s[:n-1]
	}
	return s
}
