package kannel

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// errCharset is a charset simgate does not know, or a text that is not
// valid in its charset.
var errCharset = errors.New("charset or body misformed")

// decodeText converts text from charset to UTF-8. Without a charset, Kannel
// reads UTF-8, or UTF-16BE under coding 2 (UCS-2).
func decodeText(text []byte, charset string, coding int) (string, error) {
	cs := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(strings.TrimSpace(charset)))
	if cs == "" {
		cs = "utf8"
		if coding == 2 {
			cs = "utf16be"
		}
	}
	switch cs {
	case "utf8":
		if !utf8.Valid(text) {
			return "", errCharset
		}
		return string(text), nil
	case "utf16be", "ucs2", "utf16", "iso10646ucs2":
		return fromUTF16(text, false)
	case "utf16le":
		return fromUTF16(text, true)
	case "iso88591", "latin1", "l1", "iso885915", "usascii", "ascii":
		if (cs == "usascii" || cs == "ascii") && strings.ContainsFunc(string(text), func(r rune) bool { return r >= 0x80 }) {
			return "", errCharset
		}
		return fromLatin(text, cs == "iso885915"), nil
	case "windows1252", "cp1252":
		return fromWindows1252(text), nil
	}
	return "", errCharset
}

func fromUTF16(b []byte, little bool) (string, error) {
	if len(b)%2 != 0 {
		return "", errCharset
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		hi, lo := b[2*i], b[2*i+1]
		if little {
			hi, lo = lo, hi
		}
		u[i] = uint16(hi)<<8 | uint16(lo)
	}
	if len(u) > 0 && u[0] == 0xFEFF { // a byte order mark
		u = u[1:]
	}
	s := string(utf16.Decode(u))
	if strings.ContainsRune(s, utf8.RuneError) {
		return "", errCharset // an unpaired surrogate
	}
	return s, nil
}

// latin9 are the code points where ISO-8859-15 differs from Latin-1.
var latin9 = map[byte]rune{0xA4: '€', 0xA6: 'Š', 0xA8: 'š', 0xB4: 'Ž', 0xB8: 'ž', 0xBC: 'Œ', 0xBD: 'œ', 0xBE: 'Ÿ'}

func fromLatin(b []byte, nine bool) string {
	var sb strings.Builder
	for _, c := range b {
		if r, ok := latin9[c]; nine && ok {
			sb.WriteRune(r)
			continue
		}
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// cp1252 are Windows-1252's characters at 0x80–0x9F (the rest is Latin-1).
var cp1252 = [32]rune{'€', 0x81, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0x8D, 'Ž', 0x8F,
	0x90, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0x9D, 'ž', 'Ÿ'}

func fromWindows1252(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x80 && c < 0xA0 {
			sb.WriteRune(cp1252[c-0x80])
			continue
		}
		sb.WriteRune(rune(c))
	}
	return sb.String()
}
