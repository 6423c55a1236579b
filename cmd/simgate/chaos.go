package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/pdu"
)

// "simgate sim --chaos SEED" makes the virtual modems misbehave at random
// while a gateway uses them: the soak test's weather. One seeded generator
// draws the whole schedule — when, which modem, which fault, for how long —
// on a logical clock, so a seed gives the same faults in the same order on
// any machine; only where they land among the gateway's commands depends
// on timing. A modem has at most one fault at a time. Each fault, and each
// SMS the chaos hands to a modem, is a JSON line of --chaos-log, the
// witness the soak test reads. "chaos off" on stdin stops new faults and
// cures every modem; "chaos on" starts them again.

// chaosKinds are the faults, with their weights.
var chaosKinds = []struct {
	kind   string
	weight int
}{
	{"cms_error", 8}, {"late_answer", 6}, {"late_cmgs", 4}, {"lost_answer", 3},
	{"no_prompt", 3}, {"ok_before_prompt", 3}, {"unplug", 3}, {"reenumerate", 2},
	{"reset", 3}, {"reset_mid_multipart", 3}, {"echo_on", 3}, {"noise", 5},
	{"reports_late", 4}, {"reports_duplicate", 4}, {"reports_never", 3},
	{"inbound_burst", 6}, {"odd_pdu", 4}, {"registration_flap", 4}, {"hang", 2},
}

// chaosCMSErrors are +CMS ERROR codes of every class the driver knows:
// permanent, bad PDU, transient, modem state, memory full, unknown.
var chaosCMSErrors = []int{1, 21, 27, 38, 42, 304, 314, 322, 331, 332, 500}

// chaosEvent is one line of --chaos-log.
type chaosEvent struct {
	Seq    int       `json:"seq"`
	Kind   string    `json:"kind"`
	Modem  int       `json:"modem"` // 1-based
	IMEI   string    `json:"imei"`
	Detail string    `json:"detail,omitempty"`
	Text   string    `json:"text,omitempty"` // an inbound SMS handed over
	PDU    string    `json:"pdu,omitempty"`  // an odd PDU handed over
	For    string    `json:"for,omitempty"`  // how long the fault lasts
	At     time.Time `json:"at"`
	Until  time.Time `json:"until"` // when it is cured; At for a one-off
}

// chaos is the fault generator of one "simgate sim".
type chaos struct {
	s    *simulator
	rng  *rand.Rand
	seed uint64

	mu    sync.Mutex
	on    bool
	gen   int           // bumped by "chaos off", so cures and watchers of an older round do nothing
	start chan struct{} // closed when chaos is first on: the logical clock starts then
	seq   int
	inSeq int
	log   io.Writer
}

// newChaos makes the fault generator; a paused one starts at the first
// "chaos on".
func newChaos(s *simulator, seed uint64, log io.Writer, paused bool) *chaos {
	c := &chaos{s: s, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), on: !paused, log: log,
		start: make(chan struct{})}
	if !paused {
		close(c.start)
	}
	return c
}

// run draws and applies faults until ctx ends.
func (c *chaos) run(ctx context.Context) {
	select {
	case <-c.start:
	case <-ctx.Done():
		return
	}
	busy := make([]time.Duration, len(c.s.modems)) // logical time each modem is free again
	var now time.Duration
	start := time.Now()
	for {
		d := c.draw(len(c.s.modems))
		now += d.step
		i, kind, dur, arg := d.modem, d.kind, d.dur, d.arg
		if wait := time.Until(start.Add(now)); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			return
		}
		if busy[i] > now {
			continue
		}
		busy[i] = now + dur
		if kind == "hang" {
			busy[i] = now + 30*time.Second // until the gateway cures it, or at most this
		}
		c.mu.Lock()
		on, gen := c.on, c.gen
		c.mu.Unlock()
		if on {
			c.apply(ctx, gen, i+1, kind, dur, arg)
		}
	}
}

// chaosDraw is one draw of the schedule: after step, modem (0-based) gets
// kind for dur, arg choosing its details.
type chaosDraw struct {
	step, dur time.Duration
	modem     int
	kind      string
	arg       uint64
}

// draw takes the next fault of the schedule from the seeded generator.
func (c *chaos) draw(modems int) chaosDraw {
	var d chaosDraw
	d.step = time.Duration(100+c.rng.IntN(300)) * time.Millisecond
	d.modem = c.rng.IntN(modems)
	d.kind = c.pick()
	d.dur = time.Duration(500+c.rng.IntN(2500)) * time.Millisecond
	d.arg = c.rng.Uint64()
	return d
}

func (c *chaos) pick() string {
	total := 0
	for _, k := range chaosKinds {
		total += k.weight
	}
	n := c.rng.IntN(total)
	for _, k := range chaosKinds {
		if n < k.weight {
			return k.kind
		}
		n -= k.weight
	}
	return chaosKinds[0].kind
}

