package routing

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
)

// A ported number kept its prefix when it moved to another operator, so the
// network its number names (Network) is not the one its SMS go to, and the
// figures of the wrong network would choose its route. The Router notices
// it from the number's own reports: when, on the modems it has reports
// from, the number's delivery time is far off its named network's figures
// (other numbers' reports) and close to those of another network of the
// same country, the number is taken to be on that network: it is routed by
// that network's figures and its reports count there. Reports that fit the
// named network again undo it.
const (
	// portedMinReports is how many delivered reports of a number on one
	// modem its median there rests on.
	portedMinReports = 3
	// portedOff: the number's median is at least this many times off its
	// named network's figure (either way) …
	portedOff = 3.0
	// portedNear: … and within this factor of the other network's.
	portedNear = 1.5
	// maxNumberReports bounds what is kept of one number on one modem.
	maxNumberReports = 10
)

// number is what the Router knows of one recipient: its delivered report
// times per modem, newest last, and the network its reports show when that
// is not the one its number names.
type number struct {
	byModem map[string][]time.Duration
	ported  string // "" while it fits its named network
	suspect bool   // far off its named network, and no other fits yet
	seen    time.Time
}

// networkLocked is the network to's messages go to: the one its reports
// showed, else the one its number names.
func (r *Router) networkLocked(to string) (network, named string) {
	named = Network(to)
	if n := r.numbers[to]; n != nil && n.ported != "" {
		return n.ported, named
	}
	return named, named
}

// learnNumberLocked adds a delivered report to its number's history and
// looks again at which network the number is on.
func (r *Router) learnNumberLocked(s gateway.RouteSample) {
	if s.Dest == "" || !s.Delivered {
		return
	}
	n := r.numbers[s.Dest]
	if n == nil {
		n = &number{byModem: map[string][]time.Duration{}}
		r.numbers[s.Dest] = n
	}
	n.seen = s.SentAt
	lats := append(n.byModem[s.Modem], s.Latency)
	n.byModem[s.Modem] = lats[max(0, len(lats)-maxNumberReports):]

	named := Network(s.Dest)
	was := n.ported
	to, off := r.portedToLocked(s.Dest, n, named)
	switch {
	case to != "":
		n.ported, n.suspect = to, false
	case off:
		n.suspect = true // far off, and no other network fits yet: explore
	case r.fitsLocked(s.Dest, n, named):
		n.ported, n.suspect = "", false
	}
	if n.ported != was {
		from, into := cmp.Or(was, named), cmp.Or(n.ported, named)
		r.moveSamplesLocked(s.Dest, from, into)
		r.log.Info("routing: a number's reports show another network than its prefix names",
			"network", into, "named", named)
	}
}

// portedToLocked returns the network of named's country that the number's
// reports fit when they are far off named's figures, and whether they are
// far off; "" when no other network fits.
func (r *Router) portedToLocked(dest string, n *number, named string) (string, bool) {
	off, ok := r.scoreLocked(dest, n, named, portedMinReports)
	if !ok || off < math.Log(portedOff) {
		return "", false
	}
	country, _, _ := strings.Cut(named, "/")
	best, bestScore := "", math.Log(portedNear)
	for _, network := range r.networksLocked() {
		if network == named || !strings.HasPrefix(network, country+"/") {
			continue
		}
		if sc, ok := r.scoreLocked(dest, n, network, 1); ok && sc <= bestScore {
			best, bestScore = network, sc
		}
	}
	return best, true
}

// fitsLocked reports whether the number's reports fit named's figures.
func (r *Router) fitsLocked(dest string, n *number, named string) bool {
	sc, ok := r.scoreLocked(dest, n, named, portedMinReports)
	return ok && sc <= math.Log(portedNear)
}

// scoreLocked is how far the number's delivery times are from network's
// figures: over the modems where both are known, the mean of |ln(ratio)|
// of the medians, weighted by the number's reports there; ok when at least
// least reports count. Network's figures leave the number's own reports out.
func (r *Router) scoreLocked(dest string, n *number, network string, least int) (float64, bool) {
	sum, count := 0.0, 0
	for modem, lats := range n.byModem {
		rt := r.routes[key{modem, network}]
		if rt == nil {
			continue
		}
		fig, ok := rt.figureWithout(dest, r.cfg.Window, r.cfg.MinSamples)
		if !ok {
			continue
		}
		own := median(lats)
		sum += float64(len(lats)) * math.Abs(math.Log(float64(max(own, time.Millisecond))/float64(max(fig, time.Millisecond))))
		count += len(lats)
	}
	if count == 0 || count < least {
		return 0, false
	}
	return sum / float64(count), true
}

// exploreNumberLocked returns a modem among cands that has sent to the
// number nothing yet, when its reports are far off its named network's
// figures and no other network fits them yet: its reports there tell
// which network it is on. "" otherwise.
func (r *Router) exploreNumberLocked(to string, cands []gateway.ModemInfo) string {
	n := r.numbers[to]
	if n == nil || !n.suspect {
		return ""
	}
	for _, m := range cands {
		if len(n.byModem[m.IMEI]) == 0 {
			return m.IMEI
		}
	}
	return ""
}

// networksLocked are the networks the Router has figures for, sorted.
func (r *Router) networksLocked() []string {
	var out []string
	for k := range r.routes {
		if !slices.Contains(out, k.network) {
			out = append(out, k.network)
		}
	}
	slices.Sort(out)
	return out
}

// moveSamplesLocked moves dest's outcomes from the routes to network from
// to the same modems' routes to network into, keeping both in send order.
func (r *Router) moveSamplesLocked(dest, from, into string) {
	for k, rt := range r.routes {
		if k.network != from {
			continue
		}
		var moved []gateway.RouteSample
		rt.samples = slices.DeleteFunc(rt.samples, func(s gateway.RouteSample) bool {
			if s.Dest == dest {
				moved = append(moved, s)
				return true
			}
			return false
		})
		if len(moved) == 0 {
			continue
		}
		to := r.routes[key{k.modem, into}]
		if to == nil {
			to = &route{}
			r.routes[key{k.modem, into}] = to
		}
		for _, s := range moved {
			s.Network = into
			i, _ := slices.BinarySearchFunc(to.samples, s.SentAt, func(a gateway.RouteSample, t time.Time) int { return a.SentAt.Compare(t) })
			to.samples = slices.Insert(to.samples, i, s)
		}
	}
}

// forgetNumbersLocked drops what is known of the numbers not seen since cut.
func (r *Router) forgetNumbersLocked(cut time.Time) {
	for to, n := range r.numbers {
		if n.seen.Before(cut) {
			delete(r.numbers, to)
		}
	}
}
