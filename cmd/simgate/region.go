package main

import (
	"context"
	"log/slog"
	"slices"

	"github.com/simgate/simgate/events"
	"github.com/simgate/simgate/gateway"
)

// followRegion keeps the home region on the SIMs when none is configured
// (gateway.Service.LearnRegion): it looks again each time a modem comes
// online, since that is when a session has read the SIM's IMSI. serve has
// looked once at start already, from the modems the store remembers.
func followRegion(ctx context.Context, svc *gateway.Service, log gateway.EventLog, logger *slog.Logger) error {
	if svc.Region().Source == gateway.RegionFromConfig {
		return nil
	}
	r, err := events.FromNow(ctx, log, events.Settle)
	if err != nil {
		return err
	}
	online := func(e gateway.Event) bool { return e.Type == gateway.EventModemOnline }
	for {
		evs, err := r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !slices.ContainsFunc(evs, online) {
			continue
		}
		if _, err := svc.LearnRegion(ctx); err != nil {
			logger.Warn("home region not updated", "err", err)
		}
	}
}
