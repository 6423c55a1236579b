package routing

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
)

// Route chooses among the online modems not in exclude: the fastest
// measured route to to's network; without figures, the modem on its own
// operator; else the least busy. Every 1/Explore-th decision for a network
// goes to another modem instead, one without figures first, so that every
// route stays measured. It costs no I/O.
func (r *Router) Route(to string, exclude []string) gateway.RouteDecision {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	network, named := r.networkLocked(to)
	d := gateway.RouteDecision{Network: network}
	ported := ""
	if network != named {
		ported = fmt.Sprintf(" (the number names %s; its reports show %s)", named, network)
	}
	cands := r.candidatesLocked(exclude)
	switch len(cands) {
	case 0:
		d.Reason = "no modem online to choose from"
		return d
	case 1:
		d.Modem, d.Reason = cands[0].IMEI, "the only modem online"
		if len(exclude) > 0 {
			d.Reason = "the only other modem online"
		}
		return d
	}
	if m := r.exploreNumberLocked(to, cands); m != "" {
		d.Modem = m
		d.Reason = fmt.Sprintf("explore: this number's reports do not fit %s (ported?); trying another SIM", network)
		return d
	}
	best, bestEst, unmeasured := "", estimate{}, []string(nil)
	for _, m := range cands {
		est := r.estimateLocked(key{m.IMEI, network}, now)
		switch {
		case est.n < r.cfg.MinSamples:
			unmeasured = append(unmeasured, m.IMEI)
		case best == "" || est.p50 < bestEst.p50:
			best, bestEst = m.IMEI, est
		}
	}
	if m := r.exploreLocked(network, best, cands, unmeasured); m != "" {
		d.Modem, d.Reason = m, "explore: keeps this route's figures fresh"
		return d
	}
	if best != "" {
		d.Modem = best
		d.Reason = fmt.Sprintf("fastest to %s: p50 %s over %d reports%s", network, roundLatency(bestEst.p50), bestEst.n, ported)
		return d
	}
	for _, m := range cands {
		if onNet(m.Operator, network) {
			d.Modem, d.Reason = m.IMEI, fmt.Sprintf("on-net: %s to %s%s", m.Operator, network, ported)
			return d
		}
	}
	idle := slices.MinFunc(cands, func(a, b gateway.ModemInfo) int {
		return cmp.Or(cmp.Compare(r.busy[a.IMEI], r.busy[b.IMEI]), cmp.Compare(r.chosen[a.IMEI], r.chosen[b.IMEI]))
	})
	d.Modem = idle.IMEI
	d.Reason = fmt.Sprintf("least busy: %d sends waiting for a report", r.busy[idle.IMEI])
	r.chosen[idle.IMEI]++
	return d
}

// candidatesLocked are the online modems not in exclude, by IMEI.
func (r *Router) candidatesLocked(exclude []string) []gateway.ModemInfo {
	out := make([]gateway.ModemInfo, 0, len(r.modems))
	for _, m := range r.modems {
		if m.State == gateway.ModemOnline && !slices.Contains(exclude, m.IMEI) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b gateway.ModemInfo) int { return strings.Compare(a.IMEI, b.IMEI) })
	return out
}

func (r *Router) estimateLocked(k key, now time.Time) estimate {
	rt := r.routes[k]
	if rt == nil {
		return estimate{}
	}
	rt.compact(r.pend)
	return rt.estimate(r.pend, now, r.cfg.Window)
}

// exploreLocked returns the modem this decision explores, or "": every
// 1/Explore-th decision per network, a modem without figures first, else
// the next one after best in turn.
func (r *Router) exploreLocked(network, best string, cands []gateway.ModemInfo, unmeasured []string) string {
	if r.cfg.Explore <= 0 || best == "" {
		return "" // nothing to explore against: the fallbacks spread the load
	}
	every := max(2, int(math.Round(1/r.cfg.Explore)))
	r.decisions[network]++
	n := r.decisions[network]
	if n%every != 0 {
		return ""
	}
	if len(unmeasured) > 0 {
		return unmeasured[(n/every)%len(unmeasured)]
	}
	others := make([]string, 0, len(cands)-1)
	for _, m := range cands {
		if m.IMEI != best {
			others = append(others, m.IMEI)
		}
	}
	return others[(n/every)%len(others)]
}

