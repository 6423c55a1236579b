package pdu

import (
	"errors"
	"time"
)

// TEMPORARY: signatures of the package API, to be replaced by the implementation.

var errTODO = errors.New("pdu: not implemented yet")

// EncodeSubmit encodes text to one SMS-SUBMIT per segment for destination to.
// to is "+<digits>" (international, TOA 0x91) or digits (national or short
// code, TOA 0x81).
func EncodeSubmit(to, text string, opts SubmitOptions) (Submit, error) { return Submit{}, errTODO }

// Preview tells which alphabet text needs, how many segments it takes and how
// many characters are left in the last one.
func Preview(text string) Estimate { return Estimate{} }

// Decode decodes a PDU as a modem prints it (+CMGR, +CMGL, +CMT, +CDS):
// hex with the SMSC prefix. The type follows the MTI as seen by the mobile:
// 0 deliver, 1 submit, 2 status report.
func Decode(hexPDU string) (*Message, error) { return nil, errTODO }

// DeliverOptions tunes EncodeDeliver.
type DeliverOptions struct {
	SMSC      Address   // printed before the TPDU; zero gives "00"
	SCTS      time.Time // service-centre timestamp
	ConcatRef int       // reference when the text needs more than one segment
	Concat16  bool
}

// EncodeDeliver builds the SMS-DELIVER PDUs (hex with SMSC prefix, as a modem
// prints them) that a phone receives for text from from. Virtual modems and
// tests use it.
func EncodeDeliver(from Address, text string, opts DeliverOptions) ([]string, error) {
	return nil, errTODO
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
func EncodeStatusReport(r StatusReport) (string, error) { return "", errTODO }

// Reassembler joins the parts of concatenated messages. It keeps no I/O and
// no goroutine: the caller passes the time and calls Expire.
type Reassembler struct{}

// NewReassembler returns a Reassembler that gives up on a set timeout after
// its newest part arrived.
func NewReassembler(timeout time.Duration) *Reassembler { return &Reassembler{} }

// Add adds m, received through source (a modem's IMEI, say), at now. Parts
// are keyed by (source, sender, ref, total, ref size). It returns the whole
// message (Text joined, Concat nil) once every part is in, nil otherwise; a
// message that is not concatenated is returned as it is.
func (r *Reassembler) Add(source string, m *Message, now time.Time) (*Message, error) {
	return nil, errTODO
}

// Incomplete is a concatenated message given up on by Expire.
type Incomplete struct {
	Source string
	From   Address
	Ref    int
	Total  int
	Parts  []*Message // Parts[i] is part i+1, nil where missing
}

// Expire removes and returns the sets whose newest part is older than the
// timeout at now.
func (r *Reassembler) Expire(now time.Time) []Incomplete { return nil }