// apply starts one fault on modem i (1-based) and schedules its cure.
func (c *chaos) apply(ctx context.Context, gen, i int, kind string, dur time.Duration, arg uint64) {
	m := c.s.modems[i-1]
	ev := chaosEvent{Kind: kind, Modem: i, IMEI: m.IMEI(), For: dur.String()}
	var cure func()
	switch kind {
	case "cms_error":
		code := chaosCMSErrors[arg%uint64(len(chaosCMSErrors))]
		ev.Detail = "+CMS ERROR: " + strconv.Itoa(code)
		m.SetFailure("", code)
		cure = func() { m.SetFailure("", 0) }
	case "late_answer":
		d := time.Duration(500+arg%11500) * time.Millisecond
		ev.Detail = "every answer " + d.String() + " late"
		m.SetAnswerDelay("", d)
		cure = func() { m.SetAnswerDelay("", 0) }
	case "late_cmgs":
		m.SetLateAnswer("+CMGS", true)
		cure = func() { m.SetLateAnswer("+CMGS", false) }
	case "lost_answer":
		m.SetLoseSendAnswer(true)
		cure = func() { m.SetLoseSendAnswer(false) }
	case "no_prompt":
		m.SetNoPrompt(true)
		cure = func() { m.SetNoPrompt(false) }
	case "ok_before_prompt":
		m.SetOKBeforePrompt(true)
		cure = func() { m.SetOKBeforePrompt(false) }
	case "unplug":
		c.control(ctx, "unplug", i)
		cure = func() { c.control(ctx, "replug", i) }
	case "echo_on":
		m.SetEcho(true)
		cure = func() { m.SetEcho(false) }
	case "noise":
		m.SetNoise(modemsim.DefaultNoise...)
		cure = func() { m.SetNoise() }
	case "reports_late", "reports_duplicate", "reports_never":
		p := modemsim.ReportPolicy{Delay: time.Duration(3000+arg%15000) * time.Millisecond}
		p.Duplicate, p.Drop = kind == "reports_duplicate", kind == "reports_never"
		c.s.net.SetRoute(m.IMEI(), "", p)
		cure = func() { c.s.net.SetRoute(m.IMEI(), "", modemsim.ReportPolicy{}) }
	case "hang":
		mode := []modemsim.HangMode{modemsim.HangUntilReset, modemsim.HangUntilReopen}[arg%2]
		ev.Detail, dur = mode.String(), 30*time.Second
		m.SetHang(mode)
		cure = func() { m.SetHang(modemsim.HangOff) }
	default:
		c.oneOff(ctx, gen, i, kind, dur, arg, ev)
		return
	}
	c.record(ev, dur)
	time.AfterFunc(dur, func() {
		c.mu.Lock()
		stale := c.gen != gen
		c.mu.Unlock()
		if !stale && ctx.Err() == nil {
			cure()
		}
	})
}

// oneOff runs the faults that have no cure: they happen and are over.
func (c *chaos) oneOff(ctx context.Context, gen, i int, kind string, dur time.Duration, arg uint64, ev chaosEvent) {
	m := c.s.modems[i-1]
	switch kind {
	case "reenumerate":
		c.control(ctx, "reenumerate", i)
	case "reset":
		m.Reset()
	case "reset_mid_multipart":
		c.record(ev, dur)
		go c.resetMidMultipart(ctx, gen, i, dur)
		return
	case "inbound_burst":
		n := 3 + int(arg%12)
		ev.Detail = strconv.Itoa(n) + " SMS"
		c.record(ev, 0)
		for k := range n {
			text := c.inboundText(k%5 == 4)
			if err := c.s.net.Deliver("+447700900"+strconv.Itoa(100+int(arg%800)), m.Number(), text); err == nil {
				c.record(chaosEvent{Kind: "sms_in", Modem: i, IMEI: m.IMEI(), Text: text}, 0)
			}
		}
		return
	case "odd_pdu":
		c.oddPDU(i, arg)
		return
	case "registration_flap":
		c.record(ev, dur)
		go c.flap(ctx, gen, m, dur, arg)
		return
	}
	c.record(ev, 0)
}

// inboundText is a unique text for an SMS from outside; long ones take
// three parts.
func (c *chaos) inboundText(long bool) string {
	c.mu.Lock()
	c.inSeq++
	n := c.inSeq
	c.mu.Unlock()
	text := fmt.Sprintf("chaos-in-%d-%06d", c.seed, n)
	if long {
		for len(text) < 400 {
			text += fmt.Sprintf(" %06d/%d", n, len(text)) // each part unique too
		}
	}
	return text
}

// oddPDU hands modem i a PDU that bends the spec (user data past TP-UDL,
// which decodes leniently) or one that does not decode at all.
func (c *chaos) oddPDU(i int, arg uint64) {
	m := c.s.modems[i-1]
	ev := chaosEvent{Kind: "odd_pdu", Modem: i, IMEI: m.IMEI()}
	if arg%2 == 0 {
		text := c.inboundText(false)
		from := pdu.Address{Number: "+447700900555", TOA: pdu.TOAInternational}
		pdus, err := pdu.EncodeDeliver(from, text, pdu.DeliverOptions{SCTS: time.Now()})
		if err != nil {
			return
		}
		ev.Detail, ev.Text, ev.PDU = "surplus user data", text, pdus[0]+"0000FF"
	} else {
		// A DELIVER whose sender address claims 255 digits: it runs out.
		ev.Detail, ev.PDU = "undecodable", fmt.Sprintf("0004FF%08X", uint32(arg>>8))
	}
	c.record(ev, 0)
	m.ReceivePDU(ev.PDU)
}