func roundLatency(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}

// observe learns from one event; it reports whether the modems changed.
func (r *Router) observe(ev gateway.Event) bool {
	if strings.HasPrefix(ev.Type, "modem.") {
		return true
	}
	var m gateway.MessageEventData
	switch ev.Type {
	case gateway.EventMessageSent, gateway.EventMessageDelivered, gateway.EventMessageFailed,
		gateway.EventMessageExpired, gateway.EventMessageCanceled:
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			r.log.Error("routing: event data", "event", ev.ID, "err", err)
			return false
		}
	default:
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.Type == gateway.EventMessageSent {
		if m.StatusReport && m.Modem != "" {
			r.waitLocked(m, ev.At)
		}
		return false
	}
	p, ok := r.pend[m.ID]
	if !ok {
		return false // sent before this start, or with no report asked for
	}
	r.finishLocked(m.ID, p)
	if ev.Type == gateway.EventMessageDelivered || ev.Type == gateway.EventMessageFailed {
		s := gateway.RouteSample{Modem: p.key.modem, Network: p.key.network, Dest: p.to, SentAt: p.at,
			Latency: max(0, ev.At.Sub(p.at)), Delivered: ev.Type == gateway.EventMessageDelivered}
		if !s.Delivered {
			s.Latency = 0
		}
		r.fresh = append(r.fresh, s)
		r.addLocked(s)
		r.learnNumberLocked(s)
	}
	return false
}

func (r *Router) waitLocked(m gateway.MessageEventData, at time.Time) {
	network, _ := r.networkLocked(m.To)
	k := key{m.Modem, network}
	if _, dup := r.pend[m.ID]; dup {
		return
	}
	r.pend[m.ID] = pending{key: k, to: m.To, at: at}
	r.busy[m.Modem]++
	rt := r.routes[k]
	if rt == nil {
		rt = &route{}
		r.routes[k] = rt
	}
	rt.waiting = append(rt.waiting, m.ID)
}

func (r *Router) finishLocked(id string, p pending) {
	delete(r.pend, id)
	if r.busy[p.key.modem]--; r.busy[p.key.modem] <= 0 {
		delete(r.busy, p.key.modem)
	}
}

// flush stores the outcomes learned since the last flush and, once an
// hour, forgets what is past the horizon.
func (r *Router) flush(ctx context.Context) {
	r.mu.Lock()
	fresh := r.fresh
	r.fresh = nil
	now := r.clock.Now()
	prune := now.Sub(r.pruned) >= time.Hour
	if prune {
		r.pruned = now
		cut := now.Add(-r.cfg.Horizon)
		for id, p := range r.pend {
			if p.at.Before(cut) {
				r.finishLocked(id, p) // its report will not come now
			}
		}
		r.forgetNumbersLocked(cut)
	}
	r.mu.Unlock()
	if err := r.store.AddRouteSamples(ctx, fresh); err != nil && ctx.Err() == nil {
		r.log.Error("store route samples", "err", err)
	}
	if prune {
		if _, err := r.store.PruneRouteSamples(ctx, now.Add(-r.cfg.Horizon)); err != nil && ctx.Err() == nil {
			r.log.Error("prune route samples", "err", err)
		}
	}
}

// sortStats orders figures by network, then fastest first.
func sortStats(s []gateway.RouteStat) {
	slices.SortFunc(s, func(a, b gateway.RouteStat) int {
		return cmp.Or(strings.Compare(a.Network, b.Network), cmp.Compare(a.P50, b.P50), strings.Compare(a.Modem, b.Modem))
	})
}
