package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
)

// Step is one rung of the escalation ladder for a modem that stopped
// answering (at-pdu.md §3.8), from the mildest: each is logged, counted
// (Config.OnEscalation) and recorded as the modem's LastEscalation.
type Step string

// The rungs, in the order they are taken.
const (
	// StepResync: ESC, then AT until OK, on the open port.
	StepResync Step = "resync"
	// StepCFUNReset: AT+CFUN=1,1, then Init again once the modem is back.
	StepCFUNReset Step = "cfun_reset"
	// StepReopen: the port is closed and opened again, Init from scratch.
	StepReopen Step = "reopen"
	// StepUSBReset: the USB device of the port is reset (Config.ResetUSB);
	// skipped, with a log line, for a port that is no USB device's tty.
	StepUSBReset Step = "usb_reset"
	// StepLocate: the modem is looked for by IMEI on every port
	// (Config.Locate), since a reset USB modem may come back as another tty.
	StepLocate Step = "locate"
)

// Recoverer is what the escalation ladder asks of a device beyond
// gateway.Device (modemdev.Device has it): Resync aborts a stale prompt
// and sends AT until OK; Reset reboots the modem (AT+CFUN=1,1), after which
// it needs Init. A device without it goes straight to reopening.
type Recoverer interface {
	Resync(ctx context.Context) error
	Reset(ctx context.Context) error
}

// rung is the last port-level rung taken for a port's modem.
type rung int

const (
	rungNone      rung = iota
	rungInSession      // resync and the CFUN reset were tried on the open port
	rungReopen
	rungUSBReset
	rungLocate
)

// hungError ends a session whose modem still gave no answer after the
// rungs taken on the open port; the port's goroutine goes on up the ladder.
type hungError struct {
	cause error
	tried []Step
}

func (e *hungError) Error() string {
	return fmt.Sprintf("modem hung: no answer after %v: %v", e.tried, e.cause)
}

func (e *hungError) Unwrap() error { return e.cause }

func noAnswer(err error) bool { return errors.Is(err, gateway.ErrNoAnswer) }

// health reads the modem's health, asking again at once while it gives no
// answer, up to HungAfter reads in all.
func (ss *modemSession) health(ctx context.Context) (gateway.DeviceHealth, error) {
	for try := 1; ; try++ {
		h, err := ss.dev.Health(ctx)
		if !noAnswer(err) || try >= ss.s.cfg.HungAfter || ctx.Err() != nil {
			return h, err
		}
		ss.s.log.Debug("modem gave no answer, asking again", "modem", ss.info.IMEI, "try", try, "err", err)
	}
}

// escalate takes the rungs that work on the open port, resync and then
// the CFUN reset, checking after each whether the modem answers again. It
// returns nil when it does (the session goes on), the error of a port that
// went away, or a *hungError that ends the session.
func (ss *modemSession) escalate(ctx context.Context, cause error) error {
	s := ss.s
	s.log.Warn("modem stopped answering, escalating", "modem", ss.info.IMEI, "port", ss.p.port, "err", cause)
	if ss.attached {
		// Its messages go to other modems meanwhile.
		s.d.Detach(ss.info.IMEI)
		ss.attached = false
	}
	ss.p.rung = rungInSession
	// Not online while it is hung: the status page and modem.offline say so.
	prev, now := ss.info.State, s.clock.Now()
	ss.info.State = gateway.ModemError
	ss.info.LastError, ss.info.LastErrorAt, ss.info.UpdatedAt = cause.Error(), now, now
	s.upsert(ctx, ss.p.port, ss.info, prev)
	if ss.rec == nil {
		return &hungError{cause: cause}
	}
	ss.step(ctx, StepResync)
	if err := ss.rec.Resync(ctx); gone(err) {
		return err
	} else if ctx.Err() != nil {
		return nil
	} else if err != nil {
		s.log.Warn("resync failed", "modem", ss.info.IMEI, "err", err)
	} else if ok, err := ss.answers(ctx); err != nil || ok {
		return err
	}
	ss.step(ctx, StepCFUNReset)
	if err := ss.rec.Reset(ctx); gone(err) {
		return err // a USB modem drops off its port as it reboots
	} else if ctx.Err() != nil {
		return nil
	} else if err != nil {
		s.log.Warn("cfun reset gave no answer; waiting for the modem anyway", "modem", ss.info.IMEI, "err", err)
	}
	if err := ss.reinit(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		if gone(err) {
			return err
		}
		return &hungError{cause: err, tried: []Step{StepResync, StepCFUNReset}}
	}
	if ok, err := ss.answers(ctx); err != nil || ok {
		if err == nil {
			err = ss.catchUp(ctx)
		}
		return err
	}
	return &hungError{cause: cause, tried: []Step{StepResync, StepCFUNReset}}
}

