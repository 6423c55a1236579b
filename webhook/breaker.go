package webhook

import (
	"log/slog"
	"sync"
	"time"
)

// The breaker: an endpoint that gave no answer (a timeout, a connection
// refused or reset) ParkAfter times in a row is parked for FirstPark,
// doubling at each park up to MaxPark. Its rows stay pending while it is
// parked — they are not attempted, so they neither fail nor count
// attempts — and go when it is unparked. The first request after a park
// is a trial: one more failure parks it again, for twice as long. Any
// answer resets the count of failures; a 2xx closes the breaker, and the
// next park is FirstPark again.
//
// The state is in memory: a restart closes every breaker, and a dead
// endpoint costs ParkAfter timeouts again before it is parked.

// breaker is one endpoint's state.
type breaker struct {
	failures int       // answers missing in a row
	parks    int       // parks since the last 2xx
	until    time.Time // parked until then; zero when not parked
	trial    bool      // unparked, with no answer since: a failure parks it
}

// breakers holds the state of the endpoints that failed since their last
// 2xx; one that answers 2xx is dropped.
type breakers struct {
	mu sync.Mutex
	m  map[string]*breaker
}

// parked reports whether endpoint is parked at now. The first call after
// its park ends unparks it for a trial.
func (bs *breakers) parked(endpoint string, now time.Time, log *slog.Logger) bool {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.m[endpoint]
	switch {
	case b == nil || b.until.IsZero():
		return false
	case now.Before(b.until):
		return true
	}
	b.until, b.trial = time.Time{}, true
	log.Info("webhook endpoint unparked; trying it again", "webhook_id", endpoint)
	return false
}

// parkedUntil returns the end of endpoint's park, or zero if it is not
// parked at now.
func (bs *breakers) parkedUntil(endpoint string, now time.Time) time.Time {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if b := bs.m[endpoint]; b != nil && now.Before(b.until) {
		return b.until
	}
	return time.Time{}
}

// answered records an answer of endpoint's; ok for a 2xx.
func (bs *breakers) answered(endpoint string, ok bool, log *slog.Logger) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.m[endpoint]
	if b == nil {
		return
	}
	if ok || b.parks == 0 {
		if b.parks > 0 {
			log.Info("webhook endpoint answered 2xx; breaker closed", "webhook_id", endpoint)
		}
		delete(bs.m, endpoint)
		return
	}
	b.failures, b.trial = 0, false
}

// failed records a request of endpoint's that got no answer, and parks it
// after cfg.ParkAfter in a row (at once after a trial).
func (bs *breakers) failed(endpoint string, now time.Time, cfg Config, log *slog.Logger) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.m[endpoint]
	if b == nil {
		if bs.m == nil {
			bs.m = map[string]*breaker{}
		}
		b = &breaker{}
		bs.m[endpoint] = b
	}
	b.failures++
	if !b.until.IsZero() || (b.failures < cfg.ParkAfter && !b.trial) {
		return // parked already (a request that was in flight), or not yet
	}
	d := cfg.FirstPark
	for i := 0; i < b.parks && d < cfg.MaxPark; i++ {
		d *= 2
	}
	d = min(d, cfg.MaxPark)
	b.until, b.failures, b.trial = now.Add(d), 0, false
	b.parks++
	log.Warn("webhook endpoint parked: no answer in a row", "webhook_id", endpoint,
		"parks", b.parks, "parked_for", d, "parked_until", b.until)
}

// forget drops endpoint's state: it was deleted.
func (bs *breakers) forget(endpoint string) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	delete(bs.m, endpoint)
}
