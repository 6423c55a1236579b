package pdu

import (
	"errors"
	"fmt"
	"time"
)

// Encoding is the alphabet of a message's user data (TS 23.038 §4).
type Encoding string

// Encodings, named as in the HTTP API and the CLI.
const (
	GSM7  Encoding = "gsm7"
	UCS2  Encoding = "ucs2"
	Octet Encoding = "8bit"
)

// Type is the kind of TPDU (TS 23.040 §9.2.2).
type Type string

// TPDU types this package decodes.
const (
	TypeSubmit       Type = "submit"
	TypeDeliver      Type = "deliver"
	TypeStatusReport Type = "status_report"
)

// Type-of-address octets (TS 23.040 §9.1.2.5) used by this package.
const (
	TOAInternational byte = 0x91
	TOANational      byte = 0xA1
	TOAUnknown       byte = 0x81
	TOAAlphanumeric  byte = 0xD0
)

// Address is a number or an alphanumeric sender with its type of address.
type Address struct {
	// Number is the address as a person writes it: "+447700900123" for an
	// international number, digits for national and short codes, text for an
	// alphanumeric sender.
	Number string
	// TOA is the raw type-of-address octet.
	TOA byte
}

// StatusClass is what a TP-Status means for the sender (TS 23.040 §9.2.3.15).
type StatusClass string

// Status classes.
const (
	StatusDelivered StatusClass = "delivered" // 0x00–0x1F: transaction completed
	StatusPending   StatusClass = "pending"   // 0x20–0x3F: SC still trying
	StatusFailed    StatusClass = "failed"    // 0x40–0x7F and reserved values: final failure
)

// Status is a TP-Status octet and its class.
type Status struct {
	Code  byte
	Class StatusClass
}

// Concat describes one part of a concatenated message (TS 23.040 §9.2.3.24.1/.8).
type Concat struct {
	Ref   int // concatenation reference, 0–255 or 0–65535
	Part  int // 1-based sequence number
	Total int // number of parts
	Bits  int // 8 or 16: the size of the reference
}

// Message is one decoded TPDU.
type Message struct {
	Type Type
	SMSC Address // zero when the modem printed "00"

	To        Address // SMS-SUBMIT destination
	From      Address // SMS-DELIVER originator
	Recipient Address // SMS-STATUS-REPORT recipient

	Text     string   // decoded user data text (empty for 8-bit data)
	Data     []byte   // raw user data for 8-bit messages
	Encoding Encoding // alphabet of the user data
	Concat   *Concat  // nil when the message is not part of a concatenated one
	Ports    *Ports   // application port addressing; nil when absent
	Flash    bool     // message class 0 in TP-DCS: shown at once, not stored
	// UDH is the TP-UDH as received, with its length octet; nil when the
	// TPDU has none.
	UDH []byte

	// UD is the user data after its header, as the alphabet stores it: one
	// septet per byte for GSM-7, UTF-16BE for UCS-2, octets for 8-bit. The
	// Reassembler joins parts on it, so that a character a sender split
	// between two parts comes out whole.
	UD []byte
	// LockingShift and SingleShift are the national language identifiers
	// (TS 23.038 §6.2.1.2.4) of the GSM-7 tables the text was decoded with,
	// 0 for the default alphabet and its extension table.
	LockingShift, SingleShift int

	MR                  int           // TP-MR (submit and status report)
	StatusReportRequest bool          // TP-SRR (submit) or TP-SRI (deliver)
	Validity            time.Duration // relative TP-VP of a submit, 0 when absent
	ValidUntil          time.Time     // absolute TP-VP of a submit, zero when absent
	SCTS                time.Time     // service-centre timestamp, in its own zone
	DischargeTime       time.Time     // status report TP-DT, in its own zone
	Status              *Status       // status report TP-ST

	PID byte // TP-PID
	DCS byte // TP-DCS
}

// SubmitOptions tunes EncodeSubmit.
type SubmitOptions struct {
	// StatusReport sets TP-SRR so the SC sends an SMS-STATUS-REPORT.
	StatusReport bool
	// Validity is the relative validity period; 0 leaves TP-VP absent
	// (the SC's default applies). It is rounded up to the next value the
	// relative format can carry, at most 441 days.
	Validity time.Duration
	// ConcatRef is the concatenation reference used when the text needs
	// more than one segment. The caller owns the sequence of references.
	ConcatRef int
	// Concat16 uses the 16-bit reference IE (0x08) instead of the 8-bit one (0x00).
	Concat16 bool
	// MR is the TP-MR written in each TPDU; most modems replace it.
	MR byte
	// Layout is the alphabet, the class and the header of every segment.
	Layout
}

// Segment is one SMS-SUBMIT ready for AT+CMGS.
type Segment struct {
	// PDU is the hex to write after the "> " prompt: "00" (use the modem's
	// SMSC) followed by the TPDU, upper case.
	PDU string
	// TPDULength is the <length> of AT+CMGS=<length>: the TPDU octets,
	// without the SMSC prefix.
	TPDULength int
}

// Submit is the result of EncodeSubmit.
type Submit struct {
	Encoding Encoding
	Segments []Segment
}

// Estimate describes how a text would be sent, without a destination.
type Estimate struct {
	Encoding Encoding
	Segments int
	// CharsLeft is how many more characters of the same alphabet fit in the
	// last segment (an extension-table character counts as two in GSM-7).
	CharsLeft int
	// Units is the number of septets (GSM-7) or UTF-16 code units (UCS-2).
	Units int
}

// ErrEmptyText is returned when there is nothing to encode.
var ErrEmptyText = errors.New("empty text")

// ErrInvalidAddress is returned for a destination that cannot be encoded.
var ErrInvalidAddress = errors.New("invalid address")

// ErrInvalidText is returned for a text that is not valid UTF-8.
var ErrInvalidText = errors.New("text is not valid UTF-8")

// ErrTooLong is returned for a text that needs more segments than a
// concatenation header can count (255).
var ErrTooLong = errors.New("text needs more than 255 segments")

// DecodeError locates what was wrong in a PDU.
type DecodeError struct {
	Field  string // e.g. "smsc", "oa", "ud", "udh.concat"
	Offset int    // octet offset in the PDU as printed by the modem (SMSC included)
	Err    error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%s at offset %d: %v", e.Field, e.Offset, e.Err)
}

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }
