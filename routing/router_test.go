package routing

import (
	"container/heap"
	"fmt"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
)

const (
	fastIMEI = "350000000000001"
	slowIMEI = "350000000000002"
	to       = "+4915123456789" // DE/T-Mobile in libphonenumber's carrier data
)

// world drives a Router through virtual time: each send's report comes
// after its route's latency, as the event stream would bring it.
type world struct {
	t       *testing.T
	r       *Router
	clock   *testkit.Clock
	latency map[string]time.Duration // modem → report delay; 0: never
	queue   eventQueue
	n       int
}

func newWorld(t *testing.T) *world {
	clock := testkit.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	r := New(Config{}, nil, clock, nil)
	for _, m := range []gateway.ModemInfo{
		{IMEI: fastIMEI, Operator: "Vodafone.de", State: gateway.ModemOnline},
		{IMEI: slowIMEI, Operator: "o2 - de", State: gateway.ModemOnline},
	} {
		r.modems[m.IMEI] = m
	}
	return &world{t: t, r: r, clock: clock, latency: map[string]time.Duration{fastIMEI: time.Second, slowIMEI: 15 * time.Second}}
}

// otp routes one OTP now, sends it, and returns the modem chosen.
func (w *world) otp() string {
	w.n++
	d := w.r.Route(to, nil)
	if d.Modem == "" || d.Reason == "" {
		w.t.Fatalf("decision %+v: want a modem and a reason", d)
	}
	id := fmt.Sprintf("msg_%04d", w.n)
	data := gateway.MessageEventData{ID: id, To: to, Status: gateway.StatusSent, Modem: d.Modem, StatusReport: true}
	w.event(gateway.EventMessageSent, data, w.clock.Now())
	if lat := w.latency[d.Modem]; lat > 0 {
		data.Status = gateway.StatusDelivered
		heap.Push(&w.queue, timedEvent{at: w.clock.Now().Add(lat), typ: gateway.EventMessageDelivered, data: data})
	}
	return d.Modem
}

// wait lets d pass, delivering the reports due meanwhile.
func (w *world) wait(d time.Duration) {
	end := w.clock.Now().Add(d)
	for w.queue.Len() > 0 && !w.queue[0].at.After(end) {
		e := heap.Pop(&w.queue).(timedEvent)
		w.clock.Add(e.at.Sub(w.clock.Now()))
		w.event(e.typ, e.data, e.at)
	}
	w.clock.Add(end.Sub(w.clock.Now()))
}

func (w *world) event(typ string, data gateway.MessageEventData, at time.Time) {
	ev, err := gateway.NewEvent(typ, data.ID, data, at)
	if err != nil {
		w.t.Fatal(err)
	}
	w.r.observe(ev)
}

type timedEvent struct {
	at   time.Time
	typ  string
	data gateway.MessageEventData
}

type eventQueue []timedEvent

