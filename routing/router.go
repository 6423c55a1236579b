// Package routing chooses the modem an OTP goes out on. It learns every
// route — a modem to a destination network — from the delivery reports in
// the event stream, and prefers the modem whose recent reports to the
// recipient's network came fastest; without enough figures, the modem on
// the recipient's own operator; else the least busy one. A small share of
// decisions explores another modem so that the figures stay fresh and a
// route that degrades is noticed.
package routing

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/simgate/simgate/events"
	"github.com/simgate/simgate/gateway"
)

// Config holds the Router's tunables; zero values take the defaults.
type Config struct {
	// Explore is the share of decisions that try another modem; default
	// 0.1. Negative: never explore.
	Explore float64
	// Window is how many recent outcomes of a route its delivery time
	// rests on; default 10. A small window notices a degraded route within
	// a few messages.
	Window int
	// MinSamples is how many outcomes a route needs before its figure
	// counts; default 3.
	MinSamples int
	// Horizon is how long outcomes are kept and shown; default 24 h.
	Horizon time.Duration
}

func (c *Config) setDefaults() {
	if c.Explore == 0 {
		c.Explore = 0.1
	}
	if c.Window <= 0 {
		c.Window = 10
	}
	if c.MinSamples <= 0 {
		c.MinSamples = 3
	}
	if c.Horizon <= 0 {
		c.Horizon = 24 * time.Hour
	}
}

// Store is what the Router reads and keeps.
type Store interface {
	gateway.EventLog
	gateway.RouteSamples
	Modems(ctx context.Context) ([]gateway.ModemInfo, error)
}

// maxSamplesPerRoute bounds one route's memory over the horizon.
const maxSamplesPerRoute = 5000

// Router implements gateway.Router. Its methods are safe for concurrent
// use.
type Router struct {
	cfg   Config
	store Store
	clock gateway.Clock
	log   *slog.Logger

	mu        sync.Mutex
	routes    map[key]*route
	pend      map[string]pending // message ID → its send
	modems    map[string]gateway.ModemInfo
	busy      map[string]int     // modem → its sends waiting for a report
	chosen    map[string]int     // modem → least-busy decisions, to spread ties
	decisions map[string]int     // network → decisions, for exploration
	numbers   map[string]*number // recipient → its reports (ported.go)
	pruned    time.Time
	fresh     []gateway.RouteSample // outcomes not yet stored
	modemAt   time.Time             // when modems was read
}

var _ gateway.Router = (*Router)(nil)

// New returns a Router on st; Load fills it.
func New(cfg Config, st Store, clock gateway.Clock, logger *slog.Logger) *Router {
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Router{cfg: cfg, store: st, clock: clock, log: logger,
		routes: map[key]*route{}, pend: map[string]pending{}, modems: map[string]gateway.ModemInfo{},
		busy: map[string]int{}, chosen: map[string]int{}, decisions: map[string]int{}, numbers: map[string]*number{}}
}

// Load reads the stored outcomes of the horizon and the modems.
func (r *Router) Load(ctx context.Context) error {
	since := r.clock.Now().Add(-r.cfg.Horizon)
	samples, err := r.store.RouteSamplesSince(ctx, since, 200_000)
	if err != nil {
		return fmt.Errorf("routing: %w", err)
	}
	r.mu.Lock()
	for _, s := range samples {
		r.addLocked(s)
		r.learnNumberLocked(s)
	}
	r.mu.Unlock()
	return r.readModems(ctx)
}

// readModems refreshes the modems the Router may choose from.
func (r *Router) readModems(ctx context.Context) error {
	ms, err := r.store.Modems(ctx)
	if err != nil {
		return fmt.Errorf("routing: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.modems)
	for _, m := range ms {
		r.modems[m.IMEI] = m
	}
	r.modemAt = r.clock.Now()
	return nil
}

func (r *Router) addLocked(s gateway.RouteSample) {
	k := key{s.Modem, s.Network}
	rt := r.routes[k]
	if rt == nil {
		rt = &route{}
		r.routes[k] = rt
	}
	rt.samples = append(rt.samples, s)
	if len(rt.samples) > maxSamplesPerRoute+maxSamplesPerRoute/4 {
		rt.trim(time.Time{}, maxSamplesPerRoute)
	}
}

// Stats returns every route's figures over the horizon.
func (r *Router) Stats() []gateway.RouteStat {
	r.mu.Lock()
	defer r.mu.Unlock()
	cut := r.clock.Now().Add(-r.cfg.Horizon)
	out := make([]gateway.RouteStat, 0, len(r.routes))
	for k, rt := range r.routes {
		rt.trim(cut, maxSamplesPerRoute)
		rt.compact(r.pend)
		if len(rt.samples) == 0 && len(rt.waiting) == 0 {
			continue
		}
		out = append(out, rt.stat(k, r.pend))
	}
	sortStats(out)
	return out
}

// Run follows the event stream until ctx ends: sends start a route's
// wait, reports end it as an outcome, modem events refresh the modems.
// Outcomes are stored once per batch of events.
func (r *Router) Run(ctx context.Context) error {
	rd, err := events.FromNow(ctx, r.store, events.Settle)
	if err != nil {
		return fmt.Errorf("routing: %w", err)
	}
	for {
		evs, err := rd.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("routing: %w", err)
		}
		modems := false
		for _, ev := range evs {
			modems = r.observe(ev) || modems
		}
		if modems {
			if err := r.readModems(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("read modems", "err", err)
			}
		}
		r.flush(ctx)
	}
}
