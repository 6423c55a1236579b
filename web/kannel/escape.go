package kannel

import (
	"strconv"
	"strings"
	"time"
)

// dlrFields are what a DLR's escapes show (gw/urltrans.c,
// urltrans_fill_escape_codes, on the message dlr.c makes).
type dlrFields struct {
	typ      int       // %d: the DLR type
	reply    string    // %A (and %a %b %k): the SMSC's reply
	receiver string    // %p: the receiver, as the client wrote it
	sender   string    // %P: the from of the request
	smsc     string    // %i: the smsc: the name asked for, or the modem's
	id       string    // %I: the message's ID
	foreign  string    // %F: the SMSC's ID for it: the TP-MR
	user     string    // %n: the user (the API key's name)
	url      string    // %R: the dlr-url itself
	at       time.Time // %t %T: when the event happened
}

// sample fills every escape, so that a dlr-url's expansion can be checked
// as a URL when it is submitted.
var sample = dlrFields{typ: 1, reply: "Success", receiver: "1", sender: "1", smsc: "s", id: "i", foreign: "1",
	user: "u", url: "u", at: time.Unix(0, 0)}

// expand replaces the escapes of pattern as Kannel does: values are
// URL-encoded its way, an escape it does not know is kept as it is, and a
// '%' at the very end too.
func expand(pattern string, f dlrFields) string {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' || i+1 == len(pattern) {
			b.WriteByte(c)
			continue
		}
		i++
		b.WriteString(escape(pattern[i], f))
	}
	return b.String()
}

// escape is the value of one escape code.
func escape(code byte, f dlrFields) string {
	switch code {
	case 'd':
		return strconv.Itoa(f.typ)
	case 'A', 'b':
		return urlEncode(f.reply)
	case 'a':
		words := strings.Fields(f.reply)
		for i, w := range words {
			words[i] = urlEncode(w)
		}
		return strings.Join(words, "+")
	case 'k':
		if w := strings.Fields(f.reply); len(w) > 0 {
			return urlEncode(w[0])
		}
		return ""
	case 'p':
		return urlEncode(f.receiver)
	case 'P':
		return urlEncode(f.sender)
	case 'q':
		return plusForZeros(f.receiver)
	case 'Q':
		return plusForZeros(f.sender)
	case 'i':
		return urlEncode(f.smsc)
	case 'I':
		return f.id
	case 'F':
		return urlEncode(f.foreign)
	case 'n':
		return urlEncode(f.user)
	case 'R':
		return urlEncode(f.url)
	case 't':
		return f.at.UTC().Format("2006-01-02+15:04:05")
	case 'T':
		return strconv.FormatInt(f.at.Unix(), 10)
	case 'D', 'B', 'o', 'u', 'f', 'r', 's', 'S':
		return "" // nothing simgate keeps: meta-data, billing, account, UDH, words after the keyword
	case '%':
		return "%"
	}
	return "%" + string(code)
}

// plusForZeros is %q: a leading "00" becomes an (encoded) '+'.
func plusForZeros(n string) string {
	if rest, ok := strings.CutPrefix(n, "00"); ok {
		return "%2B" + urlEncode(rest)
	}
	return urlEncode(n)
}

// urlEncode is Kannel's octstr_url_encode: space becomes '+', and every
// byte but letters, digits and -_.!~*'() becomes %XX in capitals.
func urlEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			b.WriteByte('+')
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("-_.!~*'()", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
