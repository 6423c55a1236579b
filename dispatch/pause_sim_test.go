package dispatch_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/dispatch"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/modem/modemsim"
)

// pauseLog records the dispatcher's OnPause calls.
type pauseLog struct {
	mu      sync.Mutex
	lengths []time.Duration
	reasons []string
}

func (p *pauseLog) add(_, reason string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lengths = append(p.lengths, d)
	p.reasons = append(p.reasons, reason)
}

func (p *pauseLog) get() ([]time.Duration, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lengths), slices.Clone(p.reasons)
}

// A burst of network timeouts on one modem costs one message one attempt:
// the modem is paused after the first and claims nothing more, while the
// other modem sends the whole queue. Before, the first modem took message
// after message and failed each within milliseconds.
func TestDispatcher_NetworkErrorPausesModem(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	net := modemsim.NewNetwork()
	t.Cleanup(func() { net.Close() })
	simA, simB := net.AddModem(modemsim.Config{}), net.AddModem(modemsim.Config{})
	phone := net.AddModem(modemsim.Config{})
	simA.FailNextSends(332, 5)

	var pauses pauseLog
	r := newRig(t, rigOptions{dispatcher: dispatch.Config{
		NetworkPause: time.Hour, // the whole test
		RetryBackoff: []time.Duration{50 * time.Millisecond},
		OnPause:      pauses.add,
	}})
	var ids []string
	for i := range 20 {
		ids = append(ids, r.send(gateway.SendRequest{To: phone.Number(), Text: "queued " + string(rune('a'+i))}).ID)
	}
	// A alone first, until it is paused: then B, which must send the rest.
	r.addModemSim(ctx, simA)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if until, _ := r.d.Paused(simA.IMEI()); !until.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("modem A not paused after its first network timeout")
		}
	}
	r.addModemSim(ctx, simB)
	tried := 0
	for _, id := range ids {
		m := r.waitStatus(id, gateway.StatusSent, 30*time.Second)
		if m.Modem != simB.IMEI() {
			t.Errorf("%s sent by %s, want the modem not paused", id, m.Modem)
		}
		if m.Attempts > 0 {
			tried++
		}
	}
	if tried != 1 {
		t.Errorf("%d messages counted a failed attempt, want 1: the paused modem took more", tried)
	}
	until, reason := r.d.Paused(simA.IMEI())
	if !until.After(time.Now().Add(30*time.Minute)) || !strings.Contains(reason, "+CMS ERROR: 332") {
		t.Errorf("Paused(A) = %v, %q; want an hour's pause for the network timeout", until, reason)
	}
	if until, _ := r.d.Paused(simB.IMEI()); !until.IsZero() {
		t.Errorf("Paused(B) = %v, want none", until)
	}
	if lengths, _ := pauses.get(); !slices.Equal(lengths, []time.Duration{time.Hour}) {
		t.Errorf("pauses %v, want one of an hour", lengths)
	}
}

// Each network error in a row doubles the pause, up to its cap; a message
// sent resets it. Messages of a paused modem stay queued, none fails.
func TestDispatcher_NetworkPauseGrowsAndResets(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	net := modemsim.NewNetwork()
	t.Cleanup(func() { net.Close() })
	sim := net.AddModem(modemsim.Config{})
	phone := net.AddModem(modemsim.Config{})
	sim.FailNextSends(332, 4)

	var pauses pauseLog
	const base = 100 * time.Millisecond
	r := newRig(t, rigOptions{dispatcher: dispatch.Config{
		NetworkPause: base, NetworkPauseMax: 4 * base, MaxAttempts: 10,
		RetryBackoff: []time.Duration{10 * time.Millisecond},
		OnPause:      pauses.add,
	}})
	var ids []string
	for i := range 3 {
		ids = append(ids, r.send(gateway.SendRequest{To: phone.Number(), Text: "first " + string(rune('a'+i))}).ID)
	}
	r.addModemSim(ctx, sim)
	for _, id := range ids {
		r.waitStatus(id, gateway.StatusSent, 30*time.Second)
	}
	sim.FailNextSends(331, 1)
	last := r.send(gateway.SendRequest{To: phone.Number(), Text: "after the reset"})
	r.waitStatus(last.ID, gateway.StatusSent, 30*time.Second)

	lengths, reasons := pauses.get()
	want := []time.Duration{base, 2 * base, 4 * base, 4 * base, base}
	if !slices.Equal(lengths, want) {
		t.Errorf("pauses %v, want %v (doubling, capped, reset by a message sent)", lengths, want)
	}
	if len(reasons) == len(want) && !strings.Contains(reasons[4], "+CMS ERROR: 331") {
		t.Errorf("last pause's reason %q, want the 331", reasons[4])
	}
}

// addModemSim records sim online and attaches it through the real driver.
func (r *rig) addModemSim(ctx context.Context, sim *modemsim.Modem) {
	r.t.Helper()
	if err := r.st.UpsertModem(ctx, gateway.ModemInfo{IMEI: sim.IMEI(), State: gateway.ModemOnline}); err != nil {
		r.t.Fatal(err)
	}
	r.d.Attach(sim.IMEI(), testkit.SimDevice(r.t, ctx, sim), gateway.ModemLimits{})
}
