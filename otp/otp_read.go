package otp

import (
	"context"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
)

// Get returns a verification, its code never included. A pending one past
// its expiry reads as expired.
func (s *Service) Get(ctx context.Context, id string) (*gateway.Verification, error) {
	rec, err := s.store.Verification(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get verification: %w", err)
	}
	if (rec.Status == gateway.OTPPending || rec.Status == gateway.OTPBlocked) && !s.clock.Now().Before(rec.ExpiresAt) {
		rec.Status = gateway.OTPExpired
	}
	return &rec.Verification, nil
}

// Stats returns OTP traffic per UTC day and country since since.
func (s *Service) Stats(ctx context.Context, since time.Time) ([]gateway.OTPStat, error) {
	st, err := s.store.OTPStats(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("otp stats: %w", err)
	}
	return st, nil
}

// BlockedPrefixes lists the prefixes blocked now.
func (s *Service) BlockedPrefixes(ctx context.Context) ([]gateway.BlockedPrefix, error) {
	b, err := s.store.BlockedPrefixes(ctx, s.clock.Now())
	if err != nil {
		return nil, fmt.Errorf("blocked prefixes: %w", err)
	}
	return b, nil
}
