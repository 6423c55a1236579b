package pdu

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/simgate/simgate/gsm7"
	"github.com/warthog618/sms/encoding/semioctet"
	"github.com/warthog618/sms/encoding/tpdu"
)

// First-octet bits (TS 23.040 §9.2.2).
const (
	mtiDeliver      byte = 0x00
	mtiSubmit       byte = 0x01
	mtiStatusReport byte = 0x02
	foMMS           byte = 0x04 // deliver and status report: no more messages waiting
	foVPFRelative   byte = 0x10
	foSRR           byte = 0x20 // TP-SRR of a submit, TP-SRI of a deliver
	foUDHI          byte = 0x40
)

// EncodeSubmit encodes text to one SMS-SUBMIT per segment for destination to.
// to is "+<digits>" (international, TOA 0x91) or digits (national or short
// code, TOA 0x81).
func EncodeSubmit(to, text string, opts SubmitOptions) (Submit, error) {
	return encodeSubmit(to, text, nil, opts)
}

// EncodeSubmitData encodes 8-bit data (TP-DCS 0x04, or 0x14 flash) to one
// SMS-SUBMIT per segment for destination to, as EncodeSubmit does text:
// 140 octets in one segment, less the header (ports, the caller's UDH,
// concatenation) in each of several.
func EncodeSubmitData(to string, data []byte, opts SubmitOptions) (Submit, error) {
	if data == nil {
		data = []byte{}
	}
	return encodeSubmit(to, "", data, opts)
}

func encodeSubmit(to, text string, data []byte, opts SubmitOptions) (Submit, error) {
	da, err := parseDestination(to)
	if err != nil {
		return Submit{}, fmt.Errorf("destination: %w", err)
	}
	body, err := newBody(text, data, opts.ConcatRef, opts.Concat16, opts.Layout)
	if err != nil {
		return Submit{}, err
	}
	fo := mtiSubmit
	if opts.StatusReport {
		fo |= foSRR
	}
	var vp []byte
	if opts.Validity > 0 {
		fo |= foVPFRelative
		vp = []byte{relativeVP(opts.Validity)}
	}
	sub := Submit{Encoding: body.enc, Segments: make([]Segment, body.count())}
	for i := range sub.Segments {
		b := make([]byte, 0, 1+2+len(da)+2+len(vp)+1+140)
		b = append(b, fo|body.udhi(), opts.MR)
		b = append(b, da...)
		b = append(b, 0x00, body.dcs()) // TP-PID: plain SME-to-SME
		b = append(b, vp...)
		b = body.appendUD(b, i)
		sub.Segments[i] = Segment{PDU: "00" + upperHex(b), TPDULength: len(b)}
	}
	return sub, nil
}

// Preview tells which alphabet text needs, how many segments it takes and how
// many characters are left in the last one.
func Preview(text string) Estimate {
	if n := gsm7.Count(text); n >= 0 && utf8.ValidString(text) {
		if n <= septetsSingle {
			return Estimate{Encoding: GSM7, Segments: min(n, 1), CharsLeft: septetsSingle - n, Units: n}
		}
		s, _ := gsm7.Septets(text)
		chunks := splitSeptets(s, septets8)
		return Estimate{Encoding: GSM7, Segments: len(chunks), CharsLeft: septets8 - len(chunks[len(chunks)-1]), Units: n}
	}
	u := toUTF16(text)
	if len(u) <= ucs2Single {
		return Estimate{Encoding: UCS2, Segments: 1, CharsLeft: ucs2Single - len(u), Units: len(u)}
	}
	chunks := splitUTF16(u, ucs2Concat8)
	return Estimate{Encoding: UCS2, Segments: len(chunks), CharsLeft: ucs2Concat8 - len(chunks[len(chunks)-1]), Units: len(u)}
}

// DeliverOptions tunes EncodeDeliver.
type DeliverOptions struct {
	SMSC      Address   // printed before the TPDU; zero gives "00"
	SCTS      time.Time // service-centre timestamp; its zone is kept, rounded to quarter hours
	ConcatRef int       // reference when the text needs more than one segment
	Concat16  bool
	Layout    // alphabet, class, header
}

