package modem_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/pdu"
)

func storedPDU(t *testing.T, text string) string {
	t.Helper()
	p, err := pdu.EncodeDeliver(pdu.Address{Number: "+447700900123"}, text, pdu.DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p[0]
}

// ListStored lists SM and ME; ReadFrom and DeleteFrom reach ME while the
// read storage is SM, and leave the read storage as it was.
func TestPTY_ListStoredReadsSMAndME(t *testing.T) {
	r := mustRig(t, modem.Config{}, modemsim.Config{})
	ctx := ctxFor(t)
	r.sim.Store("SM", storedPDU(t, "in sm"))
	r.sim.Store("ME", storedPDU(t, "in me"))
	list, err := r.m.ListStored(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mems []string
	for _, sm := range list {
		mems = append(mems, sm.Mem)
	}
	if !slices.Equal(mems, []string{"SM", "ME"}) {
		t.Fatalf("listed %+v, want one in SM then one in ME", list)
	}
	got, err := r.m.ReadFrom(ctx, "ME", list[1].Index)
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := pdu.Decode(got.PDU); err != nil || msg.Text != "in me" || got.Mem != "ME" {
		t.Fatalf("ReadFrom ME: %+v (%v)", got, err)
	}
	if err := r.m.DeleteFrom(ctx, "ME", list[1].Index); err != nil {
		t.Fatal(err)
	}
	if st := r.sim.Stored("ME"); st[0] != "" {
		t.Errorf("ME still holds %q", st[0])
	}
	if st := r.sim.Stored("SM"); st[0] == "" {
		t.Error("the SM message went too")
	}
	if r.m.ReadStorage() != "SM" {
		t.Errorf("read storage %q after reading ME", r.m.ReadStorage())
	}
	if _, err := r.m.ReadMessage(ctx, list[0].Index); err != nil {
		t.Errorf("read storage not switched back: %v", err)
	}
}

// Resync answers once the modem does; Reset reboots it (EventReset).
func TestPTY_ResyncAndReset(t *testing.T) {
	r := mustRig(t, modem.Config{}, modemsim.Config{})
	ctx := ctxFor(t)
	if err := r.m.Resync(ctx); err != nil {
		t.Fatalf("Resync: %v", err)
	}
	r.sim.SetHang(modemsim.HangUntilReset)
	if err := r.m.Resync(ctx); !errors.Is(err, modem.ErrTimeout) {
		t.Fatalf("Resync of a hung modem: %v, want ErrTimeout", err)
	}
	if err := r.m.Reset(ctx); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	waitEvent(t, r.m, modem.EventReset)
	if err := r.m.Init(ctx); err != nil {
		t.Fatalf("Init after reset: %v", err)
	}
}
