package modem

import (
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/simgate/simgate/gsm7"
)

// decodeUSSD turns a +CUSD <str> into text the way real modems send it
// (TS 27.007 §7.15, TS 23.038 §5), in this order:
//
//   - UCS-2 hex when <dcs> says UCS-2 (72 and the other UCS-2 codings); with
//     the language indication of dcs 0x11 its first two octets are the
//     language and are skipped; an odd trailing octet is junk and cut;
//   - UCS-2 hex under any other <dcs> when the hex reads as UCS-2 text
//     (Quectel and ZTE send it under 15 and 7 when AT+CSCS="UCS2");
//   - GSM 7-bit packed hex where the firmware does that (Huawei, packed is
//     its profile's USSDPackedHex), or where the hex unpacks into text;
//   - one hex pair per septet (AT+CSCS="HEX");
//   - otherwise the string is text in the TE character set: raw GSM bytes
//     (AT+CSCS="GSM": '{' is 'ä') when it holds bytes only GSM explains,
//     Latin-1 when it is not UTF-8, else as it came.
//
// Padding is cut from GSM text: the CR filler, and the '@' that seven
// zero spare bits make when a modem unpacks them. NUL, CR, LF and spaces
// at either end are junk some firmware leaves (or a network's layout that
// means nothing on a single line). The engine drops bytes below
// 0x20 from every line, so raw GSM characters coded there ('@', '$', 'è')
// do not survive a modem in AT+CSCS="GSM".
func decodeUSSD(s string, dcs int, packed bool) string {
	s = strings.TrimRight(s, "\x00\r\n")
	if t, ok := decodeUSSDHex(s, dcs, packed); ok {
		return strings.Trim(t, junk)
	}
	return strings.Trim(decodeTEText(s), junk)
}

// junk is cut from both ends of a decoded reply.
const junk = " \x00\r\n"

// decodeUSSDHex decodes s when it is hex in one of the forms above.
func decodeUSSDHex(s string, dcs int, packed bool) (string, bool) {
	declaredUCS2 := dcsIsUCS2(dcs)
	if declaredUCS2 && len(s)%4 == 2 {
		s = s[:len(s)-2] // a trailing odd octet
	}
	if len(s) < 2 || len(s)%2 != 0 {
		return "", false
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", false
	}
	switch {
	case dcs == 0x11 && len(b) >= 2:
		if t, ok := decodeUCS2(b[2:]); ok {
			return t, true
		}
	case declaredUCS2:
		if t, ok := decodeUCS2(b); ok {
			return t, true
		}
	case looksUCS2(b):
		t, _ := decodeUCS2(b)
		return t, true
	case packed && dcsIsGSM7(dcs):
		return septetText(gsm7.UnpackUSSD(b)), true
	}
	if len(b) < 4 {
		return "", false
	}
	if plainSeptets(b) && plausibleGSM(b, 0.9) {
		return septetText(b), true
	}
	if sep := gsm7.UnpackUSSD(b); plausibleGSM(sep, 0.85) {
		return septetText(sep), true
	}
	return "", false
}

// decodeUCS2 decodes big-endian UTF-16 (UCS-2 as modems mean it).
func decodeUCS2(b []byte) (string, bool) {
	if len(b)%2 != 0 {
		return "", false
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u)), true
}

// looksUCS2 says whether octets under a non-UCS-2 <dcs> are UCS-2 text all
// the same: at least two code units, one of them from the Latin-1 block
// (a space, a digit or a full stop: every real reply has one), and all of
// them printable. A reply of bare digits such as "12345678" is no UCS-2.
func looksUCS2(b []byte) bool {
	if len(b) < 4 || len(b)%2 != 0 {
		return false
	}
	latin := false
	for i := 0; i < len(b); i += 2 {
		if b[i] == 0 {
			latin = true
		}
	}
	if !latin {
		return false
	}
	t, _ := decodeUCS2(b)
	for _, r := range strings.TrimRight(t, "\x00") {
		if r == utf8.RuneError || (!unicode.IsPrint(r) && r != '\n' && r != '\r') {
			return false
		}
	}
	return true
}

// plainSeptets says every octet is a septet: no high bit set.
func plainSeptets(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// plausibleGSM says septets read as text: at least one letter, and at
// least share of them letters, digits, spaces, line breaks or common
// punctuation of the GSM default alphabet (where those sit where ASCII
// has them).
func plausibleGSM(septets []byte, share float64) bool {
	if len(septets) == 0 {
		return false
	}
	letters, good := 0, 0
	for _, c := range septets {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
			letters++
			good++
		case c >= '0' && c <= '9', c == ' ', c == '\n', c == '\r', strings.IndexByte(".,:;!?'\"()+-/%*#=&<>", c) >= 0:
			good++
		}
	}
	return letters > 0 && float64(good) >= share*float64(len(septets))
}

// septetText decodes unpacked septets, cutting the '@' that seven zero
// spare bits make at the end of a whole number of octets.
func septetText(septets []byte) string {
	if n := len(septets); n > 0 && n%8 == 0 && septets[n-1] == 0 {
		septets = septets[:n-1]
	}
	return gsm7.Decode(septets, 0, 0)
}

// decodeTEText reads <str> given as text. Bytes that only the GSM
// alphabet explains ([\]^`{|}~ where a reply has no use for them as ASCII,
// ESC) with none that GSM would turn into oddities ('$' is '¤', '@' is
// '¡' in GSM) mean a modem in AT+CSCS="GSM" passed the septets through.
func decodeTEText(s string) string {
	if !utf8.ValidString(s) {
		r := make([]rune, 0, len(s))
		for i := 0; i < len(s); i++ {
			r = append(r, rune(s[i])) // Latin-1
		}
		return string(r)
	}
	if strings.ContainsAny(s, "$@") || !strings.ContainsAny(s, "[\\]^`{|}~\x1b") || !plainSeptets([]byte(s)) {
		return cutTextPadding(s)
	}
	return septetText([]byte(s))
}

// cutTextPadding drops the '@' a modem made of seven zero spare bits when
// it unpacked a whole number of octets for us.
func cutTextPadding(s string) string {
	if n := len(s); n > 0 && n%8 == 0 && s[n-1] == '@' && plainSeptets([]byte(s)) {
		return s[:n-1]
	}
	return s
}

func dcsIsUCS2(dcs int) bool {
	switch {
	case dcs < 0:
		return false
	case dcs == 0x11: // UCS-2 preceded by a language
		return true
	case dcs&0xF0 == 0x40 || dcs&0xF0 == 0x50 || dcs&0xF0 == 0x60 || dcs&0xF0 == 0x70 || dcs&0xF0 == 0x90:
		return dcs&0x0C == 0x08
	}
	return false
}

func dcsIsGSM7(dcs int) bool {
	switch {
	case dcs < 0:
		return true
	case dcs&0xF0 == 0x00, dcs&0xF0 == 0x20, dcs&0xF0 == 0x30, dcs == 0x10:
		return true
	case dcs&0xF0 == 0x40 || dcs&0xF0 == 0x50 || dcs&0xF0 == 0x60 || dcs&0xF0 == 0x70 || dcs&0xF0 == 0x90 || dcs&0xF0 == 0xF0:
		return dcs&0x0C == 0x00
	}
	return false
}

// decodeUCS2Hex decodes UCS-2 given as hex (numbers under AT+CSCS="UCS2").
func decodeUCS2Hex(s string) (string, bool) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", false
	}
	return decodeUCS2(b)
}
