package pdu

import (
	"encoding/hex"
	"errors"
	"strings"

	"github.com/simgate/simgate/gsm7"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// Errors a DecodeError wraps besides those of the sms library.
var (
	// ErrOddLength is a hex PDU with an odd number of digits.
	ErrOddLength = errors.New("odd number of hex digits")
	// ErrTruncated is a PDU that ends before a field it announces.
	ErrTruncated = errors.New("truncated")
	// ErrUnsupportedType is a TPDU whose MTI is reserved (3).
	ErrUnsupportedType = errors.New("unsupported message type")
	// ErrInvalidConcat is a concatenation header whose part number is 0 or
	// above the total.
	ErrInvalidConcat = errors.New("invalid concatenation header")
)

// Information element identifiers (TS 23.040 §9.2.3.24).
const (
	ieiConcat8      byte = 0x00
	ieiConcat16     byte = 0x08
	ieiNationalSS   byte = 0x24 // national language single shift (§9.2.3.24.15)
	ieiNationalLock byte = 0x25 // national language locking shift (§9.2.3.24.16)
)

// Decode decodes a PDU as a modem prints it (+CMGR, +CMGL, +CMT, +CDS):
// hex with the SMSC prefix. The type follows the MTI as seen by the mobile:
// 0 deliver, 1 submit, 2 status report.
//
// Errors are *DecodeError, located in octets of the PDU as printed.
func Decode(hexPDU string) (*Message, error) {
	gsm7.Warm()
	s := strings.TrimSpace(hexPDU)
	if len(s)%2 != 0 {
		return nil, &DecodeError{Field: "hex", Offset: len(s) / 2, Err: ErrOddLength}
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, &DecodeError{Field: "hex", Offset: hexErrorOffset(s), Err: err}
	}
	var smsc pdumode.SMSCAddress
	n, err := smsc.UnmarshalBinary(b)
	if err != nil {
		field, off, inner := libError(err)
		return nil, &DecodeError{Field: "smsc." + field, Offset: off, Err: inner}
	}
	m := &Message{}
	if smsc.Addr != "" {
		m.SMSC = numberAddress(smsc.TOA, smsc.Addr)
	}
	tp := b[n:]
	if len(tp) == 0 {
		return nil, &DecodeError{Field: "tpdu", Offset: n, Err: ErrTruncated}
	}
	t, err := unmarshalTPDU(tp)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Offset += n
		}
		return nil, err
	}
	if err := fill(m, t); err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Offset += n + udOffset(tp)
		}
		return nil, err
	}
	m.UDH = rawUDH(tp, t)
	return m, nil
}

