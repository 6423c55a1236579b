package dispatch

import (
	"errors"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
)

// verdict is what a send error means for the message and for the modem.
type verdict int

const (
	// verdictFail ends the message: the number or our PDU is at fault.
	verdictFail verdict = iota + 1
	// verdictRetry counts an attempt and retries after a backoff, from
	// whichever modem claims it then.
	verdictRetry
	// verdictModem blames the modem, not the message: the message goes back
	// at once without counting, and the worker pauses.
	verdictModem
	// verdictGone: the port is gone; the message goes back at once without
	// counting and the worker ends.
	verdictGone
)

// judge classifies a SendPDU error after at-pdu.md §3.8. An error that is
// neither a *DeviceError nor ErrDeviceGone (a timeout with no final result,
// say) is unknown: a counted retry, and the worker pauses too, since a modem
// that does not answer is more likely at fault than the message.
func judge(err error) (v verdict, class gateway.ErrorClass, pause bool) {
	if errors.Is(err, gateway.ErrDeviceGone) {
		return verdictGone, "", false
	}
	var de *gateway.DeviceError
	if !errors.As(err, &de) {
		return verdictRetry, gateway.ClassUnknown, true
	}
	switch de.Class {
	case gateway.ClassPermanent, gateway.ClassBadPDU:
		return verdictFail, de.Class, false
	case gateway.ClassTransient:
		return verdictRetry, de.Class, false
	case gateway.ClassModemState:
		return verdictModem, de.Class, true
	}
	return verdictRetry, gateway.ClassUnknown, false
}

// vpUnsupported reports whether the SC refused the validity period format or
// value (TP-FCS 0xC6, 0xC7): at-pdu.md §3.8 says to resend once without it.
func vpUnsupported(err error) bool {
	var de *gateway.DeviceError
	return errors.As(err, &de) && (de.Code == 0xC6 || de.Code == 0xC7)
}

// backoff is the delay before attempt (1-based, the attempt that just
// failed) is followed by the next one; the last step repeats.
func backoff(steps []time.Duration, attempt int) time.Duration {
	if len(steps) == 0 {
		return 0
	}
	i := min(max(attempt-1, 0), len(steps)-1)
	return steps[i]
}

// pauseAfter is how long a worker rests after its n-th consecutive modem
// fault (1-based): 1 s doubling to 30 s, so a modem that is initialising is
// retried soon and one that is broken is not hammered.
func pauseAfter(n int) time.Duration {
	d := time.Second
	for i := 1; i < n && d < 30*time.Second; i++ {
		d *= 2
	}
	return min(d, 30*time.Second)
}

// reasonOf words a send error for the message's error field, which people
// read: the modem's own "+CMS ERROR: 1" with its meaning, without the
// driver's wrapping ("send pdu: AT+CMGS=21: …").
func reasonOf(err error) string {
	leaf := err
	for {
		u := errors.Unwrap(leaf)
		if u == nil {
			break
		}
		leaf = u
	}
	s := leaf.Error()
	if !strings.HasPrefix(s, "+CMS ERROR") && !strings.HasPrefix(s, "+CME ERROR") {
		return err.Error()
	}
	var de *gateway.DeviceError
	if strings.HasPrefix(s, "+CMS ERROR") && !strings.Contains(s, "(") && errors.As(err, &de) {
		if text := cmsText[de.Code]; text != "" {
			s += " (" + text + ")"
		}
	}
	return s
}

// cmsText names the +CMS ERROR codes a send can meet: RP-causes (TS 24.011
// annex E-2), TP-FCS (TS 23.040 §9.2.3.22) and ME/TA codes (TS 27.005
// §3.2.5). Modems in numeric mode (AT+CMEE=1) print only the number.
var cmsText = map[int]string{
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
