package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// watchBatch bounds the verifications Run looks at per tick.
const watchBatch = 500

// mailTimeout bounds one SMTP delivery.
const mailTimeout = 30 * time.Second

// Run watches the SMS of pending verifications until ctx ends: an SMS
// that failed (refused by the network, a failure report, expired in the
// queue) falls back to email when asked for, and otherwise fails its
// verification; one not delivered within FallbackAfter falls back too. It
// also expires verifications, runs the conversion breaker and purges what
// is past retention. It returns nil when ctx ends.
func (s *OTPService) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.WatchEvery)
	defer t.Stop()
	for {
		s.Tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick does one round of Run's work now; tests under an injected clock
// call it directly.
func (s *OTPService) Tick(ctx context.Context) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	now := s.clock.Now()
	if err := s.watch(ctx, now); err != nil && ctx.Err() == nil {
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

// watch follows each watched verification's SMS through its message.
func (s *OTPService) watch(ctx context.Context, now time.Time) error {
	recs, err := s.store.WatchedVerifications(ctx, watchBatch)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if ctx.Err() != nil {
			return nil
		}
		if err := s.follow(ctx, r, now); err != nil {
			s.log.Error("follow otp sms", "verification_id", r.ID, "err", err)
		}
	}
	return nil
}

func (s *OTPService) follow(ctx context.Context, r *OTPRecord, now time.Time) error {
	var (
		status Status
		reason string
	)
	m, err := s.svc.store.Message(ctx, r.MessageID)
	switch {
	case errors.Is(err, ErrNotFound):
		status, reason = StatusFailed, "the SMS was never queued"
	case err != nil:
		return err
	default:
		status, reason = m.Status, m.Error
	}
	var fallback, failed, settle bool
	attempt := AttemptQueued
	switch status {
	case StatusDelivered:
		attempt, settle = AttemptDelivered, true
	case StatusFailed, StatusExpired, StatusCanceled:
		attempt = AttemptFailed
		if reason == "" {
			reason = "the SMS " + string(status)
		}
		if r.Fallback && !r.FallbackDone && r.Email != "" {
			fallback = true
		} else {
			failed = true
		}
	case StatusSent:
		// Without a report requested there is nothing more to learn, unless
		// a fallback is still to come.
		attempt = AttemptSent
		fallback = r.fallbackDue(now)
		settle = fallback || (!m.StatusReport && !(r.Fallback && !r.FallbackDone))
	default: // queued, sending
		fallback = r.fallbackDue(now)
	}
	if !now.Before(r.ExpiresAt) {
		settle = true // Tick expires it; nothing left to wait for
		fallback = false
	}

	var code string
	rec, err := s.store.UpdateVerification(ctx, r.ID, func(v *OTPRecord) (bool, error) {
		if v.MessageID != r.MessageID || !v.Watch {
			return false, nil // resent or finished meanwhile
		}
		changed := setAttempt(v, r.MessageID, attempt, reason)
		if settle {
			v.Watch, changed = false, true
		}
		if fallback && v.Status == OTPPending {
			c, err := s.seal.openCode(v.ID, v.CodeSealed)
			if err != nil {
				failed = true
			} else {
				code = c
				v.FallbackDone, v.Watch, changed = true, false, true
			}
		}
		if failed && v.Status == OTPPending {
			v.Status, v.FinishedAt = OTPFailed, now
			v.clearSecrets()
			changed = true
		}
		return changed, nil
	})
	if err != nil {
		return err
	}
	if failed && rec.Status == OTPFailed {
		s.log.Info("otp failed", "verification_id", rec.ID, "to", MaskNumber(rec.To), "reason", reason)
	}
	if code == "" {
		return nil
	}
	s.log.Info("otp falls back to email", "verification_id", rec.ID, "sms_status", string(status))
	_, err = s.sendEmail(ctx, rec.ID, code, rec.ExpiresAt.Sub(rec.CreatedAt), true)
	return err
}

func (r *OTPRecord) fallbackDue(now time.Time) bool {
	return r.Fallback && !r.FallbackDone && r.Email != "" && !r.FallbackAt.IsZero() && !now.Before(r.FallbackAt)
}

// setAttempt updates the channel attempt of message id; it reports a change.
func setAttempt(v *OTPRecord, msgID, status, reason string) bool {
	for i := range v.Channels {
		a := &v.Channels[i]
		if a.MessageID != msgID {
			continue
		}
		if a.Status == status {
			return false
		}
		a.Status = status
		if status == AttemptFailed {
			a.Error = reason
		}
		return true
	}
	return false
}

// sendEmail mails code for verification id and records the attempt; a
// mail that cannot be sent fails the verification unless an SMS is still
// on its way.
func (s *OTPService) sendEmail(ctx context.Context, id, code string, ttl time.Duration, fallback bool) (*OTPRecord, error) {
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
	attempt := ChannelAttempt{Channel: ChannelEmail, Status: AttemptSent, At: now}
	if sendErr != nil {
		attempt.Status, attempt.Error = AttemptFailed, sendErr.Error()
		s.log.Warn("otp email not sent", "verification_id", id, "fallback", fallback, "err", sendErr)
	} else {
		s.log.Debug("otp email sent", "verification_id", id, "fallback", fallback)
	}
	rec, err := s.store.UpdateVerification(ctx, id, func(r *OTPRecord) (bool, error) {
		r.Channels = append(r.Channels, attempt)
		if fallback {
			r.Sends++
		}
		if sendErr != nil && r.Status == OTPPending && (fallback || r.Channel == ChannelEmail) {
			r.Status, r.FinishedAt = OTPFailed, now
			r.clearSecrets()
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
func (s *OTPService) runBreaker(ctx context.Context, now time.Time) error {
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
		b := BlockedPrefix{
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
