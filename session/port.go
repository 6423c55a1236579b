package session

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/simgate/simgate/gateway"
)

// portState is what one port's goroutine remembers between sessions.
type portState struct {
	port     string
	info     gateway.ModemInfo // last known; IMEI "" until a modem answered
	failures int               // sessions in a row that never got the modem up
	attempt  int               // backoff exponent
	limit    *logLimiter
	rung     rung // the last rung of the escalation ladder taken (escalate.go)
}

// outcome is how a session ended.
type outcome struct {
	up         bool // the modem got identified and served (online or not_registered)
	openFailed bool // the port could not even be opened
	silent     bool // the modem gave no answer, or was found hung
}

// runPort opens the modem on port again and again until ctx ends. keep is
// false for a discovered port, which is given up when it cannot be opened
// (it was unplugged; discovery brings it back).
func (s *Supervisor) runPort(ctx context.Context, port string, keep bool) {
	p := &portState{port: port, limit: newLogLimiter(s.clock)}
	for {
		out := s.session(ctx, p)
		if ctx.Err() != nil {
			return
		}
		if out.up {
			p.attempt = 0
		}
		// A modem found silent, or whose port vanished while it was being
		// escalated, goes on up the ladder; a plain unplug does not.
		escalating := !out.up && p.info.IMEI != "" && (out.silent || (out.openFailed && p.rung != rungNone))
		if escalating && s.climb(ctx, p) {
			continue
		}
		// A modem unplugged and plugged back may be another tty now; it is
		// looked for once a few opens in a row have failed.
		if !escalating && out.openFailed && p.failures >= s.cfg.ErrorAfter && p.info.IMEI != "" &&
			s.cfg.Locate != nil && s.locate(ctx, p) {
			continue
		}
		if out.openFailed && !keep {
			s.log.Info("modem port gone", "port", p.port)
			if escalating {
				s.rescan() // discovery looks for it on every port
			}
			return
		}
		if !sleep(ctx, s.backoff(p.attempt)) {
			return
		}
		p.attempt++
	}
}

// backoff is the wait before reopen attempt n: doubling from BackoffMin,
// capped at BackoffMax, with "equal jitter" so that modems dropped by one
// USB hub event do not come back in lockstep.
func (s *Supervisor) backoff(n int) time.Duration {
	d := s.cfg.BackoffMin
	for range min(n, 30) {
		d *= 2
		if d >= s.cfg.BackoffMax {
			d = s.cfg.BackoffMax
			break
		}
	}
	half := d / 2
	return half + rand.N(half+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// session runs one open-to-gone life of the modem on p.port.
func (s *Supervisor) session(ctx context.Context, p *portState) outcome {
	raw, err := s.open(ctx, p.port)
	if err != nil {
		s.sessionFailed(ctx, p, gateway.ModemOffline, fmt.Errorf("open: %w", err))
		return outcome{openFailed: true}
	}
	dev := newSessionDevice(raw)
	defer dev.Close()

	if err := dev.Init(ctx); err != nil {
		state := gateway.ModemOffline
		switch {
		case errors.Is(err, gateway.ErrNoSIM):
			state = gateway.ModemNoSIM
		case errors.Is(err, gateway.ErrPINRequired), errors.Is(err, gateway.ErrPUKRequired):
			state = gateway.ModemPINRequired
		}
		if state != gateway.ModemOffline {
			// The IMEI needs no SIM: record which modem is stuck.
			if id, idErr := dev.Identity(ctx); idErr == nil && id.IMEI != "" {
				p.info.Port = p.port
				setIdentity(&p.info, id)
			}
		}
		s.sessionFailed(ctx, p, state, err)
		return outcome{silent: noAnswer(err)}
	}
	id, err := dev.Identity(ctx)
	if err == nil && id.IMEI == "" {
		err = errors.New("modem gave no imei")
	}
	if err != nil {
		s.sessionFailed(ctx, p, gateway.ModemOffline, fmt.Errorf("identity: %w", err))
		return outcome{silent: noAnswer(err)}
	}
	if other, ok := s.claim(id.IMEI, p.port, dev); !ok {
		// Two ttys of one modem, or the old port of a replugged modem not
		// yet noticed gone: the session that holds the IMEI keeps it.
		p.limit.log(s.log, "duplicate", "modem already open on another port",
			"port", p.port, "other_port", other, "modem", id.IMEI)
		return outcome{}
	}
	ss := &modemSession{s: s, p: p, dev: dev, unmatched: newUnmatchedReports()}
	ss.rec, _ = raw.(Recoverer)
	defer ss.unmatched.stop()
	ss.info = p.info
	ss.info.Port = p.port
	setIdentity(&ss.info, id)
	ss.info.LastError, ss.info.LastErrorAt = "", time.Time{}
	defer func() {
		// Detach first: the worker finishes or gives back its message while
		// the port may still answer; then offline while the IMEI is still
		// ours, so a new session on another port cannot be overwritten.
		s.d.Detach(ss.info.IMEI)
		ss.offline(ctx, err)
		s.release(ss.info.IMEI, p.port)
		p.info = ss.info
	}()
	err = ss.run(ctx)
	var hung *hungError
	return outcome{up: ss.up && !errors.As(err, &hung), silent: errors.As(err, &hung)}
}

func setIdentity(info *gateway.ModemInfo, id gateway.DeviceIdentity) {
	if info.IMEI != "" && info.IMEI != id.IMEI {
		// Another modem on the same port: nothing else carries over.
		*info = gateway.ModemInfo{Port: info.Port}
	}
	info.IMEI = id.IMEI
	info.Manufacturer, info.Model, info.Revision = id.Manufacturer, id.Model, id.Revision
	info.IMSI, info.ICCID, info.Number = id.IMSI, id.ICCID, id.Number
}

// sessionFailed records a session that never got the modem up.
func (s *Supervisor) sessionFailed(ctx context.Context, p *portState, state gateway.ModemState, err error) {
	if ctx.Err() != nil {
		return
	}
	p.failures++
	if state == gateway.ModemOffline && p.failures >= s.cfg.ErrorAfter {
		state = gateway.ModemError
	}
	p.limit.log(s.log, string(state)+err.Error(), "modem not usable",
		"port", p.port, "modem", p.info.IMEI, "state", string(state), "failures", p.failures, "err", err)
	if p.info.IMEI == "" {
		return // nothing to record it under
	}
	now := s.clock.Now()
	prev := p.info.State
	p.info.State = state
	p.info.LastError, p.info.LastErrorAt, p.info.UpdatedAt = err.Error(), now, now
	s.upsert(ctx, p.port, p.info, prev)
}
