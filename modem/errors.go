package modem

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/simgate/simgate/modem/at"
)

// Sentinel errors callers branch on. Errors returned by Modem wrap them.
var (
	// ErrClosed means the port is gone: EOF, a read or write error, or Close.
	ErrClosed = at.ErrClosed
	// ErrPromptTimeout means the "> " prompt of AT+CMGS did not come in time
	// (or a final result came first). ESC has been written to abort the
	// command; the PDU was not written, so the SMS did not go out.
	ErrPromptTimeout = at.ErrPromptTimeout
	// ErrSendUnknown means the PDU was written and no answer came, not even
	// late, while the line was brought back in step: the SMS may or may not
	// have gone out.
	ErrSendUnknown = errors.New("send outcome unknown")
	// ErrTimeout means a command got no final result code before its timeout.
	ErrTimeout = at.ErrTimeout
	// ErrCommandFailed is a plain "ERROR" or Huawei's "COMMAND NOT SUPPORT".
	ErrCommandFailed = at.ErrCommandFailed
	// ErrPINRequired means the SIM asks for its PIN and Config.PIN is empty.
	ErrPINRequired = errors.New("sim pin required")
	// ErrPUKRequired means the SIM is blocked and needs its PUK, which simgate
	// never enters by itself.
	ErrPUKRequired = errors.New("sim puk required")
	// ErrNoSIM means no SIM is inserted (+CME ERROR: 10, +CMS ERROR: 310).
	ErrNoSIM = errors.New("no sim")
	// ErrNoMessage means a storage slot is empty (bare OK or +CMS ERROR: 321).
	ErrNoMessage = errors.New("no message at index")
)

// CMEError is a "+CME ERROR" final result code (TS 27.007 §9.2). Code is -1
// when the modem answered with a text that has no known number.
type CMEError struct {
	Code int
	Text string
}

// Error prints the code as the modem does, with the modem's own text or,
// for a bare number, the meaning TS 27.007 §9.2 gives it.
func (e CMEError) Error() string { return errorLine("+CME ERROR", e.Code, e.Text, cmeMeanings) }

// Is reports whether target is a CMEError with the same code, or the sentinel
// that the code stands for (ErrNoSIM, ErrPINRequired, ErrPUKRequired).
func (e CMEError) Is(target error) bool {
	switch t := target.(type) {
	case CMEError:
		return t.Code == e.Code
	case *CMEError:
		return t != nil && t.Code == e.Code
	}
	switch target {
	case ErrNoSIM:
		return e.Code == 10
	case ErrPINRequired:
		return e.Code == 11
	case ErrPUKRequired:
		return e.Code == 12
	}
	return false
}

// CMSError is a "+CMS ERROR" final result code (TS 27.005 §3.2.5). Code is -1
// when the modem answered with a text that has no known number.
type CMSError struct {
	Code int
	Text string
}

// Error prints the code as the modem does, with the modem's own text or,
// for a bare number, its meaning ("+CMS ERROR: 21 (short message transfer
// rejected)"): people read it in a message's error field.
func (e CMSError) Error() string { return errorLine("+CMS ERROR", e.Code, e.Text, cmsMeanings) }

// errorLine words a +CME/+CMS ERROR: the modem's text when it gave one,
// else the meaning of the code when known.
func errorLine(result string, code int, text string, meanings map[int]string) string {
	if code < 0 {
		return result + ": " + text
	}
	if text == "" {
		text = meanings[code]
	}
	if text == "" {
		return result + ": " + strconv.Itoa(code)
	}
	return fmt.Sprintf("%s: %d (%s)", result, code, text)
}

// Is reports whether target is a CMSError with the same code, or the sentinel
// that the code stands for (ErrNoSIM, ErrPINRequired, ErrPUKRequired,
// ErrNoMessage).
func (e CMSError) Is(target error) bool {
	switch t := target.(type) {
	case CMSError:
		return t.Code == e.Code
	case *CMSError:
		return t != nil && t.Code == e.Code
	}
	switch target {
	case ErrNoSIM:
		return e.Code == 310
	case ErrPINRequired:
		return e.Code == 311
	case ErrPUKRequired:
		return e.Code == 316
	case ErrNoMessage:
		return e.Code == 321
	}
	return false
}

// ErrorClass groups +CMS ERROR codes by what a sender should do about them.
type ErrorClass string

// Error classes, after the table in TS 27.005 §3.2.5, TS 24.011 E-2 and
// TS 23.040 §9.2.3.22 as gammu and python-gsmmodem act on them.
const (
	// ClassPermanent: the number or subscription cannot receive; do not retry.
	ClassPermanent ErrorClass = "permanent"
	// ClassBadPDU: the PDU we built was refused; retrying it unchanged is useless.
	ClassBadPDU ErrorClass = "bad_pdu"
	// ClassTransient: the network is busy or broken for now; retry with backoff.
	ClassTransient ErrorClass = "transient"
	// ClassModemState: the modem or SIM is not ready; re-check it, re-init, retry
	// without counting the attempt against the message.
	ClassModemState ErrorClass = "modem_state"
	// ClassVendor: a manufacturer-specific code (≥ 512); retry a few times.
	ClassVendor ErrorClass = "vendor"
	// ClassUnknown: anything else.
	ClassUnknown ErrorClass = "unknown"
)

