package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/simgate/simgate/dispatch"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/modemdev"
	"github.com/simgate/simgate/session"
)

// TestSupervisor_LateSendAnswerAfterResync, on a real pty: the modem
// answers a send only after the driver's resync gave up on it (busy 10 s;
// the send timeout and three markers take about 4 s). The message, not in
// the OTP lane, is recorded sent with its outcome unknown; when the +CMGS
// comes, its MR goes to that part, the error is cleared, and the part's
// status report, which the network sends once the SMS went out, makes it
// delivered.
func TestSupervisor_LateSendAnswerAfterResync(t *testing.T) {
	n := modemsim.NewNetwork()
	t.Cleanup(func() { n.Close() })
	sim, phone := n.AddModem(modemsim.Config{}), n.AddModem(modemsim.Config{})
	path, err := sim.OpenPTY(t.Context())
	if err != nil {
		t.Skipf("no pty here: %v", err)
	}
	st := mustSupStore(t, t.TempDir())
	clock := gateway.SystemClock{}
	d := dispatch.New(dispatch.Config{}, st, clock, supLogger(t))
	ctx, cancel := context.WithCancel(t.Context())
	dDone := make(chan struct{})
	go func() { d.Run(ctx); close(dDone) }()
	cfg := session.Config{Ports: []string{path}, BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond}
	open := modemdev.Opener(modem.Config{SendTimeout: time.Second, ResyncTimeout: time.Second})
	sup := session.New(cfg, st, d, open, clock, supLogger(t))
	supDone := make(chan struct{})
	go func() { sup.Run(ctx); close(supDone) }()
	t.Cleanup(func() { cancel(); <-supDone; <-dDone })
	supEventually(t, "modem online on the pty", func() bool {
		info, ok := supModem(t, st, sim.IMEI())
		return ok && info.State == gateway.ModemOnline
	})

	sim.SetSendLatency(10 * time.Second)
	m := &gateway.Message{
		ID: gateway.NewID("msg_", clock.Now()), To: phone.Number(), Text: "answered late",
		Encoding: "gsm7", Segments: 1, Priority: gateway.PriorityNormal, StatusReport: true,
		Status: gateway.StatusQueued, CreatedAt: clock.Now(),
		Parts: []gateway.Part{{Index: 1, Status: gateway.StatusQueued, ReportCode: -1}},
	}
	if _, _, err := st.CreateMessage(t.Context(), m, gateway.IdempotencyKey{}); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	supEventually(t, "the part recorded with an unknown outcome", func() bool {
		got, err := st.Message(context.Background(), m.ID)
		return err == nil && got.Parts[0].Status == gateway.StatusSent && !got.Parts[0].HasMR
	})
	sim.SetSendLatency(0)
	var got *gateway.Message
	supEventually(t, "the message delivered by the report of its late MR", func() bool {
		got, err = st.Message(context.Background(), m.ID)
		return err == nil && got.Status == gateway.StatusDelivered
	})
	recs := n.Records()
	if len(recs) != 1 {
		t.Fatalf("network got %d messages, want 1", len(recs))
	}
	if p := got.Parts[0]; !p.HasMR || p.MR != recs[0].MR || p.Error != "" || got.Error != "" {
		t.Errorf("part %+v, message error %q; want the network's MR %d and no error", p, got.Error, recs[0].MR)
	}
}
