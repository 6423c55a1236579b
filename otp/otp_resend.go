package otp

import (
	"context"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
)

// Resend sends a fresh code for a pending verification: the old code dies,
// the attempt budget stays. Within ResendInterval of the last send it
// returns *RetryAfterError; after MaxSends sends as well, until expiry.
func (s *Service) Resend(ctx context.Context, id string) (*gateway.Verification, error) {
	now := s.clock.Now()
	var (
		code    string
		msg     *gateway.Message
		blocked bool
	)
	rec, err := s.store.UpdateVerification(ctx, id, func(r *gateway.OTPRecord) (bool, error) {
		if r.Status == gateway.OTPApproved {
			return false, gateway.ErrNotFound
		}
		if r.Status != gateway.OTPPending && r.Status != gateway.OTPBlocked {
			return false, nil
		}
		if !now.Before(r.ExpiresAt) {
			r.Status, r.FinishedAt = gateway.OTPExpired, now
			r.ClearSecrets()
			return true, nil
		}
		if wait := r.LastSentAt.Add(s.cfg.ResendInterval).Sub(now); wait > 0 {
			return false, &gateway.RetryAfterError{Wait: wait, Reason: "a code was sent less than " + s.cfg.ResendInterval.String() + " ago"}
		}
		if r.Sends >= r.MaxSends && r.Status == gateway.OTPPending {
			return false, &gateway.RetryAfterError{Wait: r.ExpiresAt.Sub(now), Reason: fmt.Sprintf("this verification has had its %d sends", r.MaxSends)}
		}
		r.LastSentAt = now
		if r.Status == gateway.OTPBlocked {
			blocked = true
			if r.Channel == gateway.ChannelSMS {
				r.MessageID = gateway.NewID("msg_", now)
			}
			return true, nil
		}
		code = newCode(r.Length)
		r.CodeHash = s.codeHash(r.ID, code)
		r.Sends++
		if r.CodeSealed != nil || r.Channel == gateway.ChannelEmail {
			r.CodeSealed = s.seal.sealCode(r.ID, code)
		}
		if r.Channel == gateway.ChannelSMS {
			m, err := s.resendSMS(ctx, r, code, now)
			if err != nil {
				return false, err
			}
			msg = m
		}
		return true, nil
	})
	if err != nil {
		if msg != nil {
			s.watched.remove(msg.ID) // rolled back: never queued
		}
		return nil, fmt.Errorf("resend verification: %w", err)
	}
	if blocked || code == "" {
		return &rec.Verification, nil
	}
	if msg != nil {
		s.svc.Queued(msg)
		return &rec.Verification, nil
	}
	rec, err = s.sendEmail(ctx, rec.ID, code, rec.ExpiresAt.Sub(rec.CreatedAt), false)
	if err != nil {
		return nil, err
	}
	return &rec.Verification, nil
}

// resendSMS builds the SMS that carries r's new code, for the rest of its
// lifetime, and makes it r's watched SMS in place of the old one, which the
// store cancels if it has not left yet.
func (s *Service) resendSMS(ctx context.Context, r *gateway.OTPRecord, code string, now time.Time) (*gateway.Message, error) {
	ttl := r.ExpiresAt.Sub(now)
	text, err := s.tmpl.sms(r.Template, r.Locale, code, s.cfg.App, r.ExpiresAt.Sub(r.CreatedAt), r.Domain, r.AppHash)
	if err != nil {
		return nil, err
	}
	m, err := s.svc.NewMessage(ctx, gateway.SendRequest{To: r.To, Text: text, Priority: "high", TTL: ttl,
		APIKey: r.APIKey, OwnerKey: r.OwnerKey})
	if err != nil {
		return nil, err
	}
	m.Text = s.seal.sealText(m.ID, text)
	s.route(m, nil)
	s.watched.add(m.ID) // before the commit: its events may follow at once
	r.QueueSMS, r.CancelSMS = m, r.MessageID
	r.MessageID = m.ID
	r.Watch = true
	r.FallbackDone = false
	if r.Fallback {
		r.FallbackAt = now.Add(s.cfg.FallbackAfter)
	}
	r.Channels = append(r.Channels, smsAttempt(m, now, false))
	return m, nil
}

// Cancel ends a pending verification as canceled; a final one is returned
// unchanged (approved: not found).
func (s *Service) Cancel(ctx context.Context, id string) (*gateway.Verification, error) {
	now := s.clock.Now()
	rec, err := s.store.UpdateVerification(ctx, id, func(r *gateway.OTPRecord) (bool, error) {
		if r.Status == gateway.OTPApproved {
			return false, gateway.ErrNotFound
		}
		if r.Status != gateway.OTPPending && r.Status != gateway.OTPBlocked {
			return false, nil
		}
		if r.Status == gateway.OTPPending && r.Channel == gateway.ChannelSMS {
			// A code that has not left yet need not leave at all.
			r.CancelSMS = r.MessageID
		}
		r.Status, r.FinishedAt = gateway.OTPCanceled, now
		r.ClearSecrets()
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("cancel verification: %w", err)
	}
	return &rec.Verification, nil
}
