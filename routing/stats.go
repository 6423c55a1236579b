package routing

import (
	"slices"
	"time"

	"github.com/simgate/simgate/gateway"
)

// failedLatency is what a failed report counts as in a route's delivery
// time: worse than any delivery, so a route that fails is a slow route.
const failedLatency = 10 * time.Minute

// key is one route: a modem to a destination network.
type key struct{ modem, network string }

// route is what the Router knows of one route: the outcomes of the
// horizon, newest last, and the sends still waiting for their report,
// oldest first.
type route struct {
	samples []gateway.RouteSample
	waiting []string // message IDs, in send order; finished ones are skipped lazily
}

// pending is a message sent and not yet reported.
type pending struct {
	key key
	to  string // the recipient
	at  time.Time
}

// estimate is a route's delivery time as the Router sees it.
type estimate struct {
	p50 time.Duration
	n   int // samples it rests on, overdue sends included
}

// estimate is the median delivery time of the route's last window
// outcomes. A send still waiting longer than that median is counted too, at
// its age so far: when a route degrades its reports stop coming in time,
// and the estimate must rise before they come, not after.
func (r *route) estimate(pend map[string]pending, now time.Time, window int) estimate {
	vals := make([]time.Duration, 0, window)
	for i := len(r.samples) - 1; i >= 0 && len(vals) < window; i-- {
		vals = append(vals, sampleLatency(r.samples[i]))
	}
	p50 := median(vals)
	var overdue []time.Duration
	for _, id := range r.waiting {
		p, ok := pend[id]
		if !ok {
			continue
		}
		age := now.Sub(p.at)
		if len(vals) > 0 && age <= p50 {
			break // oldest first: the rest are younger still
		}
		if overdue = append(overdue, age); len(overdue) == window {
			break
		}
	}
	if len(overdue) == 0 {
		return estimate{p50: p50, n: len(vals)}
	}
	// The overdue sends are newer than every outcome before them: they
	// displace the oldest outcomes of the window.
	keep := max(0, window-len(overdue))
	all := append(overdue, vals[:min(len(vals), keep)]...)
	return estimate{p50: median(all), n: len(all)}
}

// figureWithout is the median delivery time of the route's last window
// outcomes to recipients other than dest, when there are at least least.
func (r *route) figureWithout(dest string, window, least int) (time.Duration, bool) {
	vals := make([]time.Duration, 0, window)
	for i := len(r.samples) - 1; i >= 0 && len(vals) < window; i-- {
		if r.samples[i].Dest != dest {
			vals = append(vals, sampleLatency(r.samples[i]))
		}
	}
	if len(vals) < least {
		return 0, false
	}
	return median(vals), true
}

func sampleLatency(s gateway.RouteSample) time.Duration {
	if !s.Delivered {
		return failedLatency
	}
	return s.Latency
}

func median(v []time.Duration) time.Duration {
	return percentile(v, 50)
}

// percentile is the p-th percentile of v (nearest rank); 0 for none.
func percentile(v []time.Duration, p int) time.Duration {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}

// compact drops finished sends from the front of the waiting list.
func (r *route) compact(pend map[string]pending) {
	i := 0
	for i < len(r.waiting) {
		if _, ok := pend[r.waiting[i]]; ok {
			break
		}
		i++
	}
	if i > 0 {
		r.waiting = slices.Delete(r.waiting, 0, i)
	}
}

// trim forgets the outcomes sent before cut, and keeps at most limit.
func (r *route) trim(cut time.Time, limit int) {
	i := 0
	for i < len(r.samples) && r.samples[i].SentAt.Before(cut) {
		i++
	}
	i = max(i, len(r.samples)-limit)
	if i > 0 {
		r.samples = slices.Delete(r.samples, 0, i)
	}
}

func (r *route) stat(k key, pend map[string]pending) gateway.RouteStat {
	st := gateway.RouteStat{Modem: k.modem, Network: k.network, Reports: len(r.samples)}
	var lat []time.Duration
	for _, s := range r.samples {
		if s.Delivered {
			st.Delivered++
			lat = append(lat, s.Latency)
		}
	}
	for _, id := range r.waiting {
		if _, ok := pend[id]; ok {
			st.Waiting++
		}
	}
	if st.Reports > 0 {
		st.Rate = float64(st.Delivered) / float64(st.Reports)
	}
	st.P50, st.P90 = percentile(lat, 50), percentile(lat, 90)
	return st
}
