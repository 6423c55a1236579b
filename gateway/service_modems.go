package gateway

import (
	"context"
	"fmt"
	"time"
)

// ModemView is a modem with today's counters, for GET /api/v1/modems.
type ModemView struct {
	ModemInfo
	ModemCounters
	// PausedUntil is when the modem takes messages again after the network
	// refused a send for now (ModemPauses); zero when it is not paused.
	// PauseReason is that refusal, in the modem's words.
	PausedUntil time.Time
	PauseReason string
	// HostSilent is, when the modem's host is unreachable (no heartbeat for
	// longer than ServiceConfig.HostTimeout), how long it has not been
	// seen; the modem is then listed offline, whatever its row says. 0
	// while the host is alive, and on a single host.
	HostSilent time.Duration
}

// ModemPauses says whether a modem claims nothing for now, and why: the
// dispatcher pauses one after a network-side send error.
type ModemPauses interface {
	Paused(imei string) (until time.Time, reason string)
}

// Modems lists every known modem with its counters since local midnight.
func (s *Service) Modems(ctx context.Context) ([]ModemView, error) {
	mods, err := s.store.Modems(ctx)
	if err != nil {
		return nil, fmt.Errorf("list modems: %w", err)
	}
	now := s.clock.Now()
	day := DayStart(now)
	out := make([]ModemView, 0, len(mods))
	for _, m := range mods {
		c, err := s.store.ModemCounters(ctx, m.IMEI, day)
		if err != nil {
			return nil, fmt.Errorf("modem counters %s: %w", m.IMEI, err)
		}
		v := ModemView{ModemInfo: m, ModemCounters: c}
		if s.cfg.Pauses != nil {
			v.PausedUntil, v.PauseReason = s.cfg.Pauses.Paused(m.IMEI)
		}
		if silent := now.Sub(m.HostSeenAt); s.cfg.HostTimeout > 0 && !m.HostSeenAt.IsZero() && silent > s.cfg.HostTimeout {
			// Its row says what the host last wrote; a dead host writes nothing.
			v.State, v.HostSilent = ModemOffline, silent
		}
		out = append(out, v)
	}
	return out, nil
}

// DayStart is local midnight of the day of t: daily caps and counters follow
// the gateway's calendar, as a carrier's daily limit does.
func DayStart(t time.Time) time.Time {
	t = t.Local()
	y, mo, d := t.Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.Local)
}

// Inbox lists received messages since a time, oldest first as the store
// orders them.
func (s *Service) Inbox(ctx context.Context, since time.Time, limit int) ([]*InboundMessage, error) {
	limit, err := listLimit(limit)
	if err != nil {
		return nil, err
	}
	in, err := s.store.Inbox(ctx, since, limit)
	if err != nil {
		return nil, fmt.Errorf("list inbox: %w", err)
	}
	return in, nil
}
