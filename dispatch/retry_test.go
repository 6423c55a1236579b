package dispatch

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func TestJudge(t *testing.T) {
	devErr := func(c gateway.ErrorClass, code int) error {
		return fmt.Errorf("send pdu: %w", &gateway.DeviceError{Class: c, Code: code, Err: errors.New("+CMS ERROR")})
	}
	tests := []struct {
		name  string
		err   error
		v     verdict
		pause bool
	}{
		{"permanent", devErr(gateway.ClassPermanent, 1), verdictFail, false},
		{"bad pdu", devErr(gateway.ClassBadPDU, 304), verdictFail, false},
		{"transient", devErr(gateway.ClassTransient, 42), verdictRetry, false},
		{"modem state", devErr(gateway.ClassModemState, 314), verdictModem, true},
		{"unknown class", devErr(gateway.ClassUnknown, 515), verdictRetry, false},
		{"gone", fmt.Errorf("write: %w", gateway.ErrDeviceGone), verdictGone, false},
		{"gone wins over its class", &gateway.DeviceError{Class: gateway.ClassTransient, Err: gateway.ErrDeviceGone}, verdictGone, false},
		{"timeout", fmt.Errorf("send pdu: %w", context.DeadlineExceeded), verdictRetry, true},
		{"plain", errors.New("what"), verdictRetry, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _, pause := judge(tt.err)
			if v != tt.v || pause != tt.pause {
				t.Errorf("judge(%v) = %v, pause %v; want %v, pause %v", tt.err, v, pause, tt.v, tt.pause)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	steps := []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute}
	for attempt, want := range map[int]time.Duration{
		0: 30 * time.Second, 1: 30 * time.Second, 2: 2 * time.Minute, 3: 10 * time.Minute, 9: 10 * time.Minute,
	} {
		if got := backoff(steps, attempt); got != want {
			t.Errorf("backoff(%d) = %v, want %v", attempt, got, want)
		}
	}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second, 6: 30 * time.Second, 50: 30 * time.Second} {
		if got := pauseAfter(n); got != want {
			t.Errorf("pauseAfter(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestReasonOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"reason", fmt.Errorf("worker: %w", &gateway.DeviceError{Class: gateway.ClassPermanent, Code: 1, Reason: "+CMS ERROR: 1 (unassigned number)",
			Err: errors.New("send pdu: AT+CMGS=21: +CMS ERROR: 1 (unassigned number)")}), "+CMS ERROR: 1 (unassigned number)"},
		{"no reason keeps context", &gateway.DeviceError{Class: gateway.ClassUnknown, Code: -1, Err: errors.New("send pdu: AT+CMGS=21: no final result")}, "send pdu: AT+CMGS=21: no final result"},
		{"other keeps context", fmt.Errorf("send pdu: %w", errors.New("timeout")), "send pdu: timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reasonOf(tt.err); got != tt.want {
				t.Errorf("reasonOf = %q, want %q", got, tt.want)
			}
		})
	}
}
