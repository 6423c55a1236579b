package spool

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/simgate/simgate/gsm7"
)

// Outgoing is an SMS file of smstools' outgoing directory, as understood.
type Outgoing struct {
	// To is the recipient: "+" and digits for an international number,
	// the digits alone for a short or national one.
	To       string
	Text     string
	Priority string // "high", "low" or "" (normal)
	// Report is the Report: header; nil when absent (the gateway's default).
	Report   *bool
	Validity time.Duration // 0 when absent
	// Flash is Flash: yes, a class 0 message.
	Flash bool
	// Data is the message of a binary file (Alphabet: binary), Text then
	// empty; nil for a text message.
	Data []byte
	// UDH is a user data header with its length octet: UDH-DATA:, or the
	// start of a binary file's data while UDH: is yes (smstools' default).
	UDH []byte
}

// fileOptions are the headers that say how to read the rest of the file.
type fileOptions struct {
	alphabet string
	udh      bool // a binary file's data starts with a UDH
	hex      bool // a binary file's data is written in hex
}

// ParseOutgoing reads an SMS file: header lines ("Name: value"), an empty
// line, then the text. Headers are matched without regard to case;
// unknown headers are ignored, as smstools does.
func ParseOutgoing(b []byte) (*Outgoing, error) {
	head, body, ok := splitHeaders(b)
	if !ok {
		return nil, errors.New("no empty line between the headers and the text")
	}
	o := Outgoing{}
	opts := fileOptions{udh: true}
	for i, line := range strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, found := strings.Cut(line, ":")
		if !found {
			return nil, fmt.Errorf("line %d is not a header (Name: value): %.40q", i+1, line)
		}
		if err := o.header(strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value), &opts); err != nil {
			return nil, err
		}
	}
	if o.To == "" {
		return nil, errors.New("no To: header")
	}
	if strings.HasPrefix(strings.ToUpper(opts.alphabet), "BIN") {
		return &o, o.binary(body, opts)
	}
	text, err := decodeText(opts.alphabet, bytes.TrimRight(body, "\r\n"))
	if err != nil {
		return nil, err
	}
	if text == "" {
		return nil, errors.New("the text is empty")
	}
	o.Text = text
	return &o, nil
}

// binary reads a binary file's data: the bytes to the end of the file (or
// their hex with Hex: yes), a UDH first while UDH: is yes and no UDH-DATA:
// gave one.
func (o *Outgoing) binary(body []byte, opts fileOptions) error {
	data := body
	if opts.hex {
		var err error
		if data, err = parseHex(string(body)); err != nil {
			return fmt.Errorf("header Hex: yes, but the data is not hex: %w", err)
		}
	}
	if opts.udh && o.UDH == nil && len(data) > 0 {
		n := 1 + int(data[0])
		if len(data) < n {
			return fmt.Errorf("the data's user data header says %d bytes, the data has %d (UDH: no if it has none)", n-1, len(data)-1)
		}
		o.UDH, data = data[:n], data[n:]
	}
	if len(data) == 0 && o.UDH == nil {
		return errors.New("the data is empty")
	}
	o.Data = append([]byte{}, data...)
	return nil
}

// parseHex reads hex digits, spaces and line breaks allowed between bytes.
func parseHex(s string) ([]byte, error) {
	return hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\r", "", "\t", "").Replace(s))
}

// header applies one header line.
func (o *Outgoing) header(name, value string, opts *fileOptions) error {
	var err error
	switch name {
	case "to":
		o.To, err = parseTo(value)
	case "alphabet":
		opts.alphabet = value
	case "flash":
		o.Flash, err = parseBool(name, value)
	case "udh":
		opts.udh, err = parseBool(name, value)
	case "hex":
		opts.hex, err = parseBool(name, value)
	case "udh-data":
		if o.UDH, err = parseHex(value); err == nil && (len(o.UDH) == 0 || int(o.UDH[0]) != len(o.UDH)-1) {
			err = fmt.Errorf("header UDH-DATA: %q is not a user data header starting with its length", value)
		}
	case "priority":
		switch strings.ToLower(value) {
		case "high", "yes", "true", "1":
			o.Priority = "high"
		case "low":
			o.Priority = "low"
		}
	case "report":
		var r bool
		if r, err = parseBool(name, value); err == nil {
			o.Report = &r
		}
	case "validity":
		o.Validity, err = parseValidity(value)
	}
	return err
}

// splitHeaders cuts b at its first empty line: head keeps its last line
// ending.
func splitHeaders(b []byte) (head, body []byte, ok bool) {
	end, start, ok := headerEnd(b)
	if !ok {
		return b, nil, false
	}
	return b[:end], b[start:], true
}

// headerEnd finds the first empty line: end is just after the line ending
// of the last header, start where the text begins.
func headerEnd(b []byte) (end, start int, ok bool) {
	switch {
	case bytes.HasPrefix(b, []byte("\n")):
		return 0, 1, true
	case bytes.HasPrefix(b, []byte("\r\n")):
		return 0, 2, true
	}
	i, j := bytes.Index(b, []byte("\n\n")), bytes.Index(b, []byte("\n\r\n"))
	switch {
	case i >= 0 && (j < 0 || i < j):
		return i + 1, i + 2, true
	case j >= 0:
		return j + 1, j + 3, true
	}
	return len(b), len(b), false
}

