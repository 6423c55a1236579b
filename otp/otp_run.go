package otp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/simgate/simgate/events"
	"github.com/simgate/simgate/gateway"
)

// watchBatch bounds the verifications Run looks at per tick.
const watchBatch = 500

// mailTimeout bounds one SMTP delivery.
const mailTimeout = 30 * time.Second

// Run follows the SMS of pending verifications until ctx ends: an SMS
// that failed (refused by the network, a failure report, expired in the
// queue) falls back to email when asked for, and otherwise fails its
// verification; one not delivered within FallbackAfter falls back too.
//
// What became of an SMS comes from the event stream, within milliseconds
// of the change. A timer every WatchEvery handles what only time decides
// (the fallback deadline, expiry), runs the conversion breaker and purges
// what is past retention; its first round, at start, also catches up on
// what happened while the gateway was down. It returns nil when ctx ends.
func (s *Service) Run(ctx context.Context) error {
	r, err := events.FromNow(ctx, s.store, events.Settle)
	if err != nil {
		return fmt.Errorf("otp: %w", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.followEvents(ctx, r) })
	defer wg.Wait()
	t := time.NewTicker(s.cfg.WatchEvery)
	defer t.Stop()
	for full := true; ; full = false {
		s.tick(ctx, full)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// followEvents follows each verification whose SMS an event is about.
func (s *Service) followEvents(ctx context.Context, r *events.Reader) {
	for {
		evs, err := r.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("otp: read events", "err", err) // the timer's rounds still cover deadlines
			}
			return
		}
		for _, ev := range evs {
			if err := s.onEvent(ctx, ev); err != nil && ctx.Err() == nil {
				s.log.Error("follow otp sms", "message_id", ev.Subject, "event", ev.Type, "err", err)
			}
		}
	}
}

// onEvent follows the verification, if any, whose SMS ev is about.
func (s *Service) onEvent(ctx context.Context, ev gateway.Event) error {
	switch ev.Type {
	case gateway.EventMessageSent, gateway.EventMessageDelivered, gateway.EventMessageFailed,
		gateway.EventMessageExpired, gateway.EventMessageCanceled:
	default:
		return nil
	}
	if !s.watched.has(ev.Subject) {
		return nil // not the SMS of a code waited for
	}
	r, err := s.store.VerificationByMessage(ctx, ev.Subject)
	if errors.Is(err, gateway.ErrNotFound) {
		s.watched.remove(ev.Subject) // never committed, or purged
		return nil
	}
	if err != nil {
		return err
	}
	if !r.Watch || r.MessageID != ev.Subject {
		s.watched.remove(ev.Subject) // settled, or resent with another SMS
		return nil
	}
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if err := s.follow(ctx, r, s.clock.Now()); err != nil {
		return err
	}
	if ev.Type != gateway.EventMessageSent {
		s.watched.remove(ev.Subject) // a final status: nothing more will come
	}
	return nil
}

// Tick does one full round of Run's timer work now, every watched SMS
// looked at; tests under an injected clock call it directly.
func (s *Service) Tick(ctx context.Context) { s.tick(ctx, true) }

func (s *Service) tick(ctx context.Context, full bool) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	now := s.clock.Now()
	if err := s.watch(ctx, now, full); err != nil && ctx.Err() == nil {
		s.log.Error("watch otp sms", "err", err)
	}
	if n, err := s.store.ExpireVerifications(ctx, now); err != nil && ctx.Err() == nil {
		s.log.Error("expire verifications", "err", err)
	} else if n > 0 {
		s.log.Debug("verifications expired", "count", n)
	}
	if now.Sub(s.breaker) >= s.cfg.Limits.BreakerEvery || now.Before(s.breaker) {
		s.breaker = now
		if err := s.runBreaker(ctx, now); err != nil && ctx.Err() == nil {
			s.log.Error("otp conversion breaker", "err", err)
		}
	}
	if now.Sub(s.purged) >= time.Hour || now.Before(s.purged) {
		s.purged = now
		if n, err := s.store.PurgeVerifications(ctx, now.Add(-s.cfg.Retention)); err != nil && ctx.Err() == nil {
			s.log.Error("purge verifications", "err", err)
		} else if n > 0 {
			s.log.Info("verifications purged", "count", n, "retention", s.cfg.Retention)
		}
	}
}

// watch follows watched verifications' SMS through their messages: all of
// them when full, else only those whose fallback or expiry time has come
// (events bring the rest).
func (s *Service) watch(ctx context.Context, now time.Time, full bool) error {
	recs, err := s.store.WatchedVerifications(ctx, watchBatch)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if ctx.Err() != nil {
			return nil
		}
		if full {
			s.watched.add(r.MessageID)
		}
		if !full && !fallbackDue(r, now) && !s.rerouteDue(r, now, false) && now.Before(r.ExpiresAt) {
			continue
		}
		if err := s.follow(ctx, r, now); err != nil {
			s.log.Error("follow otp sms", "verification_id", r.ID, "err", err)
		}
	}
	return nil
}