// unmarshalTPDU runs the library's decoder with the direction the MTI
// implies, and retries around its known faults on real PDUs.
func unmarshalTPDU(tp []byte) (*tpdu.TPDU, error) {
	var dir tpdu.Direction
	switch tp[0] & 0x03 {
	case mtiDeliver, mtiStatusReport:
		dir = tpdu.MT
	case mtiSubmit:
		dir = tpdu.MO // the library reads MTI 1 as SUBMIT-REPORT otherwise
	default:
		return nil, &DecodeError{Field: "mti", Offset: 0, Err: ErrUnsupportedType}
	}
	mti := tp[0] & 0x03
	if mti == mtiStatusReport {
		// Some SCs pad reports with 0xFF, which the library reads as a
		// TP-PI announcing fields that are not there (libgammu skips it
		// on purpose too).
		if end := srMandatoryEnd(tp); end > 0 && end < len(tp) && tp[end] == 0xFF {
			tp = tp[:end]
		}
	}
	t := &tpdu.TPDU{Direction: dir}
	err := t.UnmarshalBinary(tp)
	if err == nil {
		return t, nil
	}
	field, off, inner := libError(err)
	// User data longer than TP-UDL says: gammu reads TP-UDL worth and
	// ignores the rest, and so do we (a short one stays an error).
	if mti == mtiDeliver && inner == tpdu.ErrOverlength {
		if cut, ok := cutSurplusUD(tp); ok {
			t2 := &tpdu.TPDU{Direction: dir}
			err := t2.UnmarshalBinary(cut)
			if err == nil {
				return t2, nil
			}
			tp = cut
			field, off, inner = libError(err)
		}
	}
	// An alphanumeric originator with an extension character: the
	// library decodes it strictly without the extension table.
	if mti == mtiDeliver && field == "oa.addr" && len(tp) > 2 && tp[2]&0x70 == 0x50 {
		if t2, ok := retryAlphanumericOA(tp, dir); ok {
			return t2, nil
		}
	}
	// 8n−1 septets padded with CR (TS 23.038 §6.1.2.1.1 allows it; the
	// library wants zero fill): clear the unused top bits and retry.
	if inner == tpdu.ErrOverlength && strings.HasPrefix(field, "ud") {
		fixed := append([]byte(nil), tp...)
		fixed[len(fixed)-1] &= 0x01
		t2 := &tpdu.TPDU{Direction: dir}
		if t2.UnmarshalBinary(fixed) == nil {
			return t2, nil
		}
	}
	// A status report whose optional tail is broken: what matters (MR,
	// recipient, times, status) comes before it.
	if mti == mtiStatusReport {
		if end := srMandatoryEnd(tp); end > 0 && end < len(tp) && off >= end {
			t2 := &tpdu.TPDU{Direction: dir}
			if t2.UnmarshalBinary(tp[:end]) == nil {
				return t2, nil
			}
		}
	}
	return nil, &DecodeError{Field: field, Offset: off, Err: inner}
}

// cutSurplusUD is an SMS-DELIVER cut after the user data its TP-UDL
// announces, and whether there was anything to cut.
func cutSurplusUD(tp []byte) ([]byte, bool) {
	udl := udOffset(tp)
	if udl >= len(tp) || udl < 8 {
		return nil, false
	}
	alpha, err := tpdu.DCS(tp[udl-8]).Alphabet()
	if err != nil {
		return nil, false
	}
	n := int(tp[udl])
	if alpha == tpdu.Alpha7Bit {
		n = (n*7 + 7) / 8
	}
	end := udl + 1 + n
	if end >= len(tp) {
		return nil, false
	}
	return tp[:end], true
}

// retryAlphanumericOA decodes an alphanumeric TP-OA leniently, with the
// extension table, and the rest of the TPDU with the library.
func retryAlphanumericOA(tp []byte, dir tpdu.Direction) (*tpdu.TPDU, bool) {
	l := int(tp[1])
	ol := (l + 1) / 2
	if len(tp) < 3+ol {
		return nil, false
	}
	septets := gsm7.Unpack(tp[3:3+ol], 0)
	septets = septets[:min(len(septets), l*4/7)]
	name := gsm7.Decode(septets, 0, 0)
	// Same TPDU with an empty numeric OA in its place.
	rest := make([]byte, 0, len(tp))
	rest = append(rest, tp[0], 0x00, TOAUnknown)
	rest = append(rest, tp[3+ol:]...)
	t := &tpdu.TPDU{Direction: dir}
	if t.UnmarshalBinary(rest) != nil {
		return nil, false
	}
	t.OA = tpdu.Address{TOA: tp[2], Addr: name}
	return t, true
}

// srMandatoryEnd is the length of a status report up to and including
// TP-ST, or 0 when tp is too short to tell.
func srMandatoryEnd(tp []byte) int {
	if len(tp) < 3 {
		return 0
	}
	return 2 + 2 + (int(tp[2])+1)/2 + 7 + 7 + 1
}