// resetMidMultipart resets modem i right after it sent a part of a
// multipart message that is not the last, within dur.
func (c *chaos) resetMidMultipart(ctx context.Context, gen, i int, dur time.Duration) {
	m := c.s.modems[i-1]
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	seen := len(c.s.net.Records())
	for {
		recs, err := c.s.net.WaitRecords(ctx, seen+1)
		if err != nil {
			return
		}
		for _, r := range recs[seen:] {
			if r.FromIMEI == m.IMEI() && r.Total > 1 && r.Part < r.Total {
				c.mu.Lock()
				stale := c.gen != gen || !c.on
				c.mu.Unlock()
				if !stale {
					m.Reset()
					c.record(chaosEvent{Kind: "reset_mid_multipart_fired", Modem: i, IMEI: m.IMEI(),
						Detail: fmt.Sprintf("after part %d/%d to %s", r.Part, r.Total, r.To)}, 0)
				}
				return
			}
		}
		seen = len(recs)
	}
}

// flap takes the modem's registration away and back a few times within
// dur, and leaves it registered.
func (c *chaos) flap(ctx context.Context, gen int, m *modemsim.Modem, dur time.Duration, arg uint64) {
	defer m.SetRegistration(modemsim.RegHome)
	flips := 2 + int(arg%5)
	for k := range flips {
		c.mu.Lock()
		stale := c.gen != gen || !c.on
		c.mu.Unlock()
		if stale || ctx.Err() != nil {
			return
		}
		stat := modemsim.RegHome
		if k%2 == 0 {
			stat = []int{modemsim.RegSearching, modemsim.RegNotRegistered, modemsim.RegDenied}[(arg>>uint(k))%3]
		}
		m.SetRegistration(stat)
		time.Sleep(dur / time.Duration(flips))
	}
}

// control runs a stdin command on modem i, with the simulator's lock.
func (c *chaos) control(ctx context.Context, cmd string, i int) {
	if err := c.s.command(ctx, []string{cmd, strconv.Itoa(i)}); err != nil {
		fmt.Fprintf(c.s.stderr, "chaos: %s %d: %v\n", cmd, i, err)
	}
}

// record writes ev to the chaos log, numbered, at the present.
func (c *chaos) record(ev chaosEvent, dur time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	ev.Seq, ev.At = c.seq, time.Now()
	ev.Until = ev.At.Add(dur)
	b, _ := json.Marshal(ev)
	c.log.Write(append(b, '\n'))
}

// set turns chaos on or off; off cures every modem at once.
func (c *chaos) set(ctx context.Context, on bool) {
	c.mu.Lock()
	c.on = on
	c.gen++
	if on {
		select {
		case <-c.start:
		default:
			close(c.start)
		}
	}
	c.mu.Unlock()
	if on {
		return
	}
	for i, m := range c.s.modems {
		m.SetFailure("", 0)
		m.SetAnswerDelay("", 0)
		m.SetLateAnswer("+CMGS", false)
		m.SetLoseSendAnswer(false)
		m.SetNoPrompt(false)
		m.SetOKBeforePrompt(false)
		m.SetEcho(false)
		m.SetNoise()
		m.SetRegistration(modemsim.RegHome)
		m.SetHang(modemsim.HangOff)
		c.s.net.SetRoute(m.IMEI(), "", modemsim.ReportPolicy{})
		if m.Path() == "" { // unplugged
			c.control(ctx, "replug", i+1)
		}
	}
	fmt.Fprintln(c.s.stderr, "chaos off: every modem cured")
}

// newChaos sets up --chaos; closeLog closes its log.
func (s *simulator) newChaos(seedArg, logFile string, paused bool) (closeLog func(), err error) {
	seed, err := strconv.ParseUint(seedArg, 10, 64)
	if err != nil {
		return nil, usagef("sim: --chaos wants a number (the seed), got %q", seedArg)
	}
	log, err := openLog(logFile, "chaos log")
	if err != nil {
		return nil, err
	}
	s.chaos = newChaos(s, seed, log, paused) // its writes are serialised
	state := "on"
	if paused {
		state = "paused until \"chaos on\""
	}
	fmt.Fprintf(s.stderr, "chaos: seed %d, %s\n", seed, state)
	return func() { log.Close() }, nil
}

// chaosCommand runs "chaos on" or "chaos off" from stdin.
func (s *simulator) chaosCommand(ctx context.Context, f []string) error {
	if s.chaos == nil || len(f) != 2 || (f[1] != "on" && f[1] != "off") {
		return fmt.Errorf("chaos wants on or off, and --chaos SEED")
	}
	s.chaos.set(ctx, f[1] == "on")
	return nil
}
