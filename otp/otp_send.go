package otp

import (
	"context"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
)

// Send starts a verification: it checks the request and the abuse limits,
// commits the verification and its SMS (high priority, TP-VP = the code's
// lifetime) or sends the email, and returns. A request for a (number,
// purpose) that has a verification sent less than ResendInterval ago gets
// that one back, unsent. A request the limits refuse answers the same shape
// with no message sent; its Status is blocked (PublicStatus: pending).
func (s *Service) Send(ctx context.Context, r Request) (*gateway.Verification, error) {
	now := s.clock.Now()
	p, err := s.prepare(r)
	if err != nil {
		return nil, err
	}
	if err := s.limits.allowKey(r.APIKey, now); err != nil {
		return nil, err
	}
	code := newCode(p.length)
	id := gateway.NewID("otp_", now)
	msg, err := s.codeSMS(ctx, p, code, r)
	if err != nil {
		return nil, err
	}
	if msg != nil {
		s.watched.add(msg.ID) // before the commit: its events may follow at once
	}

	created := false
	rec, err := s.store.CreateVerification(ctx, now, r.OwnerKey, p.recipient, p.purpose, p.prefix,
		func(existing *gateway.OTPRecord, c gateway.OTPCounts) (*gateway.OTPRecord, error) {
			if existing != nil && existing.ExpiresAt.After(now) && now.Sub(existing.LastSentAt) < s.cfg.ResendInterval {
				return existing, nil
			}
			created = true
			rec := s.newRecord(p, id, code, r, now)
			if reason := s.limits.refuse(p, c, s.svc.DefaultRegion()); reason != "" {
				block(rec, reason, now)
				return rec, nil
			}
			if p.channel == gateway.ChannelSMS {
				s.attachSMS(rec, msg, code, now)
			}
			return rec, nil
		})
	if msg != nil && (err != nil || !created || rec.MessageID != msg.ID) {
		s.watched.remove(msg.ID) // not queued: kept, blocked or refused
	}
	if err != nil {
		return nil, fmt.Errorf("create verification: %w", err)
	}
	if !created {
		return &rec.Verification, nil
	}
	log := s.log.With("verification_id", rec.ID, "to", gateway.MaskNumber(rec.To), "channel", rec.Channel)
	if rec.Status == gateway.OTPBlocked {
		log.Warn("otp blocked", "reason", rec.BlockReason, "prefix", rec.Prefix, "api_key", r.APIKey)
		return &rec.Verification, nil
	}
	switch p.channel {
	case gateway.ChannelSMS:
		s.svc.Queued(msg)
		log.Debug("otp queued", "message_id", msg.ID)
	case gateway.ChannelEmail:
		rec, err = s.sendEmail(ctx, rec.ID, code, p.ttl, false)
		if err != nil {
			return nil, err
		}
	}
	return &rec.Verification, nil
}

// codeSMS renders the code's text and, for channel sms, returns the message
// that will carry it, its text sealed; for channel email it returns nil.
func (s *Service) codeSMS(ctx context.Context, p otpParams, code string, r Request) (*gateway.Message, error) {
	text, err := s.tmpl.sms(p.template, p.locale, code, s.cfg.App, p.ttl, p.domain, p.appHash)
	if err != nil {
		return nil, err
	}
	if p.channel != gateway.ChannelSMS {
		return nil, nil
	}
	msg, err := s.svc.NewMessage(ctx, gateway.SendRequest{To: p.to, Text: text, Priority: "high", TTL: p.ttl,
		APIKey: r.APIKey, OwnerKey: r.OwnerKey})
	if err != nil {
		return nil, err
	}
	msg.Text = s.seal.sealText(msg.ID, text)
	s.route(msg, nil)
	return msg, nil
}

// newRecord is the pending verification id for p, its first code sent now.
func (s *Service) newRecord(p otpParams, id, code string, r Request, now time.Time) *gateway.OTPRecord {
	return &gateway.OTPRecord{
		Verification: gateway.Verification{
			ID:        id,
			To:        p.recipient,
			Channel:   p.channel,
			Status:    gateway.OTPPending,
			Purpose:   p.purpose,
			Email:     p.email,
			ExpiresAt: now.Add(p.ttl),
			CreatedAt: now,
			Sends:     1,
			Fallback:  p.fallback,
			OwnerKey:  r.OwnerKey,
		},
		CodeHash:    s.codeHash(id, code),
		Length:      p.length,
		MaxAttempts: s.cfg.MaxAttempts,
		MaxSends:    s.cfg.MaxSends,
		Template:    p.template,
		Locale:      p.locale,
		Domain:      p.domain,
		AppHash:     p.appHash,
		Country:     p.country,
		Prefix:      p.prefix,
		APIKey:      r.APIKey,
		LastSentAt:  now,
	}
}

// block turns rec into a verification the limits refused for reason.
func block(rec *gateway.OTPRecord, reason string, now time.Time) {
	// Same shape as a real one, down to a message ID that leads nowhere;
	// no code exists that could approve it.
	rec.Status, rec.BlockReason, rec.Sends = gateway.OTPBlocked, reason, 0
	rec.CodeHash = nil
	if rec.Channel == gateway.ChannelSMS {
		rec.MessageID = gateway.NewID("msg_", now)
	}
}

// attachSMS makes msg the SMS that carries rec's code, watched from now;
// with a fallback asked for, the code is kept sealed for the email.
func (s *Service) attachSMS(rec *gateway.OTPRecord, msg *gateway.Message, code string, now time.Time) {
	rec.MessageID, rec.QueueSMS = msg.ID, msg
	rec.Watch = true
	rec.Channels = []gateway.ChannelAttempt{smsAttempt(msg, now, false)}
	if rec.Fallback || s.rerouting() {
		// Kept sealed for the email, or for the same code on another modem.
		rec.CodeSealed = s.seal.sealCode(rec.ID, code)
	}
	if rec.Fallback {
		rec.FallbackAt = now.Add(s.cfg.FallbackAfter)
	}
}
