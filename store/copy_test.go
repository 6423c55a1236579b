package store

import (
	"errors"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// An installation moves from SQLite to PostgreSQL whole: queued messages
// go on from where they were, pending verifications still check, keys
// still authenticate, and new rows number on after the copied ones. A
// second copy into the now non-empty target is refused and writes nothing.
func TestCopyTo(t *testing.T) {
	if pg == nil {
		t.Skip("no PostgreSQL")
	}
	t.Parallel()
	src := mustOpen(t)
	key, err := src.CreateAPIKey(t.Context(), gateway.APIKey{Name: "shop", Hash: "ab12", Scopes: []string{"otp"}, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, src, newMessage("msg_sent", 0))
	mustClaim(t, src, "imeiA", t0.Add(time.Second))
	mustCreate(t, src, newMessage("msg_queued", 1))
	if err := src.LastPartSent(t.Context(), "msg_sent", 1, "imeiA", 42, t0); err != nil {
		t.Fatal(err)
	}
	otp := newOTPRecord("otp_moving", "+12025550101", "login", t0)
	otp.CodeSealed = nil // an empty blob must survive too
	mustCreateOTP(t, src, otp)
	lastSeq, err := src.LastEventSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	dst := mustOpenPath(t, pg.Schema(t))
	counts, err := CopyTo(t.Context(), src, dst)
	if err != nil {
		t.Fatalf("CopyTo: %v", err)
	}
	if counts["messages"] != 2 || counts["parts"] != 2 || counts["api_keys"] != 1 || counts["otp_verifications"] != 1 {
		t.Errorf("copied %v", counts)
	}
	if m := mustClaim(t, dst, "imeiB", t0.Add(time.Second)); claimedID(m) != "msg_queued" {
		t.Errorf("claim on the target = %s, want msg_queued", claimedID(m))
	}
	if m := mustMessage(t, dst, "msg_sent"); m.Status != gateway.StatusSent || m.Parts[0].MR != 42 {
		t.Errorf("msg_sent on the target: %s, parts %+v", m.Status, m.Parts)
	}
	got, err := dst.Verification(t.Context(), "otp_moving")
	if err != nil || got.Status != gateway.OTPPending || string(got.CodeHash) != string(otp.CodeHash) {
		t.Errorf("verification on the target = %+v, %v", got, err)
	}
	keys, err := dst.APIKeys(t.Context())
	if err != nil || len(keys) != 1 || keys[0].ID != key.ID || keys[0].Hash != "ab12" {
		t.Errorf("keys on the target = %+v, %v", keys, err)
	}
	next, err := dst.CreateAPIKey(t.Context(), gateway.APIKey{Name: "new", Hash: "cd34", CreatedAt: t0})
	if err != nil || next.ID <= key.ID {
		t.Errorf("new key on the target = %+v, %v; want an ID after %d", next, err, key.ID)
	}
	mustCreate(t, dst, newMessage("msg_after", 2))
	evs, err := dst.EventsAfter(t.Context(), lastSeq, 10)
	if err != nil || len(evs) == 0 || evs[0].Subject != "msg_after" {
		t.Errorf("events after the copied ones = %+v, %v; want msg_after's", evs, err)
	}

	if _, err := CopyTo(t.Context(), src, dst); !errors.Is(err, ErrTargetNotEmpty) {
		t.Fatalf("second CopyTo: %v, want ErrTargetNotEmpty", err)
	}
}
