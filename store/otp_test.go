package store

import (
	"errors"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func newOTPRecord(id, to, purpose string, at time.Time) *gateway.OTPRecord {
	return &gateway.OTPRecord{
		Verification: gateway.Verification{ID: id, To: to, Channel: "sms", Status: gateway.OTPPending, Purpose: purpose,
			CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute), Sends: 1, MessageID: "msg_" + id,
			Channels: []gateway.ChannelAttempt{{Channel: "sms", MessageID: "msg_" + id, Status: "queued", At: at}}},
		CodeHash: []byte("0123456789abcdef0123456789abcdef"), Length: 6, MaxAttempts: 5, MaxSends: 5,
		Country: "US", Prefix: to[:len(to)-4], LastSentAt: at, Watch: true,
	}
}

func mustCreateOTP(t *testing.T, s *Store, r *gateway.OTPRecord) (existing *gateway.OTPRecord, counts gateway.OTPCounts) {
	t.Helper()
	got, err := s.CreateVerification(t.Context(), r.CreatedAt, r.OwnerKey, r.To, r.Purpose, r.Prefix,
		func(ex *gateway.OTPRecord, c gateway.OTPCounts) (*gateway.OTPRecord, error) {
			existing, counts = ex, c
			return r, nil
		})
	if err != nil || got != r {
		t.Fatalf("CreateVerification(%s) = %v, %v", r.ID, got, err)
	}
	return existing, counts
}

func TestStore_Verification(t *testing.T) {
	s := mustOpen(t)
	r1 := newOTPRecord("otp_1", "+12025550101", "login", t0)
	mustCreateOTP(t, s, r1)

	got, err := s.Verification(t.Context(), "otp_1")
	if err != nil {
		t.Fatal(err)
	}
	if got.To != r1.To || string(got.CodeHash) != string(r1.CodeHash) || !got.Watch || got.AttemptsLeft != 5 ||
		len(got.Channels) != 1 || got.Channels[0].MessageID != "msg_otp_1" || !got.ExpiresAt.Equal(r1.ExpiresAt) {
		t.Fatalf("Verification = %+v", got)
	}

	// A second verification for the same (number, purpose) supersedes the
	// first; the counts see the first's send.
	r2 := newOTPRecord("otp_2", "+12025550101", "login", t0.Add(time.Minute))
	ex, c := mustCreateOTP(t, s, r2)
	if ex == nil || ex.ID != "otp_1" || c.NumberHour != 1 || c.NumberDay != 1 || c.PrefixHour != 1 || c.PrefixBlocked != nil {
		t.Fatalf("existing %v, counts %+v", ex, c)
	}
	if old, _ := s.Verification(t.Context(), "otp_1"); old.Status != gateway.OTPCanceled || old.CodeHash != nil {
		t.Fatalf("superseded = %+v", old)
	}
	if p, err := s.PendingVerification(t.Context(), 0, "+12025550101", "login"); err != nil || p.ID != "otp_2" {
		t.Fatalf("PendingVerification = %v, %v", p, err)
	}

	// Updates: sends added are logged; an error from fn rolls back.
	if _, err := s.UpdateVerification(t.Context(), "otp_2", func(r *gateway.OTPRecord) (bool, error) {
		r.Sends, r.LastSentAt = 2, t0.Add(2*time.Minute)
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateVerification(t.Context(), "otp_2", func(r *gateway.OTPRecord) (bool, error) {
		r.Attempts = 3
		return true, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("UpdateVerification error = %v", err)
	}
	if got, _ := s.Verification(t.Context(), "otp_2"); got.Attempts != 0 || got.Sends != 2 {
		t.Fatalf("after rollback %+v", got)
	}
	_, c = mustCreateOTP(t, s, newOTPRecord("otp_3", "+12025550101", "reset", t0.Add(3*time.Minute)))
	if c.NumberHour != 3 {
		t.Fatalf("NumberHour %d, want 3", c.NumberHour)
	}

	// The schema refuses a finished verification that keeps its hash.
	if _, err := s.UpdateVerification(t.Context(), "otp_3", func(r *gateway.OTPRecord) (bool, error) {
		r.Status = gateway.OTPApproved
		return true, nil
	}); err == nil {
		t.Fatal("an approved verification kept its code hash")
	}
	if _, err := s.UpdateVerification(t.Context(), "otp_x", func(*gateway.OTPRecord) (bool, error) { return false, nil }); !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}

	// Watch, expiry, purge.
	w, err := s.WatchedVerifications(t.Context(), 10)
	if err != nil || len(w) != 2 {
		t.Fatalf("WatchedVerifications = %d, %v", len(w), err)
	}
	if n, err := s.ExpireVerifications(t.Context(), t0.Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("ExpireVerifications = %d, %v", n, err)
	}
	if w, _ := s.WatchedVerifications(t.Context(), 10); len(w) != 0 {
		t.Fatalf("%d still watched after expiry", len(w))
	}
	if n, err := s.PurgeVerifications(t.Context(), t0.Add(2*time.Hour)); err != nil || n != 3 {
		t.Fatalf("PurgeVerifications = %d, %v", n, err)
	}
}

func TestStore_BlockedPrefixes(t *testing.T) {
	s := mustOpen(t)
	b := gateway.BlockedPrefix{Prefix: "+1202555", Reason: "test", Sends: 20, BlockedAt: t0, Until: t0.Add(12 * time.Hour)}
	if err := s.BlockPrefix(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	_, c := mustCreateOTP(t, s, newOTPRecord("otp_1", "+12025550101", "", t0.Add(time.Hour)))
	if c.PrefixBlocked == nil || c.PrefixBlocked.Reason != "test" {
		t.Fatalf("counts %+v, want the block", c)
	}
	if got, _ := s.BlockedPrefixes(t.Context(), t0.Add(13*time.Hour)); len(got) != 0 {
		t.Fatalf("block in force after until: %+v", got)
	}
	conv, err := s.PrefixConversion(t.Context(), t0, t0.Add(2*time.Hour))
	if err != nil || len(conv) != 1 || conv[0].Verifications != 1 || conv[0].Approvals != 0 {
		t.Fatalf("PrefixConversion = %+v, %v", conv, err)
	}
}

// TestStore_OTPStatsTimes: the stats add up the time from the request to
// the SMS's delivery report and to the approval.
func TestStore_OTPStatsTimes(t *testing.T) {
	f := newReportFixture(t)
	r := newOTPRecord("otp_1", "+12025550101", "login", t0)
	mustCreateOTP(t, f.s, r)
	f.send("msg_otp_1", r.To, "imeiA", 7)                                 // sent at t0; f.now is t0+1s
	if _, err := f.report("imeiA", 7, r.To, "delivered", 0); err != nil { // at t0+2s
		t.Fatal(err)
	}
	if _, err := f.s.UpdateVerification(t.Context(), r.ID, func(v *gateway.OTPRecord) (bool, error) {
		v.Status, v.FinishedAt = gateway.OTPApproved, t0.Add(9500*time.Millisecond)
		v.ClearSecrets()
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	st, err := f.s.OTPStats(t.Context(), t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].Delivered != 1 || st[0].ToDelivered != 2*time.Second || st[0].ToApproved != 9500*time.Millisecond {
		t.Errorf("stats %+v: want 1 delivered 2s after the request, approved after 9.5s", st)
	}
}
