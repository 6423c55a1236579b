package store

import (
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// A worker that stalled past its lease while another took the message over
// records nothing: every outcome it reports is refused with ErrLeaseLost,
// and the new owner's stays.
func TestLease_StaleOwnerIsFenced(t *testing.T) {
	s := mustOpen(t)
	mustCreate(t, s, newMessage("msg_fenced", 0))
	old := mustClaim(t, s, "imeiA", t0)
	if old == nil || old.LeaseUntil.IsZero() {
		t.Fatalf("first claim = %+v, want the message with its lease", old)
	}
	stale := gateway.WithLease(t.Context(), old.LeaseUntil)

	later := t0.Add(2 * time.Minute) // the first lease (1 min) ran out
	cur := mustClaim(t, s, "imeiB", later)
	if claimedID(cur) != "msg_fenced" || !cur.LeaseUntil.After(old.LeaseUntil) {
		t.Fatalf("second claim = %+v, want msg_fenced with a later lease", cur)
	}
	owner := gateway.WithLease(t.Context(), cur.LeaseUntil)

	wantErr(t, "stale PartSent", s.PartSent(stale, "msg_fenced", 1, "imeiA", 11, later), gateway.ErrLeaseLost)
	wantErr(t, "stale Retry", s.Retry(stale, "msg_fenced", later, "stalled", true), gateway.ErrLeaseLost)
	wantErr(t, "stale Fail", s.Fail(stale, "msg_fenced", "stalled", later), gateway.ErrLeaseLost)
	wantErr(t, "stale PartUnknown", s.PartUnknown(stale, "msg_fenced", 1, "imeiA", "stalled", later), gateway.ErrLeaseLost)

	if err := s.LastPartSent(owner, "msg_fenced", 1, "imeiB", 22, later); err != nil {
		t.Fatalf("owner's LastPartSent: %v", err)
	}
	// Settled: the stale worker still records nothing over it.
	wantErr(t, "stale LastPartSent", s.LastPartSent(stale, "msg_fenced", 1, "imeiA", 11, later), gateway.ErrLeaseLost)
	wantErr(t, "stale Sent", s.Sent(stale, "msg_fenced", later), gateway.ErrLeaseLost)
	wantErr(t, "stale Fail after sent", s.Fail(stale, "msg_fenced", "stalled", later), gateway.ErrLeaseLost)

	m := mustMessage(t, s, "msg_fenced")
	if m.Status != gateway.StatusSent || m.Modem != "imeiB" || len(m.Parts) != 1 ||
		m.Parts[0].MR != 22 || m.Parts[0].Modem != "imeiB" || m.Attempts != 0 {
		t.Fatalf("message = status %s modem %s attempts %d parts %+v; want sent by imeiB with MR 22",
			m.Status, m.Modem, m.Attempts, m.Parts)
	}
}
