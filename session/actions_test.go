package session_test

import (
	"errors"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/session"
)

// TestSupervisor_Actions: the admin's actions reach a modem through the
// supervisor that owns its session, by IMEI — USSD on the real driver and a
// re-init that ends the session so that the port is opened afresh — and a
// modem with no session is refused with ErrNotAttached.
func TestSupervisor_Actions(t *testing.T) {
	r := newSupRig(t, modemsim.Config{})
	r.start(r.config(), nil, nil)
	ctx := t.Context()
	imei := r.sim.IMEI()
	r.waitState(gateway.ModemOnline)

	r.sim.SetUSSDReply("*100#", modemsim.USSDReply{Text: "1 Balance\n2 Top-up", Status: 1})
	reply, err := r.sup.USSD(ctx, imei, "*100#")
	if want := (gateway.USSDReply{Text: "1 Balance\n2 Top-up", Status: gateway.USSDMore}); err != nil || reply != want {
		t.Fatalf("USSD = %+v, %v; want %+v", reply, err, want)
	}
	if _, err := r.sup.USSD(ctx, imei, "*999#"); !errors.Is(err, gateway.ErrUSSDUnsupported) {
		t.Errorf("USSD of a code the network refuses: %v, want ErrUSSDUnsupported", err)
	}
	if _, err := r.sup.USSD(ctx, "490154203237518", "*100#"); !errors.Is(err, session.ErrNotAttached) {
		t.Errorf("USSD on an unknown modem: %v, want ErrNotAttached", err)
	}

	opens := r.opens.Load()
	if err := r.sup.Reinit(imei); err != nil {
		t.Fatalf("Reinit: %v", err)
	}
	deadline := time.Now().Add(supWait)
	for r.opens.Load() == opens {
		if time.Now().After(deadline) {
			t.Fatal("Reinit did not make the supervisor open the port again")
		}
		time.Sleep(time.Millisecond) // polling the rig's counter, not timing
	}
	r.waitState(gateway.ModemOnline)

	r.stop()
	if err := r.sup.Reinit(imei); !errors.Is(err, session.ErrNotAttached) {
		t.Errorf("Reinit after the supervisor stopped: %v, want ErrNotAttached", err)
	}
}