var cmsClasses = map[int]ErrorClass{
	// RP-cause (TS 24.011 E-2) and TP-FCS (TS 23.040 §9.2.3.22) that name the
	// destination or the subscription.
	1: ClassPermanent, 8: ClassPermanent, 10: ClassPermanent, 21: ClassPermanent,
	28: ClassPermanent, 29: ClassPermanent, 30: ClassPermanent, 50: ClassPermanent,
	69: ClassPermanent, 0xC3: ClassPermanent, 0xC4: ClassPermanent,

	95: ClassBadPDU, 96: ClassBadPDU, 97: ClassBadPDU, 98: ClassBadPDU, 99: ClassBadPDU,
	111: ClassBadPDU, 0x80: ClassBadPDU, 0x81: ClassBadPDU, 0x82: ClassBadPDU,
	0x8F: ClassBadPDU, 0x90: ClassBadPDU, 0x91: ClassBadPDU, 0x9F: ClassBadPDU,
	0xB0: ClassBadPDU, 0xC6: ClassBadPDU, 0xC7: ClassBadPDU, 304: ClassBadPDU, 305: ClassBadPDU,

	27: ClassTransient, 38: ClassTransient, 41: ClassTransient, 42: ClassTransient,
	47: ClassTransient, 0xC0: ClassTransient, 0xC2: ClassTransient, 331: ClassTransient,
	332: ClassTransient,

	300: ClassModemState, 301: ClassModemState, 302: ClassModemState, 310: ClassModemState,
	311: ClassModemState, 312: ClassModemState, 313: ClassModemState, 314: ClassModemState,
	315: ClassModemState, 316: ClassModemState, 317: ClassModemState, 318: ClassModemState,
	320: ClassModemState, 330: ClassModemState, 500: ClassModemState,
}

// Class tells what kind of failure the code reports.
func (e CMSError) Class() ErrorClass {
	if c, ok := cmsClasses[e.Code]; ok {
		return c
	}
	if e.Code >= 512 {
		return ClassVendor
	}
	return ClassUnknown
}

// Retryable reports whether sending the same PDU again later may succeed:
// true for transient, modem-state and vendor codes. Unknown codes are not
// retried, so a message cannot loop on an error nobody understands.
func (e CMSError) Retryable() bool {
	switch e.Class() {
	case ClassTransient, ClassModemState, ClassVendor:
		return true
	}
	return false
}

// Verbose texts (AT+CMEE=2, or firmware that ignores CMEE=1) mapped back to
// their numbers, keyed in lower case. TS 27.007 §9.2.1.
var cmeTexts = map[string]int{
	"phone failure":                              0,
	"no connection to phone":                     1,
	"phone-adaptor link reserved":                2,
	"operation not allowed":                      3,
	"operation not supported":                    4,
	"ph-sim pin required":                        5,
	"sim not inserted":                           10,
	"sim pin required":                           11,
	"sim puk required":                           12,
	"sim failure":                                13,
	"sim busy":                                   14,
	"sim wrong":                                  15,
	"incorrect password":                         16,
	"sim pin2 required":                          17,
	"sim puk2 required":                          18,
	"memory full":                                20,
	"invalid index":                              21,
	"not found":                                  22,
	"memory failure":                             23,
	"text string too long":                       24,
	"invalid characters in text string":          25,
	"dial string too long":                       26,
	"invalid characters in dial string":          27,
	"no network service":                         30,
	"network timeout":                            31,
	"network not allowed - emergency calls only": 32,
	"unknown":                                    100,
}