// EncodeDeliver builds the SMS-DELIVER PDUs (hex with SMSC prefix, as a modem
// prints them) that a phone receives for text from from. Virtual modems and
// tests use it. from may be international ("+…"), national or short-code
// digits, or alphanumeric (at most 11 GSM-7 characters); a zero TOA is
// inferred from the number.
func EncodeDeliver(from Address, text string, opts DeliverOptions) ([]string, error) {
	return encodeDeliver(from, text, nil, opts)
}

// EncodeDeliverData builds the SMS-DELIVER PDUs of 8-bit data from from,
// as EncodeDeliver does text.
func EncodeDeliverData(from Address, data []byte, opts DeliverOptions) ([]string, error) {
	if data == nil {
		data = []byte{}
	}
	return encodeDeliver(from, "", data, opts)
}

func encodeDeliver(from Address, text string, data []byte, opts DeliverOptions) ([]string, error) {
	smsc, err := encodeSMSC(opts.SMSC)
	if err != nil {
		return nil, fmt.Errorf("smsc: %w", err)
	}
	oa, err := encodeAddress(from)
	if err != nil {
		return nil, fmt.Errorf("originator: %w", err)
	}
	scts, err := encodeTimestamp(opts.SCTS)
	if err != nil {
		return nil, fmt.Errorf("scts: %w", err)
	}
	body, err := newBody(text, data, opts.ConcatRef, opts.Concat16, opts.Layout)
	if err != nil {
		return nil, err
	}
	out := make([]string, body.count())
	for i := range out {
		b := make([]byte, 0, len(smsc)+1+len(oa)+2+7+1+140)
		b = append(b, smsc...)
		b = append(b, mtiDeliver|foMMS|body.udhi())
		b = append(b, oa...)
		b = append(b, 0x00, body.dcs())
		b = append(b, scts...)
		b = body.appendUD(b, i)
		out[i] = upperHex(b)
	}
	return out, nil
}

// StatusReport is the content of an SMS-STATUS-REPORT to encode.
type StatusReport struct {
	SMSC          Address
	MR            int
	Recipient     Address
	SCTS          time.Time
	DischargeTime time.Time
	Status        byte
}

// EncodeStatusReport builds an SMS-STATUS-REPORT PDU (hex with SMSC prefix).
func EncodeStatusReport(r StatusReport) (string, error) {
	smsc, err := encodeSMSC(r.SMSC)
	if err != nil {
		return "", fmt.Errorf("smsc: %w", err)
	}
	if r.MR < 0 || r.MR > 255 {
		return "", fmt.Errorf("message reference %d is not an octet", r.MR)
	}
	ra, err := encodeAddress(r.Recipient)
	if err != nil {
		return "", fmt.Errorf("recipient: %w", err)
	}
	scts, err := encodeTimestamp(r.SCTS)
	if err != nil {
		return "", fmt.Errorf("scts: %w", err)
	}
	dt, err := encodeTimestamp(r.DischargeTime)
	if err != nil {
		return "", fmt.Errorf("discharge time: %w", err)
	}
	b := make([]byte, 0, len(smsc)+2+len(ra)+7+7+1)
	b = append(b, smsc...)
	b = append(b, mtiStatusReport|foMMS, byte(r.MR))
	b = append(b, ra...)
	b = append(b, scts...)
	b = append(b, dt...)
	b = append(b, r.Status)
	return upperHex(b), nil
}

// relativeVP is the relative TP-VP octet (TS 23.040 §9.2.3.12.1) for the
// shortest period of at least d, capped at 63 weeks.
func relativeVP(d time.Duration) byte {
	ceil := func(d, unit time.Duration) int { return int((d + unit - 1) / unit) }
	const day = 24 * time.Hour
	switch {
	case d <= 12*time.Hour: // 0–143: (VP+1) × 5 min
		return byte(max(ceil(d, 5*time.Minute)-1, 0))
	case d <= day: // 144–167: 12 h + (VP−143) × 30 min
		return byte(143 + ceil(d-12*time.Hour, 30*time.Minute))
	case d <= 30*day: // 168–196: (VP−166) days
		return byte(166 + ceil(d, day))
	case d <= 63*7*day: // 197–255: (VP−192) weeks
		return byte(192 + ceil(d, 7*day))
	default:
		return 255
	}
}