// udOffset is the offset of TP-UDL in a TPDU the library accepted.
func udOffset(tp []byte) int {
	switch tp[0] & 0x03 {
	case mtiDeliver:
		return 1 + 2 + (int(tp[1])+1)/2 + 2 + 7
	case mtiSubmit:
		vp := 0
		switch tp[0] & 0x18 {
		case 0x10:
			vp = 1
		case 0x08, 0x18:
			vp = 7
		}
		return 2 + 2 + (int(tp[2])+1)/2 + 2 + vp
	default:
		end := srMandatoryEnd(tp)
		if end >= len(tp) {
			return end
		}
		pi := tp[end]
		off := end + 1
		if pi&0x01 != 0 {
			off++
		}
		if pi&0x02 != 0 {
			off++
		}
		return off
	}
}

// fill copies the fields of t into m and decodes the user data.
func fill(m *Message, t *tpdu.TPDU) error {
	m.PID = t.PID
	m.DCS = byte(t.DCS)
	switch t.SmsType() {
	case tpdu.SmsDeliver:
		m.Type = TypeDeliver
		m.From = tpduAddress(t.OA)
		m.SCTS = t.SCTS.Time
		m.StatusReportRequest = t.FirstOctet.SRI()
	case tpdu.SmsSubmit:
		m.Type = TypeSubmit
		m.To = tpduAddress(t.DA)
		m.MR = int(t.MR)
		m.StatusReportRequest = t.FirstOctet.SRR()
		switch t.VP.Format {
		case tpdu.VpfRelative, tpdu.VpfEnhanced:
			m.Validity = t.VP.Duration
		case tpdu.VpfAbsolute:
			m.ValidUntil = t.VP.Time.Time
		}
	case tpdu.SmsStatusReport:
		m.Type = TypeStatusReport
		m.Recipient = tpduAddress(t.RA)
		m.MR = int(t.MR)
		m.SCTS = t.SCTS.Time
		m.DischargeTime = t.DT.Time
		m.Status = &Status{Code: t.ST, Class: statusClass(t.ST)}
	}
	return fillUserData(m, t)
}

func fillUserData(m *Message, t *tpdu.TPDU) error {
	if c, ok, err := concatInfo(t.UDH); err != nil {
		return err
	} else if ok {
		m.Concat = &c
	}
	m.Ports = portsInfo(t.UDH)
	m.Flash = flashDCS(byte(t.DCS))
	alpha, err := t.Alphabet()
	if err != nil {
		alpha = tpdu.Alpha7Bit // reserved coding groups read as GSM-7 (TS 23.038 §4)
	}
	if t.SmsType() == tpdu.SmsStatusReport && !t.PI.UDL() {
		return nil // no user data: Encoding stays empty
	}
	m.UD = append([]byte(nil), t.UD...)
	switch alpha {
	case tpdu.AlphaUCS2:
		m.Encoding = UCS2
		m.Text = decodeUCS2(t.UD)
	case tpdu.Alpha8Bit:
		m.Encoding = Octet
		m.Data = append([]byte(nil), t.UD...)
	default:
		m.Encoding = GSM7
		// The library looks for the national language IEs under 0x18 and
		// 0x19 instead of 0x24 and 0x25, so real Turkish, Spanish or
		// Portuguese messages would come out in the default table.
		m.LockingShift = nationalLanguage(t.UDH, ieiNationalLock)
		m.SingleShift = nationalLanguage(t.UDH, ieiNationalSS)
		m.Text = gsm7.Decode(t.UD, m.LockingShift, m.SingleShift)
	}
	return nil
}

// concatInfo reads the concatenation IE itself, as the library's
// ConcatInfo does not tell an 8-bit reference from a 16-bit one.
func concatInfo(udh tpdu.UserDataHeader) (Concat, bool, error) {
	// Offsets of each IE from TP-UDL, for the error.
	offsets := make([]int, len(udh))
	off := 2 // past TP-UDL and TP-UDHL
	for i, ie := range udh {
		offsets[i] = off
		off += 2 + len(ie.Data)
	}
	for i := len(udh) - 1; i >= 0; i-- {
		ie := udh[i]
		var c Concat
		switch {
		case ie.ID == ieiConcat8 && len(ie.Data) == 3:
			c = Concat{Ref: int(ie.Data[0]), Total: int(ie.Data[1]), Part: int(ie.Data[2]), Bits: 8}
		case ie.ID == ieiConcat16 && len(ie.Data) == 4:
			c = Concat{Ref: int(ie.Data[0])<<8 | int(ie.Data[1]), Total: int(ie.Data[2]), Part: int(ie.Data[3]), Bits: 16}
		default:
			continue
		}
		if c.Part < 1 || c.Part > c.Total {
			return Concat{}, false, &DecodeError{Field: "udh.concat", Offset: offsets[i], Err: ErrInvalidConcat}
		}
		return c, true, nil
	}
	return Concat{}, false, nil
}

