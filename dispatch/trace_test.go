package dispatch_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/modem/modemsim"
)

// TestDispatcher_SecretPDUsNotTraced sends through the real driver with its
// AT trace on (debug): a high-priority message's PDU (the OTP lane) is
// neither in what the driver writes nor in what the modem echoes; an
// ordinary one's is, so the trace is on and the check can fail.
func TestDispatcher_SecretPDUsNotTraced(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	net := modemsim.NewNetwork()
	t.Cleanup(func() { net.Close() })
	sim, phone := net.AddModem(modemsim.Config{}), net.AddModem(modemsim.Config{})
	logs := &testkit.SyncBuffer{}
	dev := testkit.SimDeviceTraced(t, ctx, sim, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))

	r := newRig(t, rigOptions{})
	if err := r.st.UpsertModem(ctx, gateway.ModemInfo{IMEI: sim.IMEI(), State: gateway.ModemOnline}); err != nil {
		t.Fatal(err)
	}
	r.d.Attach(sim.IMEI(), dev, gateway.ModemLimits{})
	secret := r.send(gateway.SendRequest{To: phone.Number(), Text: "Your code is 834512", Priority: "high"})
	plain := r.send(gateway.SendRequest{To: phone.Number(), Text: "Your parcel is at the door"})
	r.waitStatus(secret.ID, gateway.StatusSent, 20*time.Second)
	r.waitStatus(plain.ID, gateway.StatusSent, 20*time.Second)

	pdus := map[string]string{}
	for _, rec := range net.Records() {
		pdus[rec.Text] = rec.PDU
	}
	trace := logs.String()
	if p := pdus["Your parcel is at the door"]; p == "" || !strings.Contains(trace, p) {
		t.Fatalf("the ordinary PDU %q is not traced: the trace is off?\n%s", p, trace)
	}
	p := pdus["Your code is 834512"]
	if p == "" {
		t.Fatal("the network never saw the high-priority message")
	}
	// The user data, which holds the code, is the PDU's tail: no stretch
	// of it long enough to hold a digit or two.
	tail := p[len(p)-24:]
	for i := 0; i+8 <= len(tail); i += 2 {
		if strings.Contains(trace, tail[i:i+8]) {
			t.Fatalf("the trace holds %q of the high-priority PDU %s:\n%s", tail[i:i+8], p, trace)
		}
	}
	if !strings.Contains(trace, "redacted_bytes=") {
		t.Errorf("the trace does not say what it left out:\n%s", trace)
	}
}
