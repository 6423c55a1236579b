package otp

import (
	"context"
	"time"

	"github.com/simgate/simgate/gateway"
)

// A code SMS goes out on the modem Config.Router chooses. When its
// delivery report has not come within RerouteAfter, or it failed, the same
// code goes once more through another modem — preferably on another
// operator, as the router sees it — and the verification stays one: the
// recipient may get the code twice, which is intended, and either SMS's
// code approves. Email fallback stays the last step.

// rerouting reports whether an undelivered code goes again through
// another modem.
func (s *Service) rerouting() bool { return s.cfg.Router != nil && s.cfg.RerouteAfter > 0 }

// route pins m to the modem the router chooses, never one of exclude.
func (s *Service) route(m *gateway.Message, exclude []string) gateway.RouteDecision {
	if s.cfg.Router == nil {
		return gateway.RouteDecision{}
	}
	d := s.cfg.Router.Route(m.To, exclude)
	m.Pin, m.Route = d.Modem, d.Reason
	return d
}

// smsAttempt is the channel attempt of code SMS m, queued at now.
func smsAttempt(m *gateway.Message, now time.Time, reroute bool) gateway.ChannelAttempt {
	return gateway.ChannelAttempt{Channel: gateway.ChannelSMS, MessageID: m.ID, Status: gateway.AttemptQueued, At: now,
		Modem: m.Pin, Route: m.Route, Reroute: reroute}
}

// lastSMS is r's latest SMS attempt; nil when there is none.
func lastSMS(r *gateway.OTPRecord) *gateway.ChannelAttempt {
	for i := len(r.Channels) - 1; i >= 0; i-- {
		if r.Channels[i].Channel == gateway.ChannelSMS {
			return &r.Channels[i]
		}
	}
	return nil
}

// rerouteDue reports whether r's code should now go through another modem:
// its SMS is not delivered, is no reroute itself, and has waited
// RerouteAfter for its report (or failed: failed says so).
func (s *Service) rerouteDue(r *gateway.OTPRecord, now time.Time, failed bool) bool {
	if !s.rerouting() || r.Status != gateway.OTPPending || r.CodeSealed == nil || !now.Before(r.ExpiresAt) {
		return false
	}
	a := lastSMS(r)
	if a == nil || a.MessageID != r.MessageID || a.Reroute {
		return false
	}
	return failed || !now.Before(a.At.Add(s.cfg.RerouteAfter))
}

// rerouteSMS builds the SMS that carries r's code again through a modem
// other than those of exclude, and makes it r's watched SMS; the old one
// is canceled if it has not left yet. It returns nil when no other modem
// is online.
func (s *Service) rerouteSMS(ctx context.Context, r *gateway.OTPRecord, code string, exclude []string, now time.Time) (*gateway.Message, error) {
	text, err := s.tmpl.sms(r.Template, r.Locale, code, s.cfg.App, r.ExpiresAt.Sub(r.CreatedAt), r.Domain, r.AppHash)
	if err != nil {
		return nil, err
	}
	m, err := s.svc.NewMessage(ctx, gateway.SendRequest{To: r.To, Text: text, Priority: "high", TTL: r.ExpiresAt.Sub(now),
		APIKey: r.APIKey, OwnerKey: r.OwnerKey})
	if err != nil {
		return nil, err
	}
	if d := s.route(m, exclude); d.Modem == "" {
		return nil, nil // no other modem: the old SMS may still arrive
	}
	m.Text = s.seal.sealText(m.ID, text)
	s.watched.add(m.ID) // before the commit: its events may follow at once
	r.QueueSMS, r.CancelSMS = m, r.MessageID
	r.MessageID = m.ID
	r.Channels = append(r.Channels, smsAttempt(m, now, true))
	return m, nil
}

// reroute sends v's code again through another modem, inside the
// transaction that updates v; nil when no other modem is online.
func (s *Service) reroute(ctx context.Context, v *gateway.OTPRecord, exclude []string, now time.Time) (*gateway.Message, error) {
	code, err := s.seal.openCode(v.ID, v.CodeSealed)
	if err != nil {
		return nil, err
	}
	return s.rerouteSMS(ctx, v, code, exclude, now)
}