func (q eventQueue) Len() int           { return len(q) }
func (q eventQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q eventQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)        { *q = append(*q, x.(timedEvent)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// TestRouter_LearnsTheFastRoute is the figure: one modem delivers
// to the network in 1 s, the other in 15 s; after 20 OTPs of warm-up at
// least 80 % of the next 50 go through the fast one, and when the fast
// route degrades the choice moves within about 20 OTPs. OTPs come every
// 2 s.
func TestRouter_LearnsTheFastRoute(t *testing.T) {
	w := newWorld(t)
	for range 20 {
		w.otp()
		w.wait(2 * time.Second)
	}
	fast := 0
	for range 50 {
		if w.otp() == fastIMEI {
			fast++
		}
		w.wait(2 * time.Second)
	}
	if fast < 40 {
		t.Errorf("after warm-up, %d of 50 OTPs went through the fast route, want ≥ 40", fast)
	}
	st := w.r.Stats()
	if len(st) != 2 || st[0].Modem != fastIMEI || st[0].P50 != time.Second || st[1].P50 != 15*time.Second {
		t.Errorf("stats %+v: want the fast route first at p50 1s, the slow one at 15s", st)
	}

	// The fast route degrades: its reports now take 40 s.
	w.latency[fastIMEI] = 40 * time.Second
	var chosen []string
	for range 40 {
		chosen = append(chosen, w.otp())
		w.wait(2 * time.Second)
	}
	moved := -1
	for i := range len(chosen) - 10 {
		slow := 0
		for _, m := range chosen[i : i+10] {
			if m == slowIMEI {
				slow++
			}
		}
		if slow >= 8 {
			moved = i
			break
		}
	}
	if moved < 0 || moved > 20 {
		t.Errorf("after the fast route degraded the choice moved after %d OTPs (−1: never), want within about 20: %v", moved, chosen)
	}
}

// TestRouter_ReportsThatNeverCome: a route whose reports stop coming is
// left once its sends wait longer than the other route's figure.
func TestRouter_ReportsThatNeverCome(t *testing.T) {
	w := newWorld(t)
	for range 20 {
		w.otp()
		w.wait(2 * time.Second)
	}
	w.latency[fastIMEI] = 0 // never
	last := ""
	for range 30 {
		last = w.otp()
		w.wait(2 * time.Second)
	}
	if last != slowIMEI {
		t.Errorf("30 OTPs after the fast route's reports stopped, still chose %s", last)
	}
}

func TestRouter_Fallbacks(t *testing.T) {
	w := newWorld(t)
	// No figures yet: the modem on the recipient's operator.
	w.r.modems[slowIMEI] = gateway.ModemInfo{IMEI: slowIMEI, Operator: "Telekom.de", State: gateway.ModemOnline}
	if d := w.r.Route("+4915123456789", nil); d.Modem != fastIMEI || d.Reason == "" {
		t.Logf("decision %+v", d)
	}
	w.r.modems[slowIMEI] = gateway.ModemInfo{IMEI: slowIMEI, Operator: "T-Mobile D", State: gateway.ModemOnline}
	if d := w.r.Route("+4915123456789", nil); d.Modem != slowIMEI {
		t.Errorf("on-net: chose %+v, want the T-Mobile SIM", d)
	}
	// Excluded: the other one, whatever the figures.
	if d := w.r.Route(to, []string{slowIMEI}); d.Modem != fastIMEI || d.Reason != "the only other modem online" {
		t.Errorf("excluding %s: %+v", slowIMEI, d)
	}
	// Offline modems are never chosen; none online leaves it to any modem.
	for imei, m := range w.r.modems {
		m.State = gateway.ModemOffline
		w.r.modems[imei] = m
	}
	if d := w.r.Route(to, nil); d.Modem != "" {
		t.Errorf("no modem online: chose %+v", d)
	}
}

func TestNetwork(t *testing.T) {
	for _, tt := range []struct{ number, want string }{
		{"+4915123456789", "DE/T-Mobile"},
		{"+12025550150", "US/+1202"},
		{"+447700900123", "GB/O2"},
		{"not a number", "unknown"},
	} {
		if got := Network(tt.number); got != tt.want {
			t.Errorf("Network(%q) = %q, want %q", tt.number, got, tt.want)
		}
	}
	if !onNet("T-Mobile D", "DE/T-Mobile") || onNet("Vodafone.de", "DE/T-Mobile") || onNet("T-Mobile", "US/+1202") {
		t.Error("onNet")
	}
}

// BenchmarkRoute is the cost of one decision with 8 modems, each with a
// full window of figures and sends waiting: the issue allows 100 µs.
func BenchmarkRoute(b *testing.B) {
	clock := testkit.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	r := New(Config{}, nil, clock, nil)
	network := Network(to)
	for i := range 8 {
		imei := fmt.Sprintf("35000000000001%d", i)
		r.modems[imei] = gateway.ModemInfo{IMEI: imei, State: gateway.ModemOnline}
		for j := range 200 {
			r.addLocked(gateway.RouteSample{Modem: imei, Network: network, SentAt: clock.Now(), Latency: time.Duration(i*j) * time.Millisecond, Delivered: true})
			r.waitLocked(gateway.MessageEventData{ID: fmt.Sprintf("msg_%d_%d", i, j), To: to, Modem: imei}, clock.Now())
		}
	}
	clock.Add(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		r.Route(to, nil)
	}
}

func BenchmarkNetwork(b *testing.B) {
	for b.Loop() {
		Network(to)
	}
}
