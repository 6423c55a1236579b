package otp

import (
	"context"
	"crypto/hmac"
	"fmt"
	"strings"

	"github.com/simgate/simgate/gateway"
)

// Check compares code with the verification's current code. A wrong code
// leaves it pending with one attempt fewer, and the last attempt ends it
// max_attempts_reached; the right code approves it once. A verification no
// longer pending answers its final status, except approved, which is not
// found: a code is accepted once (NIST SP 800-63B §5.1.3.2).
func (s *Service) Check(ctx context.Context, id, code string) (*gateway.Verification, error) {
	now := s.clock.Now()
	code = normalizeCode(code)
	wellFormed := len(code) >= MinOTPLength && len(code) <= MaxOTPLength && allDigits(code)
	// The HMAC is computed before the lookup so that an unknown ID and a
	// known one take the same time.
	got := s.codeHash(id, code)
	approved := false
	rec, err := s.store.UpdateVerification(ctx, id, func(r *gateway.OTPRecord) (bool, error) {
		if r.Status == gateway.OTPApproved {
			return false, gateway.ErrNotFound
		}
		if (r.Status == gateway.OTPPending || r.Status == gateway.OTPBlocked) && !now.Before(r.ExpiresAt) {
			r.Status, r.FinishedAt = gateway.OTPExpired, now
			r.ClearSecrets()
			return true, nil
		}
		if r.Status != gateway.OTPPending && r.Status != gateway.OTPBlocked {
			return false, nil
		}
		match := hmac.Equal(got, r.CodeHash) && wellFormed && len(code) == r.Length && r.Status == gateway.OTPPending
		if match {
			r.Status, r.FinishedAt = gateway.OTPApproved, now
			r.ClearSecrets()
			approved = true
			return true, nil
		}
		r.Attempts++
		if r.Attempts >= r.MaxAttempts {
			r.Status, r.FinishedAt = gateway.OTPMaxAttempts, now
			r.ClearSecrets()
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("check verification: %w", err)
	}
	if approved {
		s.log.Info("otp approved", "verification_id", rec.ID, "to", gateway.MaskNumber(rec.To), "sends", rec.Sends, "attempts", rec.Attempts)
	} else if rec.Status == gateway.OTPMaxAttempts && rec.FinishedAt.Equal(now) {
		s.log.Info("otp attempts exhausted", "verification_id", rec.ID, "to", gateway.MaskNumber(rec.To))
	}
	return &rec.Verification, nil
}

// CheckByNumber checks code against the newest pending verification API
// key owner started for (to, purpose); ErrNotFound when there is none.
func (s *Service) CheckByNumber(ctx context.Context, owner int64, to, code, purpose string) (*gateway.Verification, error) {
	recipient := strings.TrimSpace(to)
	if !strings.Contains(recipient, "@") {
		n, err := gateway.NormalizeNumber(to, s.svc.DefaultRegion(), false)
		if err != nil {
			return nil, &gateway.ValidationError{Field: "to", Reason: "number " + err.Error()}
		}
		recipient = n
	} else {
		recipient = strings.ToLower(recipient)
	}
	rec, err := s.store.PendingVerification(ctx, owner, recipient, strings.TrimSpace(purpose))
	if err != nil {
		// Same work as a real check, so that absence does not answer faster.
		_ = s.codeHash("otp_", code)
		return nil, fmt.Errorf("check verification: %w", err)
	}
	return s.Check(ctx, rec.ID, code)
}