// follow brings r up to date with what became of its SMS: it records the
// attempt's status, stops watching what is settled, falls back to email or
// fails the verification.
func (s *Service) follow(ctx context.Context, r *gateway.OTPRecord, now time.Time) error {
	o, err := s.judgeSMS(ctx, r, now)
	if err != nil {
		return err
	}
	var (
		code     string
		rerouted *gateway.Message
	)
	rec, err := s.store.UpdateVerification(ctx, r.ID, func(v *gateway.OTPRecord) (bool, error) {
		if v.MessageID != r.MessageID || !v.Watch {
			return false, nil // resent or finished meanwhile
		}
		changed := setAttempt(v, r.MessageID, o.attempt, o.reason)
		if o.reroute && v.Status == gateway.OTPPending {
			m, err := s.reroute(ctx, v, o.exclude, now)
			if err != nil || m != nil {
				rerouted = m
				return m != nil, err
			}
		}
		if o.settle {
			v.Watch, changed = false, true
		}
		if o.fallback && v.Status == gateway.OTPPending {
			c, err := s.seal.openCode(v.ID, v.CodeSealed)
			if err != nil {
				o.failed = true
			} else {
				code = c
				v.FallbackDone, v.Watch, changed = true, false, true
			}
		}
		if o.failed && v.Status == gateway.OTPPending {
			v.Status, v.FinishedAt = gateway.OTPFailed, now
			v.ClearSecrets()
			changed = true
		}
		return changed, nil
	})
	if err != nil {
		if rerouted != nil {
			s.watched.remove(rerouted.ID) // rolled back: never queued
		}
		return err
	}
	if rerouted != nil {
		s.svc.Queued(rerouted)
		s.log.Info("otp code sent again through another modem", "verification_id", rec.ID, "to", gateway.MaskNumber(rec.To),
			"message_id", rerouted.ID, "modem", rerouted.Pin, "route", rerouted.Route, "sms_status", string(o.status))
		return nil
	}
	if o.failed && rec.Status == gateway.OTPFailed {
		s.log.Info("otp failed", "verification_id", rec.ID, "to", gateway.MaskNumber(rec.To), "reason", o.reason)
	}
	if code == "" {
		return nil
	}
	s.log.Info("otp falls back to email", "verification_id", rec.ID, "sms_status", string(o.status))
	_, err = s.sendEmail(ctx, rec.ID, code, rec.ExpiresAt.Sub(rec.CreatedAt), true)
	return err
}

// smsVerdict is what follow learned of a verification's SMS, and what it
// is to do about it.
type smsVerdict struct {
	status   gateway.Status
	reason   string
	attempt  string // the channel attempt's status
	fallback bool   // send the code by email now
	failed   bool   // fail the verification
	settle   bool   // nothing more to learn: stop watching
	reroute  bool   // send the code again through another modem
	exclude  []string
}

// judgeSMS looks at r's SMS and decides what follow does about it.
func (s *Service) judgeSMS(ctx context.Context, r *gateway.OTPRecord, now time.Time) (smsVerdict, error) {
	o := smsVerdict{attempt: gateway.AttemptQueued}
	m, err := s.svc.Message(ctx, r.MessageID)
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		o.status, o.reason = gateway.StatusFailed, "the SMS was never queued"
	case err != nil:
		return o, err
	default:
		o.status, o.reason = m.Status, m.Error
		o.exclude = append(o.exclude, m.Modem, m.Pin)
	}
	defer func() {
		if o.reroute {
			o.fallback, o.failed, o.settle = false, false, false
		}
	}()
	switch o.status {
	case gateway.StatusDelivered:
		o.attempt, o.settle = gateway.AttemptDelivered, true
	case gateway.StatusFailed, gateway.StatusExpired, gateway.StatusCanceled:
		o.attempt = gateway.AttemptFailed
		if o.reason == "" {
			o.reason = "the SMS " + string(o.status)
		}
		if r.Fallback && !r.FallbackDone && r.Email != "" {
			o.fallback = true
		} else {
			o.failed = true
		}
		o.reroute = o.status == gateway.StatusFailed && s.rerouteDue(r, now, true)
	case gateway.StatusSent:
		// Without a report requested there is nothing more to learn, unless
		// a fallback is still to come.
		o.attempt = gateway.AttemptSent
		o.fallback = fallbackDue(r, now)
		o.settle = o.fallback || (!m.StatusReport && !(r.Fallback && !r.FallbackDone))
		o.reroute = m.StatusReport && s.rerouteDue(r, now, false)
	default: // queued, sending
		o.fallback = fallbackDue(r, now)
		o.reroute = s.rerouteDue(r, now, false)
	}
	if !now.Before(r.ExpiresAt) {
		o.settle = true // Tick expires it; nothing left to wait for
		o.fallback = false
	}
	return o, nil
}

// fallbackDue reports whether r's code should now go by email.
func fallbackDue(r *gateway.OTPRecord, now time.Time) bool {
	return r.Fallback && !r.FallbackDone && r.Email != "" && !r.FallbackAt.IsZero() && !now.Before(r.FallbackAt)
}

// setAttempt updates the channel attempt of message id; it reports a change.
func setAttempt(v *gateway.OTPRecord, msgID, status, reason string) bool {
	for i := range v.Channels {
		a := &v.Channels[i]
		if a.MessageID != msgID {
			continue
		}
		if a.Status == status {
			return false
		}
		a.Status = status
		if status == gateway.AttemptFailed {
			a.Error = reason
		}
		return true
	}
	return false
}

// sendEmail mails code for verification id and records the attempt; a
// mail that cannot be sent fails the verification unless an SMS is still
// on its way.
func (s *Service) sendEmail(ctx context.Context, id, code string, ttl time.Duration, fallback bool) (*gateway.OTPRecord, error) {
	v, err := s.store.Verification(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("send otp email: %w", err)
	}
	mail, err := s.tmpl.email(code, s.cfg.App, ttl)
	if err != nil {
		return nil, err
	}
	mail.To = v.Email
	now := s.clock.Now()
	var sendErr error
	if s.mailer == nil {
		sendErr = errors.New("email is not configured")
	} else {
		mctx, cancel := context.WithTimeout(ctx, mailTimeout)
		sendErr = s.mailer.SendMail(mctx, mail)
		cancel()
	}
	attempt := gateway.ChannelAttempt{Channel: gateway.ChannelEmail, Status: gateway.AttemptSent, At: now}
	if sendErr != nil {
		attempt.Status, attempt.Error = gateway.AttemptFailed, sendErr.Error()
		s.log.Warn("otp email not sent", "verification_id", id, "fallback", fallback, "err", sendErr)
	} else {
		s.log.Debug("otp email sent", "verification_id", id, "fallback", fallback)
	}
	rec, err := s.store.UpdateVerification(ctx, id, func(r *gateway.OTPRecord) (bool, error) {
		r.Channels = append(r.Channels, attempt)
		if fallback {
			r.Sends++
		}
		if sendErr != nil && r.Status == gateway.OTPPending && (fallback || r.Channel == gateway.ChannelEmail) {
			r.Status, r.FinishedAt = gateway.OTPFailed, now
			r.ClearSecrets()
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("record otp email: %w", err)
	}
	return rec, nil
}

// runBreaker blocks the prefixes whose codes are not being approved: the
// mark of SMS pumping, where nobody reads the codes (otp-security.md §5).
// Only verifications past the longest TTL count, as younger ones may still
// be approved.
func (s *Service) runBreaker(ctx context.Context, now time.Time) error {
	l := s.cfg.Limits
	if l.BreakerMinConversion < 0 {
		return nil
	}
	settled := now.Add(-s.cfg.MaxTTL)
	conv, err := s.store.PrefixConversion(ctx, settled.Add(-l.BreakerWindow), settled)
	if err != nil {
		return err
	}
	var blocked map[string]bool
	for _, c := range conv {
		if c.Verifications < l.BreakerMinVerifications {
			continue
		}
		rate := float64(c.Approvals) / float64(c.Verifications)
		if rate >= l.BreakerMinConversion {
			continue
		}
		if blocked == nil {
			cur, err := s.store.BlockedPrefixes(ctx, now)
			if err != nil {
				return err
			}
			blocked = map[string]bool{}
			for _, b := range cur {
				blocked[b.Prefix] = true
			}
		}
		if blocked[c.Prefix] {
			continue
		}
		b := gateway.BlockedPrefix{
			Prefix:    c.Prefix,
			Reason:    fmt.Sprintf("conversion %.0f%% of %d verifications, under %.0f%%", rate*100, c.Verifications, l.BreakerMinConversion*100),
			Sends:     c.Verifications,
			Approvals: c.Approvals,
			BlockedAt: now,
			Until:     now.Add(l.BlockFor),
		}
		if err := s.store.BlockPrefix(ctx, b); err != nil {
			return err
		}
		blocked[c.Prefix] = true
		s.log.Warn("otp prefix blocked", "prefix", c.Prefix, "verifications", c.Verifications, "approvals", c.Approvals, "until", b.Until)
	}
	return nil
}
