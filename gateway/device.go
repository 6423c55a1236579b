package gateway

import (
	"context"
	"errors"
	"time"
)

// Clock gives business timestamps; tests inject their own.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// secretPDU marks a context whose SendPDU carries a secret.
type secretPDU struct{}

// WithSecretPDU marks ctx for a SendPDU whose PDU holds a secret (a
// one-time code): the driver keeps it out of its trace, at every level.
func WithSecretPDU(ctx context.Context) context.Context {
	return context.WithValue(ctx, secretPDU{}, true)
}

// IsSecretPDU reports whether ctx was marked by WithSecretPDU.
func IsSecretPDU(ctx context.Context) bool {
	v, _ := ctx.Value(secretPDU{}).(bool)
	return v
}

// leaseKey marks a context with the claim its work belongs to.
type leaseKey struct{}

// WithLease marks ctx as the work of the claim that leased a message until
// until (Message.LeaseUntil): the store records the outcomes made with it
// only while that claim still holds the message, and answers ErrLeaseLost
// once another claim took it over. The lease's end is a fencing token: a
// message's next claim can only start after it, so it only grows.
func WithLease(ctx context.Context, until time.Time) context.Context {
	return context.WithValue(ctx, leaseKey{}, until)
}

// LeaseOf is the lease ctx was marked with by WithLease; false for none.
func LeaseOf(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(leaseKey{}).(time.Time)
	return t, ok && !t.IsZero()
}

// Device is the gateway's view of one GSM modem. Package modemdev adapts a
// modem.Modem to it; the gateway never imports the driver.
type Device interface {
	Init(ctx context.Context) error
	Identity(ctx context.Context) (DeviceIdentity, error)
	Health(ctx context.Context) (DeviceHealth, error)
	// SendPDU sends one SMS-SUBMIT (hex with the 00 SMSC prefix) and returns
	// the TP-MR the modem answered, late or not. Errors are *DeviceError
	// (wrapping ErrSendUnknown when nobody knows whether it went out) or
	// wrap ErrDeviceGone. A ctx marked by WithSecretPDU keeps the PDU out
	// of any trace.
	SendPDU(ctx context.Context, tpduLen int, pduHex string) (mr int, err error)
	// ListMessages lists every message stored on the SIM/ME (AT+CMGL=4).
	ListMessages(ctx context.Context) ([]StoredSMS, error)
	// ReadMessage reads one stored message; mem "SR" is the status-report store.
	ReadMessage(ctx context.Context, mem string, index int) (StoredSMS, error)
	DeleteMessage(ctx context.Context, mem string, index int) error
	// USSD runs a USSD code (TS 22.090, AT+CUSD) and returns the network's
	// answer, decoded, for the admin and the balance check. A network that
	// refuses the code is ErrUSSDUnsupported, one that never answers
	// ErrUSSDTimeout.
	USSD(ctx context.Context, code string) (USSDReply, error)
	// Events delivers unsolicited results in order; closed after Done.
	Events() <-chan DeviceEvent
	// Done is closed once the port is gone (unplugged, closed).
	Done() <-chan struct{}
	Close() error
}

// ModemLimits are a modem's sending limits: carriers suspend SIMs that send
// too fast or too much.
type ModemLimits struct {
	// SendInterval is the least time between two parts; 0 = none.
	SendInterval time.Duration
	// DailyCap is the most parts a modem sends per local calendar day;
	// 0 = none.
	DailyCap int
}

// Opener opens the modem on a serial port.
type Opener func(ctx context.Context, port string) (Device, error)

// DeviceIdentity is who a modem and its SIM are.
type DeviceIdentity struct {
	Manufacturer, Model, Revision, IMEI, IMSI, ICCID, Number string
}

// DeviceHealth is a modem's radio state at one moment.
type DeviceHealth struct {
	Operator     string
	Registration string // "registered", "roaming", "searching", "denied", "not_registered", "unknown"
	Registered   bool   // home, roaming or SMS-only
	Roaming      bool
	CSQ, DBM     int
	Bars         int
	SignalKnown  bool
}

// StoredSMS is one message in a modem's storage, as hex.
type StoredSMS struct {
	Mem   string
	Index int
	Stat  int
	PDU   string
}

// DeviceEventKind names an unsolicited result.
type DeviceEventKind int

// Unsolicited results the gateway acts on.
const (
	EventSMSStored    DeviceEventKind = iota + 1 // +CMTI: read Mem/Index, commit, delete
	EventSMS                                     // +CMT: PDU delivered directly (already acknowledged)
	EventReport                                  // +CDS: status report PDU
	EventReportStored                            // +CDSI: read Mem/Index
	EventRegistration                            // +CREG/+CGREG/+CEREG changed
	EventReset                                   // the modem rebooted: run Init again
	EventMemoryFull                              // the message storage is full (Mem when known): drain it
	// EventLateMR: the last send of unknown outcome (ErrSendUnknown) was
	// answered after all, with MR: give its part the MR (Reports.PartLateMR).
	EventLateMR
)

// DeviceEvent is one unsolicited result.
type DeviceEvent struct {
	Kind  DeviceEventKind
	Mem   string
	Index int
	PDU   string
	MR    int // EventLateMR
}

// ErrorClass says what a send error means for the message.
type ErrorClass string

// Send error classes (after at-pdu.md §3.8).
const (
	ClassPermanent  ErrorClass = "permanent"   // number or subscription: fail, no retry
	ClassBadPDU     ErrorClass = "bad_pdu"     // our PDU was refused: fail
	ClassTransient  ErrorClass = "transient"   // network busy: retry with backoff
	ClassModemState ErrorClass = "modem_state" // SIM/modem not ready: not the message's fault
	ClassUnknown    ErrorClass = "unknown"     // a few retries, then fail
)

// DeviceError is a send error classified by the adapter.
type DeviceError struct {
	Class ErrorClass
	Code  int // +CMS/+CME code, -1 when none
	// Reason is the modem's words with their meaning, for people to read
	// ("+CMS ERROR: 21 (short message transfer rejected)"); empty when the
	// adapter has none better than Err.
	Reason string
	Err    error
}

func (e *DeviceError) Error() string { return e.Err.Error() }

// Unwrap returns the driver's error.
func (e *DeviceError) Unwrap() error { return e.Err }

// ErrDeviceGone means the modem's port went away mid-operation.
var ErrDeviceGone = errors.New("modem gone")

// ErrNoAnswer means the modem gave no final answer in time (or never showed
// the SMS prompt): it may be hung. The session counts these and escalates.
var ErrNoAnswer = errors.New("modem gave no answer")

// ErrSendUnknown means the modem took the whole PDU and never answered, not
// even late: the SMS may or may not have gone out. Adapters return it
// inside a *DeviceError; what the dispatcher does then is its policy.
var ErrSendUnknown = errors.New("send outcome unknown")

// Init errors the supervisor turns into a modem state; Device
// implementations wrap them.
var (
	ErrNoSIM       = errors.New("no sim")           // state no_sim
	ErrPINRequired = errors.New("sim pin required") // state pin_required
	ErrPUKRequired = errors.New("sim puk required") // state pin_required; never entered by simgate
)
