package modemsim

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/simgate/simgate/pdu"
)

// The virtual network forwards each SMS-SUBMIT part as an SMS-DELIVER by
// rewriting the TPDU header and copying TP-PID, TP-DCS, TP-UDL and TP-UD
// verbatim. Re-encoding the decoded text with pdu.EncodeDeliver would lose
// what the recipient must see unchanged: the sender's concatenation UDH
// (reference, part, total), 8-bit data and the sender's segmentation.

var errShortTPDU = errors.New("tpdu too short")

// splitSMSC splits a PDU as written after the "> " prompt into the SMSC
// prefix and the TPDU.
func splitSMSC(b []byte) (smsc, tpdu []byte, err error) {
	if len(b) == 0 {
		return nil, nil, errShortTPDU
	}
	n := int(b[0])
	if len(b) < 1+n {
		return nil, nil, fmt.Errorf("smsc length %d: %w", n, errShortTPDU)
	}
	return b[:1+n], b[1+n:], nil
}

// submitToDeliver turns an SMS-SUBMIT TPDU (TS 23.040 §9.2.2.2) into the
// SMS-DELIVER TPDU (§9.2.2.1) the recipient gets from originator from.
func submitToDeliver(submit []byte, from pdu.Address, scts time.Time) ([]byte, error) {
	if len(submit) < 7 {
		return nil, errShortTPDU
	}
	fo := submit[0]
	if fo&0x03 != 0x01 {
		return nil, fmt.Errorf("first octet %02X: not an sms-submit", fo)
	}
	i := 2 // first octet, TP-MR
	daDigits := int(submit[i])
	i += 2 + (daDigits+1)/2 // length, type of address, semi-octets
	if i+2 > len(submit) {
		return nil, fmt.Errorf("destination address: %w", errShortTPDU)
	}
	pid, dcs := submit[i], submit[i+1]
	i += 2
	switch fo & 0x18 { // TP-VPF
	case 0x10:
		i++
	case 0x08, 0x18:
		i += 7
	}
	if i >= len(submit) {
		return nil, fmt.Errorf("user data: %w", errShortTPDU)
	}
	ud := submit[i:] // TP-UDL and TP-UD

	oa, err := encodeAddress(from)
	if err != nil {
		return nil, err
	}
	// TP-MTI 00, TP-MMS set (no more messages waiting), TP-UDHI as sent.
	out := []byte{0x04 | fo&0x40}
	out = append(out, oa...)
	out = append(out, pid, dcs)
	out = append(out, encodeSCTS(scts)...)
	return append(out, ud...), nil
}

// encodeAddress encodes an originating or destination address field
// (TS 23.040 §9.1.2.5) for a numeric address.
func encodeAddress(a pdu.Address) ([]byte, error) {
	digits := strings.TrimPrefix(a.Number, "+")
	if digits == "" || len(digits) > 20 || strings.Trim(digits, "0123456789") != "" {
		return nil, fmt.Errorf("encode address %q: %w", a.Number, pdu.ErrInvalidAddress)
	}
	toa := a.TOA
	if toa == 0 {
		toa = pdu.TOAUnknown
		if strings.HasPrefix(a.Number, "+") {
			toa = pdu.TOAInternational
		}
	}
	return append([]byte{byte(len(digits)), toa}, semiOctets(digits)...), nil
}

// encodeSMSC encodes the SMSC prefix printed before a TPDU (TS 27.005 §3.1,
// <pdu>): the length counts the type-of-address octet.
func encodeSMSC(number string) []byte {
	if number == "" {
		return []byte{0}
	}
	a, err := encodeAddress(address(number))
	if err != nil {
		return []byte{0}
	}
	return append([]byte{byte(len(a) - 1)}, a[1:]...)
}

// semiOctets packs decimal digits two per octet, low nibble first, padding
// an odd count with F.
func semiOctets(digits string) []byte {
	out := make([]byte, 0, (len(digits)+1)/2)
	for i := 0; i < len(digits); i += 2 {
		lo := digits[i] - '0'
		hi := byte(0x0F)
		if i+1 < len(digits) {
			hi = digits[i+1] - '0'
		}
		out = append(out, hi<<4|lo)
	}
	return out
}

// encodeSCTS encodes a service-centre time stamp (TS 23.040 §9.2.3.11).
func encodeSCTS(t time.Time) []byte {
	_, off := t.Zone()
	q := off / (15 * 60)
	neg := q < 0
	if neg {
		q = -q
	}
	swap := func(v int) byte { return byte(v%10)<<4 | byte(v/10%10) }
	tz := swap(q)
	if neg {
		tz |= 0x08
	}
	return []byte{
		swap(t.Year() % 100), swap(int(t.Month())), swap(t.Day()),
		swap(t.Hour()), swap(t.Minute()), swap(t.Second()), tz,
	}
}

// address types a number as the network writes it: international with a
// leading "+", digits as unknown, anything else as an alphanumeric sender.
func address(number string) pdu.Address {
	switch {
	case strings.HasPrefix(number, "+"):
		return pdu.Address{Number: number, TOA: pdu.TOAInternational}
	case number != "" && strings.Trim(number, "0123456789") == "":
		return pdu.Address{Number: number, TOA: pdu.TOAUnknown}
	default:
		return pdu.Address{Number: number, TOA: pdu.TOAAlphanumeric}
	}
}

// hexUpper formats b as a modem prints PDUs.
func hexUpper(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }
