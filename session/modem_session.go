package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
)

// modemSession is one modem from Init to gone.
type modemSession struct {
	s         *Supervisor
	p         *portState
	dev       *sessionDevice
	rec       Recoverer // nil when the device cannot resync or reset
	info      gateway.ModemInfo
	up        bool // identified, recorded and serving events
	attached  bool // handed to the dispatcher
	unmatched *unmatchedReports
	spacing   refreshSpacing // of the health reads registration events ask for
}

// run brings the modem up and serves it until ctx ends (nil) or the modem
// is gone or must be reopened (the reason).
func (ss *modemSession) run(ctx context.Context) error {
	s := ss.s
	prev := ss.p.info.State
	h, err := ss.health(ctx)
	if gone(err) {
		return err
	}
	ss.applyHealth(h, err)
	s.upsert(ctx, ss.p.port, ss.info, prev)
	ss.spacing = refreshSpacing{every: s.cfg.RegistrationRefresh, last: time.Now()}
	defer ss.spacing.stop()
	ss.p.failures = 0
	ss.up = true
	ss.attach()
	if noAnswer(err) {
		if err := ss.escalate(ctx, err); err != nil {
			return err
		}
	} else if err == nil && ss.p.rung != rungNone {
		s.log.Info("modem answers again", "modem", ss.info.IMEI, "port", ss.p.port, "after", ss.info.LastEscalation)
		ss.p.rung = rungNone
	}
	if err := ss.catchUp(ctx); err != nil {
		return err
	}
	poll := time.NewTicker(s.cfg.PollInterval)
	defer poll.Stop()
	for {
		select {
		case <-ss.unmatched.C():
			for _, e := range ss.unmatched.due(time.Now()) {
				ss.retryReport(ctx, e)
			}
		case <-ctx.Done():
			return nil
		case <-ss.dev.Done():
			return gateway.ErrDeviceGone
		case ev, ok := <-ss.dev.Events():
			if !ok {
				return gateway.ErrDeviceGone
			}
			if err := ss.event(ctx, ev); err != nil {
				return err
			}
		case <-poll.C:
			if err := ss.refresh(ctx); err != nil {
				return err
			}
		case <-ss.dev.suspect:
			if err := ss.refresh(ctx); err != nil {
				return err
			}
		case <-ss.dev.full:
			if err := ss.drain(ctx, ""); err != nil {
				return err
			}
		case <-ss.spacing.c:
			if err := ss.refresh(ctx); err != nil {
				return err
			}
		}
	}
}

func gone(err error) bool { return errors.Is(err, gateway.ErrDeviceGone) }

func (ss *modemSession) event(ctx context.Context, ev gateway.DeviceEvent) error {
	switch ev.Kind {
	case gateway.EventSMSStored, gateway.EventReportStored:
		sms, err := ss.dev.ReadMessage(ctx, ev.Mem, ev.Index)
		if err != nil {
			return ss.deviceErr(ctx, "read stored sms", err)
		}
		return ss.process(ctx, sms)
	case gateway.EventSMS, gateway.EventReport:
		// Routed directly and already acknowledged: there is no copy to
		// delete, so a failed commit loses it (the modem is set up for
		// +CMTI/+CDSI to avoid exactly that).
		return ss.process(ctx, gateway.StoredSMS{PDU: ev.PDU})
	case gateway.EventRegistration:
		if !ss.spacing.now(time.Now()) {
			return nil // a read is due soon and will see this change
		}
		return ss.refresh(ctx)
	case gateway.EventMemoryFull:
		return ss.drain(ctx, ev.Mem)
	case gateway.EventLateMR:
		ss.lateMR(ctx, ev.MR)
		return nil
	case gateway.EventReset:
		ss.s.log.Info("modem reset, initialising again", "modem", ss.info.IMEI, "port", ss.p.port)
		if err := ss.dev.Init(ctx); err != nil {
			return fmt.Errorf("init after reset: %w", err)
		}
		if err := ss.refresh(ctx); err != nil {
			return err
		}
		return ss.catchUp(ctx)
	}
	return nil
}

// catchUp commits whatever the modem stored while nobody listened.
func (ss *modemSession) catchUp(ctx context.Context) error {
	list, err := ss.dev.ListMessages(ctx)
	if err != nil {
		return ss.deviceErr(ctx, "list stored sms", err)
	}
	if len(list) > 0 {
		ss.s.log.Debug("stored messages found", "modem", ss.info.IMEI, "count", len(list))
	}
	for _, sms := range list {
		if err := ss.process(ctx, sms); err != nil {
			return err
		}
	}
	return nil
}

// process commits one received PDU and then, only then, deletes the
// modem's copy. It returns an error only when the modem is gone.
func (ss *modemSession) process(ctx context.Context, sms gateway.StoredSMS) error {
	s := ss.s
	deletable, err := s.recv.handle(ctx, ss.info.IMEI, sms)
	var (
		pe *pduError
		ue *unmatchedError
	)
	switch {
	case errors.As(err, &ue):
		ss.unmatched.hold(ue, time.Now(), s.log, ss.info.IMEI)
	case errors.As(err, &pe):
		ss.p.limit.log(s.log, "pdu", "received pdu undecodable, kept raw in the inbox", "modem", ss.info.IMEI,
			"mem", sms.Mem, "index", sms.Index, "err", pe.Err)
		s.log.Debug("undecodable pdu", "modem", ss.info.IMEI, "pdu", sms.PDU)
		ss.noteError(ctx, err)
	case err != nil:
		if ctx.Err() != nil {
			return nil
		}
		ss.p.limit.log(s.log, "commit", "commit received sms", "modem", ss.info.IMEI,
			"mem", sms.Mem, "index", sms.Index, "err", err)
	}
	if !deletable || sms.Mem == "" {
		return nil
	}
	if err := ss.dev.DeleteMessage(ctx, sms.Mem, sms.Index); err != nil {
		return ss.deviceErr(ctx, "delete stored sms", err)
	}
	return nil
}

