package dispatch_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/modem/modemsim"
)

// TestDispatcher_DataSMS sends a data message with ports, a flash text, a
// text with a caller's UDH and one with its own TP-VP through the real
// driver on a virtual modem; the network's records show what went out.
func TestDispatcher_DataSMS(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	net := modemsim.NewNetwork()
	t.Cleanup(func() { net.Close() })
	sim, phone := net.AddModem(modemsim.Config{}), net.AddModem(modemsim.Config{})
	r := newRig(t, rigOptions{})
	if err := r.st.UpsertModem(ctx, gateway.ModemInfo{IMEI: sim.IMEI(), State: gateway.ModemOnline}); err != nil {
		t.Fatal(err)
	}
	r.d.Attach(sim.IMEI(), testkit.SimDevice(t, ctx, sim), gateway.ModemLimits{})

	data := bytes.Repeat([]byte{0xC0, 0x01}, 100) // 200 octets: 2 parts with ports
	wap := []byte{6, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0}
	dm := r.send(gateway.SendRequest{To: phone.Number(), Data: data, Ports: &gateway.Ports{Dest: 2948, Source: 9200}})
	r.waitStatus(dm.ID, gateway.StatusSent, 20*time.Second)
	fm := r.send(gateway.SendRequest{To: phone.Number(), Text: "flash!", Flash: true, Validity: 10 * time.Minute})
	r.waitStatus(fm.ID, gateway.StatusSent, 20*time.Second)
	um := r.send(gateway.SendRequest{To: phone.Number(), Text: "udh", UDH: wap, Encoding: "ucs2"})
	r.waitStatus(um.ID, gateway.StatusSent, 20*time.Second)

	recs := net.Records()
	if len(recs) != 4 {
		t.Fatalf("the network saw %d parts, want 4: %+v", len(recs), recs)
	}
	var joined []byte
	for i, rec := range recs[:2] {
		if rec.Encoding != "8bit" || rec.Ports == nil || rec.Ports.Dest != 2948 || rec.Ports.Source != 9200 ||
			rec.Part != i+1 || rec.Total != 2 || rec.Flash {
			t.Errorf("data part %d: %+v", i+1, rec)
		}
		joined = append(joined, rec.Data...)
	}
	if !bytes.Equal(joined, data) {
		t.Errorf("data parts join to %X", joined)
	}
	if rec := recs[2]; rec.Text != "flash!" || !rec.Flash || rec.Encoding != "gsm7" || rec.Validity != 10*time.Minute {
		t.Errorf("flash text went out as %+v", rec)
	}
	if rec := recs[3]; rec.Text != "udh" || !bytes.Equal(rec.UDH, wap) || rec.Encoding != "ucs2" || rec.Ports == nil || rec.Ports.Dest != 0x0B84 {
		t.Errorf("text with a UDH went out as %+v", rec)
	}
}
