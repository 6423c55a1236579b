package dispatch

import (
	"errors"
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
// read: the adapter's Reason (the modem's own "+CMS ERROR: 1" with its
// meaning, without the driver's wrapping), else the whole error.
func reasonOf(err error) string {
	var de *gateway.DeviceError
	if errors.As(err, &de) && de.Reason != "" {
		return de.Reason
	}
	return err.Error()
}