// retryReport tries an unmatched status report again.
func (ss *modemSession) retryReport(ctx context.Context, e *unmatchedError) {
	err := ss.s.recv.report(ctx, ss.info.IMEI, e.report)
	var ue *unmatchedError
	switch {
	case errors.As(err, &ue):
		ss.unmatched.hold(e, time.Now(), ss.s.log, ss.info.IMEI)
	case err != nil && ctx.Err() == nil:
		ss.p.limit.log(ss.s.log, "commit", "apply status report", "modem", ss.info.IMEI, "err", err)
	}
}

// deviceErr passes on an error that ends the session (the modem is gone)
// and logs the rest, which the session survives.
func (ss *modemSession) deviceErr(ctx context.Context, op string, err error) error {
	if gone(err) {
		return fmt.Errorf("%s: %w", op, err)
	}
	if ctx.Err() == nil {
		ss.p.limit.log(ss.s.log, op, op, "modem", ss.info.IMEI, "err", err)
	}
	return nil
}

// drain commits and deletes everything the modem stores, after it said its
// storage is full: the network holds back every SMS meanwhile.
func (ss *modemSession) drain(ctx context.Context, mem string) error {
	ss.s.log.Warn("modem message storage full, draining it", "modem", ss.info.IMEI, "mem", mem)
	return ss.catchUp(ctx)
}

// refresh reads the modem's health and records it; a modem that gives no
// answer is escalated.
func (ss *modemSession) refresh(ctx context.Context) error {
	ss.spacing.done(time.Now())
	h, err := ss.health(ctx)
	if err != nil {
		if gone(err) {
			return err
		}
		if noAnswer(err) && ctx.Err() == nil {
			return ss.escalate(ctx, err)
		}
		if ctx.Err() == nil {
			ss.p.limit.log(ss.s.log, "health", "read modem health", "modem", ss.info.IMEI, "err", err)
		}
		return nil
	}
	prev := ss.info.State
	ss.applyHealth(h, nil)
	ss.s.upsert(ctx, ss.p.port, ss.info, prev)
	ss.attach()
	return nil
}

// attach gives the modem to the dispatcher while it is registered, and
// takes it back while it is not: a send without a network fails and would
// count against the message, while detached its unpinned messages go to
// other modems and its pinned ones wait.
func (ss *modemSession) attach() {
	online := ss.info.State == gateway.ModemOnline
	switch {
	case online && !ss.attached:
		ss.s.d.Attach(ss.info.IMEI, ss.dev, ss.s.limits(ss.info.IMEI))
	case !online && ss.attached:
		ss.s.d.Detach(ss.info.IMEI)
	}
	ss.attached = online
}

func (ss *modemSession) applyHealth(h gateway.DeviceHealth, err error) {
	ss.info.Operator = h.Operator
	ss.info.Registration = h.Registration
	ss.info.Roaming = h.Roaming
	ss.info.CSQ, ss.info.DBM, ss.info.Bars, ss.info.SignalKnown = h.CSQ, h.DBM, h.Bars, h.SignalKnown
	ss.info.State = gateway.ModemNotRegistered
	if h.Registered {
		ss.info.State = gateway.ModemOnline
	}
	now := ss.s.clock.Now()
	if err != nil {
		ss.info.LastError, ss.info.LastErrorAt = err.Error(), now
	}
	ss.info.UpdatedAt = now
}

// noteError makes err the modem's last error, for the status page.
func (ss *modemSession) noteError(ctx context.Context, err error) {
	now := ss.s.clock.Now()
	ss.info.LastError, ss.info.LastErrorAt, ss.info.UpdatedAt = err.Error(), now, now
	ss.s.upsert(ctx, ss.p.port, ss.info, ss.info.State)
}

// offline records the end of the session; err is why, nil at shutdown.
func (ss *modemSession) offline(ctx context.Context, err error) {
	prev := ss.info.State
	now := ss.s.clock.Now()
	ss.info.State = gateway.ModemOffline
	if err != nil {
		ss.info.LastError, ss.info.LastErrorAt = err.Error(), now
	}
	ss.info.UpdatedAt = now
	ss.s.upsert(ctx, ss.p.port, ss.info, prev)
}

// refreshSpacing keeps the health reads that registration events ask for
// at least every apart. An event within every of the last read defers a
// read to the end of that interval instead of dropping it, so the last
// event of a burst is always followed by a read that sees its state.
type refreshSpacing struct {
	every time.Duration
	last  time.Time        // the start of the last read
	timer *time.Timer      // set while a read is deferred
	c     <-chan time.Time // timer's channel, nil when none is deferred
}

// now reports whether a read may run at once; if not, one is deferred.
func (r *refreshSpacing) now(t time.Time) bool {
	if r.c != nil {
		return false
	}
	wait := r.every - t.Sub(r.last)
	if wait <= 0 {
		return true
	}
	r.timer = time.NewTimer(wait)
	r.c = r.timer.C
	return false
}

// done notes a read starting at t (for whatever reason): it serves any
// deferred one.
func (r *refreshSpacing) done(t time.Time) {
	r.last = t
	r.stop()
}

func (r *refreshSpacing) stop() {
	if r.timer != nil {
		r.timer.Stop()
	}
	r.timer, r.c = nil, nil
}
