package dispatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/modemsim"
)

// Sends that get no timely answer, with the real driver on a virtual modem:
// a late +CMGS is the part's MR and nothing goes twice; an answer that never
// comes is settled by the policy of dispatch/unknown.go, checked against
// what the network received. The driver's timeouts are short; the
// deadlines only bound a failure.
func TestDispatcher_LateAndLostAnswersOnAVirtualModem(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	net := modemsim.NewNetwork()
	t.Cleanup(func() { net.Close() })
	sim := net.AddModem(modemsim.Config{})
	phone := net.AddModem(modemsim.Config{})

	r := newRig(t, rigOptions{})
	if err := r.st.UpsertModem(ctx, gateway.ModemInfo{IMEI: sim.IMEI(), State: gateway.ModemOnline}); err != nil {
		t.Fatal(err)
	}
	cfg := modem.Config{SendTimeout: time.Second, ResyncTimeout: time.Second}
	r.d.Attach(sim.IMEI(), testkit.SimDeviceWith(t, ctx, sim, cfg), gateway.ModemLimits{})

	records := func(text string) []modemsim.Record {
		var out []modemsim.Record
		for _, rec := range net.Records() {
			if rec.Text == text {
				out = append(out, rec)
			}
		}
		return out
	}

	t.Run("LateMR", func(t *testing.T) {
		sim.SetLateAnswer("+CMGS", true) // answered once the driver gave up and wrote again
		defer sim.SetLateAnswer("+CMGS", false)
		m := r.send(gateway.SendRequest{To: phone.Number(), Text: "late but sent"})
		got := r.waitStatus(m.ID, gateway.StatusSent, 30*time.Second)
		recs := records("late but sent")
		if len(recs) != 1 {
			t.Fatalf("network got it %d times, want once", len(recs))
		}
		if p := got.Parts[0]; !p.HasMR || p.MR != recs[0].MR {
			t.Errorf("part = %+v, want the network's MR %d", p, recs[0].MR)
		}
	})

	t.Run("BulkNotResent", func(t *testing.T) {
		sim.SetLoseSendAnswer(true)
		defer sim.SetLoseSendAnswer(false)
		m := r.send(gateway.SendRequest{To: phone.Number(), Text: "bulk, answer lost"})
		got := r.waitStatus(m.ID, gateway.StatusSent, 30*time.Second)
		if n := len(records("bulk, answer lost")); n != 1 {
			t.Errorf("network got it %d times, want once", n)
		}
		if p := got.Parts[0]; p.HasMR || p.Error == "" {
			t.Errorf("part = %+v, want sent without MR, outcome unknown", p)
		}
	})

	t.Run("OTPResent", func(t *testing.T) {
		sim.LoseNextSendAnswers(1) // the resend is answered
		m := r.send(gateway.SendRequest{To: phone.Number(), Text: "Your code is 246810", Priority: "high"})
		got := r.waitStatus(m.ID, gateway.StatusSent, 30*time.Second)
		recs := records("Your code is 246810")
		if len(recs) != 2 {
			t.Fatalf("network got it %d times, want twice (a duplicate rather than a loss); message %+v", len(recs), got)
		}
		if p := got.Parts[0]; !p.HasMR || p.MR != recs[1].MR || got.Attempts != 1 {
			t.Errorf("part = %+v, %d attempts; want the resend's MR %d, 1 attempt", p, got.Attempts, recs[1].MR)
		}
	})
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
