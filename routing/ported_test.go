package routing

import (
	"container/heap"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
)

// portedWorld is two German SIMs, each fast on-net (1 s) and slow
// off-net (15 s): fastIMEI is on Vodafone, slowIMEI on T-Mobile. A number
// is delivered as fast as its actual network allows, which for a ported
// number is not the one its prefix names.
type portedWorld struct {
	*world
	actual map[string]string // number → the network it was ported to
}

const portedNumber = "+4915100000042" // named DE/T-Mobile, actually on Vodafone

func newPortedWorld(t *testing.T) *portedWorld {
	w := newWorld(t)
	w.r.modems[slowIMEI] = gateway.ModemInfo{IMEI: slowIMEI, Operator: "Telekom.de", State: gateway.ModemOnline}
	return &portedWorld{world: w, actual: map[string]string{portedNumber: "DE/Vodafone"}}
}

func (w *portedWorld) latency(modem, to string) time.Duration {
	network := Network(to)
	if a, ok := w.actual[to]; ok {
		network = a
	}
	onNet := (modem == fastIMEI) == (network == "DE/Vodafone")
	if onNet {
		return time.Second
	}
	return 15 * time.Second
}

// send routes one OTP to to now and sends it; its report comes as its
// actual network allows.
func (w *portedWorld) send(to string) gateway.RouteDecision {
	w.n++
	d := w.r.Route(to, nil)
	id := fmt.Sprintf("msg_%04d", w.n)
	data := gateway.MessageEventData{ID: id, To: to, Status: gateway.StatusSent, Modem: d.Modem, StatusReport: true}
	w.event(gateway.EventMessageSent, data, w.clock.Now())
	data.Status = gateway.StatusDelivered
	heap.Push(&w.queue, timedEvent{at: w.clock.Now().Add(w.latency(d.Modem, to)), typ: gateway.EventMessageDelivered, data: data})
	return d
}

// warmUp sends OTPs to other numbers of both networks, so that both routes
// to both networks have figures.
func (w *portedWorld) warmUp(n int) {
	for i := range n {
		to := fmt.Sprintf("+4916%d000000%02d", 2*(i%2), i) // +49160… T-Mobile, +49162… Vodafone
		w.send(to)
		w.wait(2 * time.Second)
	}
}

// TestRouter_PortedNumber: a number whose prefix names T-Mobile but which
// was ported to Vodafone is first sent the T-Mobile way and comes slowly;
// its own reports show it, and within a few OTPs it goes the Vodafone way,
// the decision saying why. Other T-Mobile numbers are not affected, and a
// restarted router knows it from the stored samples.
func TestRouter_PortedNumber(t *testing.T) {
	w := newPortedWorld(t)
	w.warmUp(40)
	if d := w.r.Route("+4916000000099", nil); d.Modem != slowIMEI {
		t.Fatalf("a T-Mobile number after warm-up: %+v, want the T-Mobile SIM", d)
	}
	if d := w.r.Route(portedNumber, nil); d.Modem != slowIMEI || d.Network != "DE/T-Mobile" {
		t.Fatalf("the ported number before any report: %+v, want the T-Mobile route", d)
	}

	var chosen []gateway.RouteDecision
	for range 30 {
		chosen = append(chosen, w.send(portedNumber))
		w.wait(2 * time.Second)
	}
	moved := -1
	for i, d := range chosen {
		if d.Network == "DE/Vodafone" && d.Modem == fastIMEI {
			moved = i
			break
		}
	}
	if moved < 0 || moved > 12 {
		t.Fatalf("the ported number moved to the Vodafone route after %d OTPs (−1: never), want within 12: %+v", moved, chosen)
	}
	if r := chosen[moved].Reason; !strings.Contains(r, "the number names DE/T-Mobile; its reports show DE/Vodafone") {
		t.Errorf("decision reason %q does not say why", r)
	}
	fast := 0
	for _, d := range chosen[moved:] {
		if d.Modem == fastIMEI {
			fast++
		}
	}
	if rest := len(chosen) - moved; fast*10 < rest*8 {
		t.Errorf("after the move %d of %d OTPs took the Vodafone SIM, want ≥ 80 %%", fast, rest)
	}
	if d := w.r.Route("+4916000000099", nil); d.Network != "DE/T-Mobile" || d.Modem != slowIMEI && !strings.HasPrefix(d.Reason, "explore:") {
		t.Errorf("another T-Mobile number after the correction: %+v, want the T-Mobile route still", d)
	}

	// A router started on the stored samples knows the correction.
	st := testkit.OpenStore(t)
	ctx := t.Context()
	for imei, m := range w.r.modems {
		if err := st.UpsertModem(ctx, gateway.ModemInfo{IMEI: imei, Operator: m.Operator, State: gateway.ModemOnline}); err != nil {
			t.Fatal(err)
		}
	}
	w.wait(time.Minute)
	if err := st.AddRouteSamples(ctx, w.r.fresh); err != nil {
		t.Fatal(err)
	}
	again := New(Config{}, st, w.clock, nil)
	if err := again.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if d := again.Route(portedNumber, nil); d.Modem != fastIMEI || d.Network != "DE/Vodafone" {
		t.Errorf("after a restart: %+v, want the Vodafone route", d)
	}
}

// TestRouter_NotPortedOnNoise: a number whose reports are a little slower
// than its network's figures (2×, within the noise of real SMSCs) stays on
// its network.
func TestRouter_NotPortedOnNoise(t *testing.T) {
	w := newPortedWorld(t)
	delete(w.actual, portedNumber)
	w.warmUp(40)
	for range 20 {
		d := w.r.Route(portedNumber, nil)
		id := fmt.Sprintf("msg_n%04d", w.n)
		w.n++
		data := gateway.MessageEventData{ID: id, To: portedNumber, Status: gateway.StatusSent, Modem: d.Modem, StatusReport: true}
		w.event(gateway.EventMessageSent, data, w.clock.Now())
		data.Status = gateway.StatusDelivered
		heap.Push(&w.queue, timedEvent{at: w.clock.Now().Add(2 * w.latency(d.Modem, portedNumber)), typ: gateway.EventMessageDelivered, data: data})
		w.wait(2 * time.Second)
	}
	w.wait(time.Minute)
	if d := w.r.Route(portedNumber, nil); d.Network != "DE/T-Mobile" {
		t.Errorf("a slightly slow T-Mobile number: %+v, want it left on DE/T-Mobile", d)
	}
}
