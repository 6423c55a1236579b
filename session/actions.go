package session

import (
	"context"
	"fmt"

	"github.com/simgate/simgate/gateway"
)

// ErrNotAttached means the modem an action names has no open session; it
// is gateway.ErrModemNotConnected, which the API knows.
var ErrNotAttached = gateway.ErrModemNotConnected

// Reinit closes the modem's port: its session ends and the Supervisor opens
// it again after its backoff, running Init from scratch, as it would after
// an unplug. That clears states a live Init would not (a stuck prompt, a
// radio left off).
func (s *Supervisor) Reinit(imei string) error {
	dev, err := s.device(imei)
	if err != nil {
		return err
	}
	if err := dev.Close(); err != nil {
		return fmt.Errorf("reinit %s: %w", imei, err)
	}
	return nil
}

// USSD runs code on the modem and returns the network's answer.
func (s *Supervisor) USSD(ctx context.Context, imei, code string) (gateway.USSDReply, error) {
	dev, err := s.device(imei)
	if err != nil {
		return gateway.USSDReply{}, err
	}
	reply, err := dev.USSD(ctx, code)
	if err != nil {
		return gateway.USSDReply{}, fmt.Errorf("ussd: %w", err)
	}
	return reply, nil
}

// device is the open device of the session that holds imei.
func (s *Supervisor) device(imei string) (*sessionDevice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.active[imei]
	if !ok {
		return nil, fmt.Errorf("modem %s: %w", imei, ErrNotAttached)
	}
	return h.dev, nil
}
