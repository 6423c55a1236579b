package dispatch_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem"
)

// unknownErr is what modemdev returns when the modem took the PDU and never
// answered.
func unknownErr() error {
	return &gateway.DeviceError{Class: gateway.ClassUnknown, Code: -1,
		Reason: "no answer from the modem after the PDU: it may have gone out",
		Err:    fmt.Errorf("%w: %w", gateway.ErrSendUnknown, modem.ErrSendUnknown)}
}

// A bulk message whose part has an unknown outcome is not sent again and
// not failed: the part is sent without an MR, the rest goes on.
func TestDispatcher_UnknownOutcomeBulkNotResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		dev := newSendDev(imeiA)
		dev.setFn(func(c sentPDU) (int, error) {
			if c.Part == 1 {
				return 0, unknownErr()
			}
			return 40 + c.Part, nil
		})
		m := r.send(gateway.SendRequest{To: numOK, Text: long})
		r.addModem(dev, gateway.ModemLimits{})
		synctest.Wait()

		got := r.message(m.ID)
		if got.Status != gateway.StatusSent {
			t.Fatalf("status %s (error %q), want sent", got.Status, got.Error)
		}
		if n := len(dev.Calls()); n != 3 {
			t.Errorf("%d SendPDU calls, want 3 (part 1 not sent again)", n)
		}
		p1 := got.Parts[0]
		if p1.Status != gateway.StatusSent || p1.HasMR || !strings.Contains(p1.Error, "not sent again") {
			t.Errorf("part 1 = %+v, want sent without MR, outcome unknown", p1)
		}
		if !strings.Contains(got.Error, "part 1") || got.Attempts != 0 {
			t.Errorf("message error %q, %d attempts", got.Error, got.Attempts)
		}
		for i, p := range got.Parts[1:] {
			if !p.HasMR || p.MR != 42+i {
				t.Errorf("part %d = %+v", i+2, p)
			}
		}
	})
}

// An OTP (high priority) whose outcome is unknown is sent again at once: a
// duplicate code is harmless, a lost one is not.
func TestDispatcher_UnknownOutcomeOTPResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		dev := newSendDev(imeiA)
		calls := 0
		dev.setFn(func(sentPDU) (int, error) {
			calls++
			if calls == 1 {
				return 0, unknownErr()
			}
			return 7, nil
		})
		m := r.send(gateway.SendRequest{To: numOK, Text: "Your code is 123456", Priority: "high"})
		r.addModem(dev, gateway.ModemLimits{})
		time.Sleep(2 * time.Second) // the worker's pause after an unanswered send
		synctest.Wait()

		got := r.message(m.ID)
		if got.Status != gateway.StatusSent || !got.Parts[0].HasMR || got.Parts[0].MR != 7 {
			t.Fatalf("status %s, part %+v; want sent with MR 7", got.Status, got.Parts[0])
		}
		if n := len(dev.Calls()); n != 2 || got.Attempts != 1 {
			t.Errorf("%d SendPDU calls, %d attempts; want 2, 1", n, got.Attempts)
		}
	})
}

// An OTP that never gets an answer is sent MaxAttempts times, then settled
// as sent with an unknown outcome, never failed.
func TestDispatcher_UnknownOutcomeOTPNeverFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		dev := newSendDev(imeiA)
		dev.setFn(func(sentPDU) (int, error) { return 0, unknownErr() })
		m := r.send(gateway.SendRequest{To: numOK, Text: "Your code is 654321", Priority: "high"})
		r.addModem(dev, gateway.ModemLimits{})
		time.Sleep(time.Minute) // the worker's pauses: 1, 2, 4, 8, 16 s
		synctest.Wait()
		got := r.message(m.ID)
		if got.Status != gateway.StatusSent || got.Parts[0].HasMR {
			t.Fatalf("status %s (error %q), part %+v; want sent without MR", got.Status, got.Error, got.Parts[0])
		}
		if n := len(dev.Calls()); n != 6 {
			t.Errorf("%d SendPDU calls, want 6 (MaxAttempts)", n)
		}
		if !strings.Contains(got.Error, "after 6 attempts") {
			t.Errorf("error %q", got.Error)
		}
	})
}