// portsInfo reads the last application port IE, 8- or 16-bit
// (TS 23.040 §9.2.3.24.3/.4); nil when there is none.
func portsInfo(udh tpdu.UserDataHeader) *Ports {
	for i := len(udh) - 1; i >= 0; i-- {
		ie := udh[i]
		switch {
		case ie.ID == ieiPorts16 && len(ie.Data) == 4:
			return &Ports{Dest: int(ie.Data[0])<<8 | int(ie.Data[1]), Source: int(ie.Data[2])<<8 | int(ie.Data[3]), Bits: 16}
		case ie.ID == ieiPorts8 && len(ie.Data) == 2:
			return &Ports{Dest: int(ie.Data[0]), Source: int(ie.Data[1]), Bits: 8}
		}
	}
	return nil
}

// flashDCS reports whether a TP-DCS gives message class 0 (TS 23.038 §4):
// the general groups with their class bit set, or the data coding group.
func flashDCS(dcs byte) bool {
	switch {
	case dcs&0x80 == 0: // 00xx and 01xx: general data coding
		return dcs&0x10 != 0 && dcs&0x03 == 0
	case dcs&0xF0 == 0xF0: // data coding/message class
		return dcs&0x03 == 0
	}
	return false
}

// rawUDH is the TP-UDH of tp with its length octet, nil when the library
// found none in t.
func rawUDH(tp []byte, t *tpdu.TPDU) []byte {
	if len(t.UDH) == 0 {
		return nil
	}
	off := udOffset(tp) + 1 // past TP-UDL
	if off >= len(tp) || off+1+int(tp[off]) > len(tp) {
		return nil
	}
	return append([]byte(nil), tp[off:off+1+int(tp[off])]...)
}

// nationalLanguage is the language of the last IE id, 0 when absent or
// unknown to the library.
func nationalLanguage(udh tpdu.UserDataHeader, id byte) int {
	ie, ok := udh.IE(id)
	if !ok || len(ie.Data) < 1 {
		return 0
	}
	nli := int(ie.Data[0])
	if nli < 1 || nli > 13 {
		return 0
	}
	return nli
}

func statusClass(st byte) StatusClass {
	switch {
	case st < 0x20:
		return StatusDelivered
	case st < 0x40:
		return StatusPending
	default:
		return StatusFailed
	}
}

func tpduAddress(a tpdu.Address) Address {
	if a.TOA&0x70 == 0x50 {
		return Address{Number: a.Addr, TOA: a.TOA}
	}
	return numberAddress(a.TOA, a.Addr)
}

func numberAddress(toa byte, digits string) Address {
	if toa&0x70 == 0x10 && digits != "" {
		return Address{Number: "+" + digits, TOA: toa}
	}
	return Address{Number: digits, TOA: toa}
}

// libError takes apart an error of the sms library: its DecodeError is a
// value type without Unwrap, and its field path starts with the TPDU type.
func libError(err error) (field string, offset int, inner error) {
	var de tpdu.DecodeError
	if !errors.As(err, &de) {
		return "tpdu", 0, err
	}
	field = de.Field
	if i := strings.IndexByte(field, '.'); i >= 0 && strings.HasPrefix(field, "Sms") {
		field = field[i+1:]
	}
	return field, de.Offset, de.Err
}

// hexErrorOffset is the octet offset of the first non-hex character.
func hexErrorOffset(s string) int {
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return i / 2
		}
	}
	return 0
}
