package main

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// limits bound a run: the idle OTPs to send, and how long any one
// scenario may take before what it measured so far is reported.
type limits struct {
	idle    int
	idleCap time.Duration
	cap     time.Duration
}

// trial is one scenario on one peer, with its own virtual modems.
type trial struct {
	sim     *simNet
	p       peer
	lim     limits
	latency time.Duration
	nums    *numbers
}

// scenario is a column of the report.
type scenario struct {
	title   string
	modems  int
	latency time.Duration // the virtual modems' per-send latency
	run     func(t *trial) (string, error)
}

var scenarios = []scenario{
	{"OTP on an idle modem → AT+CMGS: p50 / p95 / max", 1, 0, (*trial).idleOTP},
	{"10 messages at 2 s per send (physical minimum 20 s)", 1, 2 * time.Second, func(t *trial) (string, error) { return t.batch(10) }},
	{"200 messages, 1 modem", 1, 0, func(t *trial) (string, error) { return t.batch(200) }},
	{"200 messages, 4 modems", 4, 0, func(t *trial) (string, error) { return t.batch(200) }},
	{"OTP behind 100 bulk (0.2 s per send) → its AT+CMGS", 1, 200 * time.Millisecond, (*trial).otpBehindBulk},
}

// numbers hands out destinations, each used once per run: the send log is
// matched on them.
type numbers struct{ n int }

func (n *numbers) next() string {
	n.n++
	return fmt.Sprintf("+1202555%04d", n.n%10000)
}

func (n *numbers) take(k int) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = n.next()
	}
	return out
}

// idleOTP hands over one OTP at a time, each once the one before has
// reached the modem and after a random pause (so that hand-overs land at
// any phase of a peer's polling), and times each to its AT+CMGS.
func (t *trial) idleOTP() (string, error) {
	var lat []time.Duration
	start := time.Now()
	for len(lat) < t.lim.idle && time.Since(start) < t.lim.idleCap {
		to := t.nums.next()
		t0 := time.Now()
		if err := t.p.submit(message{to: to, text: "Your code is 123456", otp: true}); err != nil {
			return "", err
		}
		seen, err := t.sim.waitSeen([]string{to}, t.lim.cap)
		if err != nil {
			return fmt.Sprintf("OTP %d not sent within %v", len(lat)+1, t.lim.cap), nil
		}
		lat = append(lat, seen[numberKey(to)].Sub(t0))
		time.Sleep(rand.N(500 * time.Millisecond))
	}
	s := summarize(lat)
	cell := fmt.Sprintf("%s / %s / %s", seconds(s.P50), seconds(s.P95), seconds(s.Max))
	if s.N < t.lim.idle {
		cell += fmt.Sprintf(" (n=%d in %v)", s.N, t.lim.idleCap)
	}
	return cell, nil
}

// batch hands over k messages at once and times the last one's send: to
// its AT+CMGS plus the modem's send latency, i.e. its +CMGS answer.
func (t *trial) batch(k int) (string, error) {
	to := t.nums.take(k)
	t0 := time.Now()
	for _, n := range to {
		if err := t.p.submit(message{to: n, text: "Your order has shipped. Track it at example.com/t/42"}); err != nil {
			return "", err
		}
	}
	handed := time.Since(t0)
	seen, err := t.sim.waitSeen(to, t.lim.cap)
	var last time.Time
	done := 0
	for _, n := range to {
		if at, ok := seen[numberKey(n)]; ok {
			done++
			if at.After(last) {
				last = at
			}
		}
	}
	if err != nil {
		return fmt.Sprintf("%d/%d sent in %v", done, k, t.lim.cap), nil
	}
	total := last.Add(t.latency).Sub(t0)
	return fmt.Sprintf("%s (%.1f/s; handed over in %s)", seconds(total), float64(k)/total.Seconds(), seconds(handed)), nil
}

// otpBehindBulk hands over 100 bulk messages, then an OTP, and times the
// OTP from its hand-over to its AT+CMGS, counting the bulk sent before it.
func (t *trial) otpBehindBulk() (string, error) {
	bulk := t.nums.take(100)
	for _, n := range bulk {
		if err := t.p.submit(message{to: n, text: "Our summer sale starts today: 20% off everything"}); err != nil {
			return "", err
		}
	}
	otp := t.nums.next()
	t0 := time.Now()
	if err := t.p.submit(message{to: otp, text: "Your code is 654321", otp: true}); err != nil {
		return "", err
	}
	seen, err := t.sim.waitSeen([]string{otp}, t.lim.cap)
	if err != nil {
		return fmt.Sprintf("not sent within %v", t.lim.cap), nil
	}
	at, before := seen[numberKey(otp)], 0
	for _, n := range bulk {
		if b, ok := seen[numberKey(n)]; ok && b.Before(at) {
			before++
		}
	}
	return fmt.Sprintf("%s (after %d bulk)", seconds(at.Sub(t0)), before), nil
}