// parseTo reads smstools' To: an international number without its "+"
// (a "+" is allowed), grouped with spaces or not; "s" before a short
// number.
func parseTo(v string) (string, error) {
	n := strings.ReplaceAll(v, " ", "")
	short := strings.HasPrefix(n, "s")
	n = strings.TrimPrefix(strings.TrimPrefix(n, "s"), "+")
	if n == "" || strings.Trim(n, "0123456789") != "" {
		return "", fmt.Errorf("header To: %q is not a phone number", v)
	}
	if short {
		return n, nil
	}
	return "+" + n, nil
}

func parseBool(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes", "true", "on", "1":
		return true, nil
	case "no", "false", "off", "0", "":
		return false, nil
	}
	return false, fmt.Errorf("%s: %q is neither yes nor no", name, v)
}

// parseValidity reads a relative validity: a TP-VP code 0–255 (TS 23.040
// §9.2.3.12.1) or a number with a unit (min, hour, day, week), or "max".
func parseValidity(v string) (time.Duration, error) {
	s := strings.ToLower(strings.ReplaceAll(v, " ", ""))
	if s == "max" {
		return 63 * 7 * 24 * time.Hour, nil
	}
	if code, err := strconv.Atoi(s); err == nil {
		if code < 0 || code > 255 {
			return 0, fmt.Errorf("header Validity: %d is not within 0–255", code)
		}
		return vpDuration(code), nil
	}
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	n, err := strconv.Atoi(s[:max(i, 0)])
	if i <= 0 || err != nil || n <= 0 {
		return 0, fmt.Errorf("header Validity: %q is neither 0–255 nor a number with min, hour, day or week", v)
	}
	units := map[string]time.Duration{"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute,
		"minutes": time.Minute, "h": time.Hour, "hour": time.Hour, "hours": time.Hour, "d": 24 * time.Hour, "day": 24 * time.Hour,
		"days": 24 * time.Hour, "w": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour}
	unit, ok := units[s[i:]]
	if !ok {
		return 0, fmt.Errorf("header Validity: unknown unit %q (want min, hour, day or week)", s[i:])
	}
	return time.Duration(n) * unit, nil
}

// vpDuration is the period a relative TP-VP code stands for.
func vpDuration(code int) time.Duration {
	switch {
	case code <= 143:
		return time.Duration(code+1) * 5 * time.Minute
	case code <= 167:
		return 12*time.Hour + time.Duration(code-143)*30*time.Minute
	case code <= 196:
		return time.Duration(code-166) * 24 * time.Hour
	}
	return time.Duration(code-192) * 7 * 24 * time.Hour
}

// decodeText converts the text from the file's alphabet. smstools reads
// only the first three letters of Alphabet:. Without one, UTF-8 is taken
// when the text is valid UTF-8 and ISO-8859-15 (smstools' default)
// otherwise.
func decodeText(alphabet string, b []byte) (string, error) {
	key := strings.ToUpper(alphabet)
	if len(key) > 3 {
		key = key[:3]
	}
	switch key {
	case "":
		if utf8.Valid(b) {
			return string(b), nil
		}
		return latin9(b), nil
	case "UTF":
		if !utf8.Valid(b) {
			return "", errors.New("header Alphabet: UTF-8, but the text is not valid UTF-8")
		}
		return string(b), nil
	case "ISO", "LAT", "ANS":
		return latin9(b), nil
	case "GSM":
		for _, c := range b {
			if c >= 0x80 {
				return "", fmt.Errorf("header Alphabet: GSM, but the text has the byte 0x%02X, outside the 7-bit alphabet", c)
			}
		}
		return gsm7.Decode(b, 0, 0), nil
	case "UCS", "CHI", "UNI":
		if len(b)%2 != 0 {
			return "", errors.New("header Alphabet: UCS2, but the text has an odd number of bytes")
		}
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		}
		return string(utf16.Decode(u)), nil
	}
	return "", fmt.Errorf("header Alphabet: unknown %q (want ISO, GSM, UCS2, UTF-8 or binary)", alphabet)
}

// latin9 decodes ISO-8859-15: Latin-1 but for eight code points.
func latin9(b []byte) string {
	diff := map[byte]rune{0xA4: '€', 0xA6: 'Š', 0xA8: 'š', 0xB4: 'Ž', 0xB8: 'ž', 0xBC: 'Œ', 0xBD: 'œ', 0xBE: 'Ÿ'}
	var sb strings.Builder
	for _, c := range b {
		if r, ok := diff[c]; ok {
			sb.WriteRune(r)
		} else {
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}

// withHeaders adds lines at the end of b's headers, as smstools adds
// Sent:, Modem: or Failed: to a file it moves, in the file's line ending.
func withHeaders(b []byte, lines []string) []byte {
	nl := "\n"
	if bytes.Contains(b, []byte("\r\n")) {
		nl = "\r\n"
	}
	add := strings.Join(lines, nl) + nl
	at, _, ok := headerEnd(b)
	if !ok {
		out := append([]byte(nil), b...)
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
			out = append(out, nl...)
		}
		return append(out, add...)
	}
	out := make([]byte, 0, len(b)+len(add))
	out = append(out, b[:at]...)
	out = append(out, add...)
	return append(out, b[at:]...)
}