// parseDestination encodes to as a TP-DA: "+" and 1–20 digits is
// international, digits alone are national or a short code.
func parseDestination(to string) ([]byte, error) {
	toa := TOAUnknown
	digits := to
	if strings.HasPrefix(to, "+") {
		toa, digits = TOAInternational, to[1:]
	}
	if !isDigits(digits) {
		return nil, ErrInvalidAddress
	}
	return appendDigitsAddress(nil, toa, digits)
}

func isDigits(s string) bool {
	if len(s) < 1 || len(s) > 20 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// appendDigitsAddress appends an address field: length in digits, TOA,
// digits in swapped semi-octets (TS 23.040 §9.1.2.5). The library's sms.To
// is not used because it marks every number international.
func appendDigitsAddress(dst []byte, toa byte, digits string) ([]byte, error) {
	so, err := semioctet.Encode([]byte(digits))
	if err != nil {
		return nil, err
	}
	dst = append(dst, byte(len(digits)), toa)
	return append(dst, so...), nil
}

// encodeAddress encodes a TP-OA or TP-RA. A zero TOA is inferred: "+" is
// international, digits are unknown (0x81), anything else alphanumeric.
func encodeAddress(a Address) ([]byte, error) {
	toa := a.TOA
	number := a.Number
	plus := strings.HasPrefix(number, "+")
	if toa == 0 {
		switch {
		case plus:
			toa = TOAInternational
		case isDigits(number):
			toa = TOAUnknown
		default:
			toa = TOAAlphanumeric
		}
	}
	if toa&0x70 == 0x50 { // TON alphanumeric: GSM-7 packed, §9.1.2.5
		// Not the library's Address: it cannot write extension characters.
		septets, ok := gsm7.Septets(number)
		if !ok || len(septets) == 0 || len(septets) > 11 {
			return nil, ErrInvalidAddress
		}
		b := []byte{byte((len(septets)*7 + 3) / 4), toa}
		return append(b, gsm7.Pack(septets, 0)...), nil
	}
	if plus {
		if toa&0x70 != 0x10 {
			return nil, ErrInvalidAddress
		}
		number = number[1:]
	}
	if !isDigits(number) {
		return nil, ErrInvalidAddress
	}
	return appendDigitsAddress(nil, toa, number)
}

// encodeSMSC encodes the SMSC prefix: "00" when a is zero, else the length
// in octets (TOA included), the TOA and the digits (TS 24.011 §8.2.5.1).
func encodeSMSC(a Address) ([]byte, error) {
	if a.Number == "" {
		return []byte{0}, nil
	}
	toa := a.TOA
	number := a.Number
	if strings.HasPrefix(number, "+") {
		number = number[1:]
		if toa == 0 {
			toa = TOAInternational
		}
	}
	if toa == 0 {
		toa = TOAUnknown
	}
	if !isDigits(number) {
		return nil, ErrInvalidAddress
	}
	so, err := semioctet.Encode([]byte(number))
	if err != nil {
		return nil, err
	}
	return append([]byte{byte(1 + len(so)), toa}, so...), nil
}

// encodeTimestamp encodes t as TP-SCTS (TS 23.040 §9.2.3.11) in its own
// zone. A zero t is the Unix epoch.
func encodeTimestamp(t time.Time) ([]byte, error) {
	if t.IsZero() {
		t = time.Unix(0, 0).UTC()
	}
	ts := tpdu.Timestamp{Time: t}
	return ts.MarshalBinary()
}

const hexDigits = "0123456789ABCDEF"

func upperHex(b []byte) string {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i] = hexDigits[c>>4]
		out[2*i+1] = hexDigits[c&0x0F]
	}
	return string(out)
}