// TS 27.005 §3.2.5 and the RP-causes of TS 24.011 E-2 as SIMCom and Quectel
// firmware print them.
var cmsTexts = map[string]int{
	"unassigned (unallocated) number":                          1,
	"operator determined barring":                              8,
	"call barred":                                              10,
	"short message transfer rejected":                          21,
	"destination out of service":                               27,
	"unidentified subscriber":                                  28,
	"facility rejected":                                        29,
	"unknown subscriber":                                       30,
	"network out of order":                                     38,
	"temporary failure":                                        41,
	"congestion":                                               42,
	"resources unavailable, unspecified":                       47,
	"requested facility not subscribed":                        50,
	"requested facility not implemented":                       69,
	"invalid short message transfer reference value":           81,
	"invalid message, unspecified":                             95,
	"invalid mandatory information":                            96,
	"message type non-existent or not implemented":             97,
	"message not compatible with short message protocol state": 98,
	"information element non-existent or not implemented":      99,
	"protocol error, unspecified":                              111,
	"interworking, unspecified":                                127,
	"me failure":                                               300,
	"sms service of me reserved":                               301,
	"operation not allowed":                                    302,
	"operation not supported":                                  303,
	"invalid pdu mode parameter":                               304,
	"invalid text mode parameter":                              305,
	"(u)sim not inserted":                                      310,
	"sim not inserted":                                         310,
	"(u)sim pin required":                                      311,
	"sim pin required":                                         311,
	"ph-(u)sim pin required":                                   312,
	"ph-sim pin required":                                      312,
	"(u)sim failure":                                           313,
	"sim failure":                                              313,
	"(u)sim busy":                                              314,
	"sim busy":                                                 314,
	"(u)sim wrong":                                             315,
	"sim wrong":                                                315,
	"(u)sim puk required":                                      316,
	"sim puk required":                                         316,
	"(u)sim pin2 required":                                     317,
	"sim pin2 required":                                        317,
	"(u)sim puk2 required":                                     318,
	"sim puk2 required":                                        318,
	"memory failure":                                           320,
	"invalid memory index":                                     321,
	"memory full":                                              322,
	"smsc address unknown":                                     330,
	"no network service":                                       331,
	"network timeout":                                          332,
	"no +cnma acknowledgement expected":                        340,
	"unknown error":                                            500,
}

// cmsMeanings names the +CMS ERROR codes for people, when the modem gave
// only the number (AT+CMEE=1): RP-causes (TS 24.011 annex E-2), TP-FCS
// (TS 23.040 §9.2.3.22) and ME/TA codes (TS 27.005 §3.2.5).
var cmsMeanings = map[int]string{
	1: "unassigned number", 8: "operator determined barring", 10: "call barred",
	21: "short message transfer rejected", 27: "destination out of service",
	28: "unidentified subscriber", 29: "facility rejected", 30: "unknown subscriber",
	38: "network out of order", 41: "temporary failure", 42: "congestion",
	47: "resources unavailable", 50: "requested facility not subscribed",
	69: "requested facility not implemented", 81: "invalid short message reference",
	95: "invalid message", 96: "invalid mandatory information",
	97: "message type not implemented", 98: "message not compatible with protocol state",
	99: "information element not implemented", 111: "protocol error", 127: "interworking error",
	0x80: "telematic interworking not supported", 0x81: "short message type 0 not supported",
	0x82: "cannot replace short message", 0x8F: "unspecified TP-PID error",
	0x90: "data coding scheme not supported", 0x91: "message class not supported",
	0x9F: "unspecified TP-DCS error", 0xB0: "TPDU not supported", 0xC0: "SC busy",
	0xC1: "no SC subscription", 0xC2: "SC system failure", 0xC3: "invalid SME address",
	0xC4: "destination SME barred", 0xC5: "duplicate SM rejected", 0xC6: "TP-VPF not supported",
	0xC7: "TP-VP not supported", 0xD0: "SIM SMS storage full",
	300: "ME failure", 301: "SMS service of ME reserved", 302: "operation not allowed",
	303: "operation not supported", 304: "invalid PDU mode parameter", 305: "invalid text mode parameter",
	310: "SIM not inserted", 311: "SIM PIN required", 312: "PH-SIM PIN required", 313: "SIM failure",
	314: "SIM busy", 315: "SIM wrong", 316: "SIM PUK required", 317: "SIM PIN2 required",
	318: "SIM PUK2 required", 320: "memory failure", 321: "invalid memory index", 322: "memory full",
	330: "SMSC address unknown", 331: "no network service", 332: "network timeout", 500: "unknown error",
}

// cmeMeanings names the +CME ERROR codes: cmeTexts the other way round.
var cmeMeanings = func() map[int]string {
	m := make(map[int]string, len(cmeTexts))
	for text, code := range cmeTexts {
		m[code] = text
	}
	return m
}()

// parseErrorCode reads the argument of +CME ERROR / +CMS ERROR: a number or
// a verbose text, which is looked up in texts.
func parseErrorCode(arg string, texts map[string]int) (int, string) {
	arg = strings.Trim(strings.TrimSpace(arg), `"`)
	if n, err := strconv.Atoi(arg); err == nil {
		return n, ""
	}
	if n, ok := texts[strings.ToLower(arg)]; ok {
		return n, arg
	}
	return -1, arg
}

// typedError turns the engine's +CME/+CMS ERROR results into CMEError and
// CMSError, their verbose texts mapped back to numbers.
func typedError(err error) error {
	if err == nil {
		return nil // before errors.As, whose target would escape on every call
	}
	var res at.ResultError
	if !errors.As(err, &res) {
		return err
	}
	switch res.Result {
	case "+CME ERROR":
		code, text := parseErrorCode(res.Arg, cmeTexts)
		return CMEError{Code: code, Text: text}
	case "+CMS ERROR":
		code, text := parseErrorCode(res.Arg, cmsTexts)
		return CMSError{Code: code, Text: text}
	}
	return err
}
