package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/simgate/simgate/dispatch"
	"github.com/simgate/simgate/store"
)

// On a database several hosts share, each host says every few seconds
// that it is alive; every host lists the modems of a host silent for
// longer than the lease offline (gateway.ServiceConfig.HostTimeout), since
// by then its claims are the others' too.

// hostLease is the dispatcher's lease: the configured one or its default.
func hostLease(cfg config) time.Duration {
	if cfg.Lease > 0 {
		return cfg.Lease
	}
	return dispatch.DefaultLease
}

// heartbeatEvery is how often a host says it is alive: four times per lease,
// and at least every 5 s, so that a late beat or two is no death.
func heartbeatEvery(lease time.Duration) time.Duration {
	return max(min(lease/4, 5*time.Second), 100*time.Millisecond)
}

// heartbeat records this host alive now and every heartbeatEvery(lease)
// until ctx ends. A beat that fails is logged; the next one tries again.
func heartbeat(ctx context.Context, db *store.Store, lease time.Duration, log *slog.Logger) error {
	t := time.NewTicker(heartbeatEvery(lease))
	defer t.Stop()
	for {
		if err := db.Heartbeat(ctx, time.Now()); err != nil && ctx.Err() == nil {
			log.Warn("heartbeat failed; other hosts list this host's modems offline after the lease", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