// answers reads the health once: ok when the modem answered, in which case
// the escalation is over and the session records the reading. err is only
// a lost port.
func (ss *modemSession) answers(ctx context.Context) (ok bool, err error) {
	h, err := ss.dev.Health(ctx)
	switch {
	case gone(err):
		return false, err
	case noAnswer(err) || ctx.Err() != nil:
		return false, nil
	}
	ss.s.log.Info("modem answers again", "modem", ss.info.IMEI, "port", ss.p.port, "after", ss.info.LastEscalation)
	ss.p.rung = rungNone
	prev := ss.info.State
	ss.applyHealth(h, err)
	ss.s.upsert(ctx, ss.p.port, ss.info, prev)
	ss.attach()
	return true, nil
}

// reinit runs Init until it succeeds or ResetWait passes: a rebooting modem
// takes seconds before it answers.
func (ss *modemSession) reinit(ctx context.Context) error {
	deadline := time.Now().Add(ss.s.cfg.ResetWait)
	for {
		err := ss.dev.Init(ctx)
		if err == nil || gone(err) || time.Now().After(deadline) {
			return err
		}
		ss.s.log.Debug("modem not back from its reset yet", "modem", ss.info.IMEI, "err", err)
		if !sleep(ctx, time.Second) {
			return ctx.Err()
		}
	}
}

// step records a rung taken in the session.
func (ss *modemSession) step(ctx context.Context, st Step) {
	ss.s.escalated(ctx, ss.p.port, &ss.info, st)
}

// escalated logs, counts and records step for the modem info describes.
func (s *Supervisor) escalated(ctx context.Context, port string, info *gateway.ModemInfo, st Step) {
	s.log.Warn("modem escalation", "modem", info.IMEI, "port", port, "step", string(st))
	if s.cfg.OnEscalation != nil && info.IMEI != "" {
		s.cfg.OnEscalation(info.IMEI, st)
	}
	if info.IMEI == "" {
		return
	}
	now := s.clock.Now()
	info.LastEscalation, info.LastEscalationAt, info.UpdatedAt = string(st), now, now
	s.upsert(ctx, port, *info, info.State)
}

// climb takes the next port-level rung for a modem that stayed silent or
// whose port vanished while it was being escalated: reopen, then a USB
// reset, then looking for it by IMEI on every port. It reports whether the
// port should be opened again at once rather than after a backoff.
func (s *Supervisor) climb(ctx context.Context, p *portState) bool {
	switch p.rung {
	case rungNone, rungInSession:
		p.rung = rungReopen
		s.escalated(ctx, p.port, &p.info, StepReopen)
		return true
	case rungReopen:
		p.rung = rungUSBReset
		s.escalated(ctx, p.port, &p.info, StepUSBReset)
		s.resetUSB(ctx, p.port)
		return true
	case rungUSBReset:
		p.rung = rungLocate
		s.escalated(ctx, p.port, &p.info, StepLocate)
	}
	return s.locate(ctx, p)
}

// resetUSB resets the USB device of port when the OS allows it.
func (s *Supervisor) resetUSB(ctx context.Context, port string) {
	if s.cfg.ResetUSB == nil {
		s.log.Info("usb reset skipped: not available", "port", port)
		return
	}
	how, err := s.cfg.ResetUSB(ctx, port)
	switch {
	case err != nil:
		s.log.Warn("usb reset failed", "port", port, "err", err)
	case how == "":
		s.log.Info("usb reset skipped: the port is no usb device", "port", port)
	default:
		s.log.Info("usb device reset", "port", port, "how", how)
		// The device needs a moment to enumerate again.
		sleep(ctx, min(s.cfg.ResetWait, 5*time.Second))
	}
}

// locate looks for p's modem by IMEI on the ports no session holds, and
// moves p there when it answers on another port.
func (s *Supervisor) locate(ctx context.Context, p *portState) bool {
	if s.cfg.Locate == nil || p.info.IMEI == "" {
		s.rescan()
		return false
	}
	port, err := s.cfg.Locate(ctx, p.info.IMEI, s.held)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			p.limit.log(s.log, "locate", "look for modem by imei", "modem", p.info.IMEI, "err", err)
		}
		return false
	case port == "" || port == p.port:
		return false // not found, or where it was: the usual backoff
	}
	s.log.Info("modem found again on another port", "modem", p.info.IMEI, "port", port, "was", p.port)
	p.port = port
	p.info.Port = port
	return true
}

// held reports whether a session holds port.
func (s *Supervisor) held(port string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.active {
		if h.port == port {
			return true
		}
	}
	return false
}

// rescan asks the discovery loop, if any, for a scan now.
func (s *Supervisor) rescan() {
	select {
	case s.rescanc <- struct{}{}:
	default:
	}
}
