package store

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func TestClaimNext_Order(t *testing.T) {
	s := mustOpen(t)
	add := func(id string, age time.Duration, prio gateway.Priority) {
		m := newMessage(id, age)
		m.Priority = prio
		mustCreate(t, s, m)
	}
	add("msg_low_old", 0, gateway.PriorityLow)
	add("msg_normal_new", 3*time.Second, gateway.PriorityNormal)
	add("msg_normal_old", time.Second, gateway.PriorityNormal)
	add("msg_high_new", 5*time.Second, gateway.PriorityHigh)
	add("msg_high_old", 4*time.Second, gateway.PriorityHigh)
	add("msg_b_same_age", 2*time.Second, gateway.PriorityNormal)
	add("msg_a_same_age", 2*time.Second, gateway.PriorityNormal)

	want := []string{"msg_high_old", "msg_high_new", "msg_normal_old", "msg_a_same_age",
		"msg_b_same_age", "msg_normal_new", "msg_low_old", ""}
	now := t0.Add(time.Minute)
	for _, w := range want {
		m := mustClaim(t, s, "imei1", now)
		if got := claimedID(m); got != w {
			t.Fatalf("claimed %q, want %q", got, w)
		}
		if m == nil {
			break
		}
		if m.Status != gateway.StatusSending || m.Modem != "imei1" {
			t.Errorf("%s: status %s modem %q, want sending by imei1", m.ID, m.Status, m.Modem)
		}
		if len(m.Parts) != 1 || m.Parts[0].Status != gateway.StatusSending {
			t.Errorf("%s: parts %+v, want one sending", m.ID, m.Parts)
		}
	}
}

func TestClaimNext_Pin(t *testing.T) {
	s := mustOpen(t)
	pinned := func(id, pin string, age time.Duration) {
		m := newMessage(id, age)
		m.Pin = pin
		mustCreate(t, s, m)
	}
	pinned("msg_for_b", "imeiB", 0)
	pinned("msg_for_a", "imeiA", time.Second)
	pinned("msg_any", "", 2*time.Second)
	pinned("msg_for_a2", "imeiA", 3*time.Second)
	now := t0.Add(time.Minute)

	tests := []struct{ modem, want string }{
		{"imeiA", "msg_for_a"},
		{"imeiC", "msg_any"},
		{"imeiC", ""},
		{"imeiA", "msg_for_a2"},
		{"imeiA", ""},
		{"imeiB", "msg_for_b"},
	}
	for _, tt := range tests {
		if got := claimedID(mustClaim(t, s, tt.modem, now)); got != tt.want {
			t.Errorf("%s claimed %q, want %q", tt.modem, got, tt.want)
		}
	}
}

func TestClaimNext_Timers(t *testing.T) {
	s := mustOpen(t)
	later := newMessage("msg_scheduled", 0)
	later.SendAt = t0.Add(time.Hour)
	mustCreate(t, s, later)
	exp := newMessage("msg_expiring", time.Second)
	exp.ExpiresAt = t0.Add(10 * time.Minute)
	mustCreate(t, s, exp)
	backoff := newMessage("msg_backoff", 2*time.Second)
	backoff.NextAttempt = t0.Add(30 * time.Minute)
	mustCreate(t, s, backoff)

	tests := []struct {
		at   time.Duration
		want string
	}{
		{10 * time.Minute, ""},            // msg_expiring expires exactly now; the others are not due
		{30*time.Minute - 1, ""},          // one nanosecond before the backoff ends
		{30 * time.Minute, "msg_backoff"}, // due at its next attempt
		{time.Hour - time.Second, ""},     // the scheduled one is not yet due
		{time.Hour, "msg_scheduled"},      // send_at reached
		{2 * time.Hour, ""},               // expired ones are never claimed
	}
	for _, tt := range tests {
		// A long lease keeps what was claimed out of the later steps.
		m, err := s.ClaimNext(t.Context(), gateway.Claim{Modem: "imei1", Now: t0.Add(tt.at), Lease: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if got := claimedID(m); got != tt.want {
			t.Errorf("at +%v claimed %q, want %q", tt.at, got, tt.want)
		}
	}

	s2 := mustOpen(t)
	exp2 := newMessage("msg_expiring", time.Second)
	exp2.ExpiresAt = t0.Add(10 * time.Minute)
	mustCreate(t, s2, exp2)
	if got := claimedID(mustClaim(t, s2, "imei1", t0.Add(10*time.Minute-1))); got != "msg_expiring" {
		t.Errorf("just before expiry claimed %q, want msg_expiring", got)
	}
}

func TestClaimNext_LeaseExpiry(t *testing.T) {
	s := mustOpen(t)
	m := newMessage("msg_1", 0)
	m.Segments = 2
	mustCreate(t, s, m)
	now := t0.Add(time.Minute)

	c := gateway.Claim{Modem: "imeiA", Now: now, Lease: 30 * time.Second}
	got, err := s.ClaimNext(t.Context(), c)
	if err != nil || claimedID(got) != "msg_1" {
		t.Fatalf("first claim: %v, %v", claimedID(got), err)
	}
	if err := s.PartSent(t.Context(), "msg_1", 1, "imeiA", 42, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// imeiA "crashes" here.
	if got := claimedID(mustClaim(t, s, "imeiB", now.Add(30*time.Second-1))); got != "" {
		t.Fatalf("claimed %q while the lease holds", got)
	}
	got = mustClaim(t, s, "imeiB", now.Add(30*time.Second))
	if claimedID(got) != "msg_1" {
		t.Fatalf("after the lease claimed %q, want msg_1", claimedID(got))
	}
	if got.Modem != "imeiB" || got.Attempts != 0 {
		t.Errorf("reclaimed modem %q attempts %d, want imeiB 0", got.Modem, got.Attempts)
	}
	// The part sent before the crash keeps its MR; only the other is to send.
	want := []gateway.Part{
		{Index: 1, Status: gateway.StatusSent, MR: 42, HasMR: true, Modem: "imeiA", SentAt: now.Add(time.Second), ReportCode: -1},
		{Index: 2, Status: gateway.StatusSending, ReportCode: -1},
	}
	if !partsEqual(got.Parts, want) {
		t.Errorf("parts %+v, want %+v", got.Parts, want)
	}
}

func partsEqual(a, b []gateway.Part) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if !x.SentAt.Equal(y.SentAt) || !x.DeliveredAt.Equal(y.DeliveredAt) {
			return false
		}
		x.SentAt, y.SentAt, x.DeliveredAt, y.DeliveredAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// A claim gives the message with all its parts in order: those its UPDATE
// took when it took them all, else read again (a message claimed after a
// part went out).
func TestClaimNext_Parts(t *testing.T) {
	s := mustOpen(t)
	now := t0.Add(time.Minute)
	m := newMessage("msg_3", 0)
	m.Segments = 3
	mustCreate(t, s, m)
	parts := func(m *gateway.Message) string {
		var b strings.Builder
		for _, p := range m.Parts {
			fmt.Fprintf(&b, "%d:%s:%v ", p.Index, p.Status, p.HasMR)
		}
		return b.String()
	}
	got := mustClaim(t, s, "imeiA", now)
	if want := "1:sending:false 2:sending:false 3:sending:false "; got == nil || parts(got) != want {
		t.Fatalf("first claim: %v, want parts %q", got, want)
	}
	if err := s.PartSent(t.Context(), "msg_3", 1, "imeiA", 7, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry(t.Context(), "msg_3", now, "modem gone", false); err != nil {
		t.Fatal(err)
	}
	got = mustClaim(t, s, "imeiA", now)
	if want := "1:sent:true 2:sending:false 3:sending:false "; got == nil || parts(got) != want {
		t.Fatalf("claim after part 1 went out: %q, want %q", parts(got), want)
	}
}

func TestClaimNext_Invalid(t *testing.T) {
	s := mustOpen(t)
	for _, c := range []gateway.Claim{
		{Modem: "", Now: t0, Lease: time.Minute},
		{Modem: "imei", Now: t0, Lease: 0},
		{Modem: "imei", Lease: time.Minute},
	} {
		_, err := s.ClaimNext(t.Context(), c)
		wantErr(t, "ClaimNext", err, gateway.ErrInvalid)
	}
}

// Claimers race over 200 messages through two Stores on one file (as two
// processes would, each with its own writer connection) and several
// goroutines each: every message must be claimed exactly once.
func TestClaimNext_Race(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	stores := []*Store{mustOpenPath(t, path), mustOpenPath(t, path)}
	const n = 200
	for i := range n {
		m := newMessage(msgID(i), time.Duration(i)*time.Millisecond)
		m.Priority = gateway.Priority(i % 3)
		mustCreate(t, stores[0], m)
	}
	const workers = 8
	now := t0.Add(time.Hour)
	claimed := make([][]string, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			s := stores[w%len(stores)]
			for {
				m, err := s.ClaimNext(t.Context(), gateway.Claim{Modem: "imei" + string(rune('A'+w)), Now: now, Lease: time.Hour})
				if err != nil {
					errs[w] = err
					return
				}
				if m == nil {
					return
				}
				claimed[w] = append(claimed[w], m.ID)
			}
		})
	}
	close(start)
	wg.Wait()
	seen := map[string]int{}
	busy := 0
	for w := range workers {
		if errs[w] != nil {
			t.Fatalf("worker %d: %v", w, errs[w])
		}
		if len(claimed[w]) > 0 {
			busy++
		}
		for _, id := range claimed[w] {
			seen[id]++
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages claimed, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s claimed %d times", id, c)
		}
	}
	t.Logf("%d of %d workers got messages", busy, workers)
	var sending int
	if err := stores[1].r.QueryRowContext(t.Context(), `SELECT count(*) FROM messages WHERE status = 'sending'`).Scan(&sending); err != nil {
		t.Fatal(err)
	}
	if sending != n {
		t.Errorf("%d messages sending, want %d", sending, n)
	}
}

// The claim must walk the partial index, not scan the table or sort it,
// or it slows down with the queue's length.
func TestClaimNext_Plan(t *testing.T) {
	s := mustOpen(t)
	// A skewed queue: most of it pinned to one modem, the rest shared.
	mustFill(t, s, 0, 1500, "imeiZ")
	mustFill(t, s, 1500, 500, "")
	for _, analyzed := range []bool{false, true} {
		if analyzed {
			// What PRAGMA optimize may do on a long-lived database.
			if _, err := s.w.ExecContext(t.Context(), `ANALYZE`); err != nil {
				t.Fatal(err)
			}
		}
		text := queryPlan(t, s, claimSQL, "imeiA", fmtTime(t0), fmtTime(t0))
		if got := strings.Count(text, "USING INDEX messages_claim (pin=?)"); got != 2 {
			t.Errorf("analyzed=%v: plan uses messages_claim %d times, want 2:\n%s", analyzed, got, text)
		}
		if strings.Contains(text, "SCAN messages") {
			t.Errorf("analyzed=%v: plan scans messages:\n%s", analyzed, text)
		}
		// The only sort allowed is the final one over the two candidates.
		if got := strings.Count(text, "TEMP B-TREE"); got > 1 {
			t.Errorf("analyzed=%v: plan sorts %d times:\n%s", analyzed, got, text)
		}
	}
}

func queryPlan(t *testing.T, s *Store, q string, args ...any) string {
	t.Helper()
	if s.pg {
		t.Skip("EXPLAIN QUERY PLAN is SQLite's")
	}
	rows, err := s.w.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

func TestTransitions(t *testing.T) {
	now := t0.Add(time.Minute)
	setup := func(t *testing.T, segments int) *Store {
		t.Helper()
		s := mustOpen(t)
		m := newMessage("msg_1", 0)
		m.Segments = segments
		mustCreate(t, s, m)
		if claimedID(mustClaim(t, s, "imeiA", now)) != "msg_1" {
			t.Fatal("claim failed")
		}
		return s
	}
	statuses := func(m *gateway.Message) []gateway.Status {
		var st []gateway.Status
		for _, p := range m.Parts {
			st = append(st, p.Status)
		}
		return st
	}

	t.Run("SentAfterEveryPart", func(t *testing.T) {
		s := setup(t, 2)
		if err := s.PartSent(t.Context(), "msg_1", 1, "imeiA", 255, now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "Sent with a part unsent", s.Sent(t.Context(), "msg_1", now), gateway.ErrConflict)
		if err := s.PartSent(t.Context(), "msg_1", 2, "imeiA", 0, now.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.Sent(t.Context(), "msg_1", now.Add(3*time.Second)); err != nil {
			t.Fatal(err)
		}
		m := mustMessage(t, s, "msg_1")
		if m.Status != gateway.StatusSent || !m.SentAt.Equal(now.Add(3*time.Second)) {
			t.Errorf("status %s sent_at %v", m.Status, m.SentAt)
		}
		if p := m.Parts[0]; !p.HasMR || p.MR != 255 || p.Modem != "imeiA" || !p.SentAt.Equal(now.Add(time.Second)) {
			t.Errorf("part 1 = %+v", p)
		}
		if p := m.Parts[1]; !p.HasMR || p.MR != 0 {
			t.Errorf("part 2 = %+v, want MR 0 recorded", p)
		}
		// A sent message is not claimable, even long after its lease.
		if got := claimedID(mustClaim(t, s, "imeiA", now.Add(24*time.Hour))); got != "" {
			t.Errorf("claimed %s after Sent", got)
		}
		if err := s.Sent(t.Context(), "msg_1", now.Add(time.Hour)); err != nil {
			t.Errorf("Sent again: %v", err)
		}
		if m := mustMessage(t, s, "msg_1"); !m.SentAt.Equal(now.Add(3 * time.Second)) {
			t.Errorf("Sent again moved sent_at to %v", m.SentAt)
		}
	})

	t.Run("LastPartSent", func(t *testing.T) {
		s := setup(t, 2)
		wantErr(t, "mr out of range", s.LastPartSent(t.Context(), "msg_1", 2, "imeiA", 256, now), gateway.ErrInvalid)
		wantErr(t, "unknown message", s.LastPartSent(t.Context(), "msg_x", 1, "imeiA", 1, now), gateway.ErrNotFound)
		// With part 1 still unsent, part 2 is recorded and the message
		// stays sending.
		wantErr(t, "with a part unsent", s.LastPartSent(t.Context(), "msg_1", 2, "imeiA", 8, now), gateway.ErrConflict)
		if m := mustMessage(t, s, "msg_1"); m.Status != gateway.StatusSending || !m.Parts[1].HasMR || m.Parts[1].MR != 8 {
			t.Fatalf("after a premature LastPartSent: %s, part 2 %+v", m.Status, m.Parts[1])
		}
		if err := s.LastPartSent(t.Context(), "msg_1", 1, "imeiA", 9, now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		m := mustMessage(t, s, "msg_1")
		if m.Status != gateway.StatusSent || !m.SentAt.Equal(now.Add(time.Second)) {
			t.Errorf("status %s sent_at %v, want sent at %v", m.Status, m.SentAt, now.Add(time.Second))
		}
		if p := m.Parts[0]; !p.HasMR || p.MR != 9 || p.Modem != "imeiA" || p.Status != gateway.StatusSent {
			t.Errorf("part 1 = %+v", p)
		}
		evs, err := s.EventsAfter(t.Context(), 0, 10)
		if err != nil || len(evs) != 2 || evs[1].Type != "message.sent" {
			t.Errorf("events %+v, %v; want message.queued, message.sent", evs, err)
		}
	})

	t.Run("RetryKeepsSentParts", func(t *testing.T) {
		s := setup(t, 3)
		if err := s.PartSent(t.Context(), "msg_1", 1, "imeiA", 7, now); err != nil {
			t.Fatal(err)
		}
		next := now.Add(5 * time.Minute)
		if err := s.Retry(t.Context(), "msg_1", next, "+CMS ERROR: 38", true); err != nil {
			t.Fatal(err)
		}
		m := mustMessage(t, s, "msg_1")
		if m.Status != gateway.StatusQueued || m.Attempts != 1 || m.Error != "+CMS ERROR: 38" || !m.NextAttempt.Equal(next) {
			t.Errorf("after Retry %+v", m)
		}
		if got, want := statuses(m), []gateway.Status{"sent", "queued", "queued"}; !reflect.DeepEqual(got, want) {
			t.Errorf("parts %v, want %v", got, want)
		}
		if got := claimedID(mustClaim(t, s, "imeiB", next.Add(-1))); got != "" {
			t.Errorf("claimed %s before next_attempt", got)
		}
		m = mustClaim(t, s, "imeiB", next)
		if claimedID(m) != "msg_1" || m.Modem != "imeiB" {
			t.Fatalf("reclaim got %v", m)
		}
		// Not the message's fault: no attempt counted.
		if err := s.Retry(t.Context(), "msg_1", next, "modem unplugged", false); err != nil {
			t.Fatal(err)
		}
		if m := mustMessage(t, s, "msg_1"); m.Attempts != 1 {
			t.Errorf("attempts %d after an uncounted retry, want 1", m.Attempts)
		}
		wantErr(t, "Retry of a queued message", s.Retry(t.Context(), "msg_1", next, "x", true), gateway.ErrConflict)
		wantErr(t, "Retry of an unknown message", s.Retry(t.Context(), "msg_x", next, "x", true), gateway.ErrNotFound)
	})

	t.Run("Fail", func(t *testing.T) {
		s := setup(t, 2)
		if err := s.PartSent(t.Context(), "msg_1", 1, "imeiA", 7, now); err != nil {
			t.Fatal(err)
		}
		if err := s.Fail(t.Context(), "msg_1", "too many attempts", now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		m := mustMessage(t, s, "msg_1")
		if m.Status != gateway.StatusFailed || m.Error != "too many attempts" || !m.FinishedAt.Equal(now.Add(time.Second)) {
			t.Errorf("after Fail %+v", m)
		}
		if got, want := statuses(m), []gateway.Status{"sent", "failed"}; !reflect.DeepEqual(got, want) {
			t.Errorf("parts %v, want %v", got, want)
		}
		if m.Parts[1].Error != "too many attempts" {
			t.Errorf("failed part error %q", m.Parts[1].Error)
		}
		wantErr(t, "Fail twice", s.Fail(t.Context(), "msg_1", "again", now), gateway.ErrConflict)
		wantErr(t, "Fail unknown", s.Fail(t.Context(), "msg_x", "again", now), gateway.ErrNotFound)
		wantErr(t, "PartSent on a failed part", s.PartSent(t.Context(), "msg_1", 2, "imeiA", 8, now), gateway.ErrConflict)
		if got := claimedID(mustClaim(t, s, "imeiA", now.Add(time.Hour))); got != "" {
			t.Errorf("claimed failed message %s", got)
		}
	})

	t.Run("PartSentErrors", func(t *testing.T) {
		s := setup(t, 1)
		wantErr(t, "unknown part", s.PartSent(t.Context(), "msg_1", 2, "imeiA", 1, now), gateway.ErrNotFound)
		wantErr(t, "unknown message", s.PartSent(t.Context(), "msg_x", 1, "imeiA", 1, now), gateway.ErrNotFound)
		wantErr(t, "mr out of range", s.PartSent(t.Context(), "msg_1", 1, "imeiA", 256, now), gateway.ErrInvalid)
		wantErr(t, "Sent unknown", s.Sent(t.Context(), "msg_x", now), gateway.ErrNotFound)
	})
}

func TestExpireDue(t *testing.T) {
	s := mustOpen(t)
	add := func(id string, expires time.Duration) {
		m := newMessage(id, 0)
		if expires != 0 {
			m.ExpiresAt = t0.Add(expires)
		}
		mustCreate(t, s, m)
	}
	add("msg_never", 0)
	add("msg_early", time.Minute)
	add("msg_exact", 2*time.Minute)
	add("msg_late", time.Hour)
	add("msg_claimed", time.Minute)
	if _, err := s.w.ExecContext(t.Context(), `UPDATE messages SET pin = 'imeiZ' WHERE id <> 'msg_claimed'`); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, s, "imeiA", t0) // msg_claimed, sending: not the expiry's business

	n, err := s.ExpireDue(t.Context(), t0.Add(2*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("ExpireDue = %d, %v; want 2", n, err)
	}
	want := map[string]gateway.Status{
		"msg_never": gateway.StatusQueued, "msg_early": gateway.StatusExpired, "msg_exact": gateway.StatusExpired,
		"msg_late": gateway.StatusQueued, "msg_claimed": gateway.StatusSending,
	}
	for id, st := range want {
		m := mustMessage(t, s, id)
		if m.Status != st || m.Parts[0].Status != st {
			t.Errorf("%s: status %s part %s, want %s", id, m.Status, m.Parts[0].Status, st)
		}
		if st == gateway.StatusExpired && !m.FinishedAt.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("%s finished_at %v", id, m.FinishedAt)
		}
	}
	if n, err := s.ExpireDue(t.Context(), t0.Add(2*time.Minute)); err != nil || n != 0 {
		t.Errorf("second ExpireDue = %d, %v; want 0", n, err)
	}
}

func TestNextDue(t *testing.T) {
	s := mustOpen(t)
	now := t0.Add(time.Minute)
	check := func(name string, want time.Time) {
		t.Helper()
		got, err := s.NextDue(t.Context(), now)
		if err != nil {
			t.Fatalf("%s: NextDue: %v", name, err)
		}
		if !got.Equal(want) {
			t.Errorf("%s: NextDue = %v, want %v", name, got, want)
		}
	}
	check("empty", time.Time{})

	mustCreate(t, s, newMessage("msg_now", 0)) // due already: not a timer
	check("only due messages", time.Time{})

	m := newMessage("msg_sched", time.Second)
	m.SendAt = now.Add(time.Hour)
	mustCreate(t, s, m)
	check("scheduled", now.Add(time.Hour))

	m = newMessage("msg_both", 2*time.Second)
	m.SendAt = now.Add(10 * time.Minute)
	m.NextAttempt = now.Add(50 * time.Minute) // the later of the two counts
	mustCreate(t, s, m)
	check("send_at and next_attempt", now.Add(50*time.Minute))

	c := gateway.Claim{Modem: "imeiA", Now: now, Lease: 20 * time.Minute}
	if got, err := s.ClaimNext(t.Context(), c); err != nil || claimedID(got) != "msg_now" {
		t.Fatalf("claim: %v %v", claimedID(got), err)
	}
	check("lease end", now.Add(20*time.Minute))

	if err := s.PartSent(t.Context(), "msg_now", 1, "imeiA", 1, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Sent(t.Context(), "msg_now", now); err != nil {
		t.Fatal(err)
	}
	check("lease released", now.Add(50*time.Minute))
	if _, err := s.CancelMessage(t.Context(), "msg_both", now); err != nil {
		t.Fatal(err)
	}
	check("canceled ignored", now.Add(time.Hour))

	m = newMessage("msg_equal", 3*time.Second)
	m.SendAt, m.NextAttempt = now.Add(30*time.Minute), now.Add(30*time.Minute)
	mustCreate(t, s, m)
	check("send_at equal to next_attempt", now.Add(30*time.Minute))

	m = newMessage("msg_retry_only", 4*time.Second)
	m.NextAttempt = now.Add(5 * time.Minute)
	mustCreate(t, s, m)
	check("next_attempt alone", now.Add(5*time.Minute))

	// Each half must walk an index from now, not scan the queue.
	plan := queryPlan(t, s, nextDueSQL, fmtTime(now))
	for _, idx := range []string{"messages_send_at", "messages_next_attempt", "messages_lease"} {
		if !strings.Contains(plan, "INDEX "+idx+" (") {
			t.Errorf("NextDue plan does not use %s:\n%s", idx, plan)
		}
	}
	if strings.Contains(plan, "SCAN messages") {
		t.Errorf("NextDue plan scans messages:\n%s", plan)
	}
	// A message sent at once (send_at and next_attempt empty) is in
	// neither index while it is queued, so that its accept and claim write
	// no entry there (0102_next_due_partial).
	for _, col := range []string{"send_at", "next_attempt"} {
		var def string
		if err := s.r.QueryRowContext(t.Context(), `SELECT sql FROM sqlite_master WHERE name = ?`, "messages_"+col).Scan(&def); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(def, col+" <> ''") {
			t.Errorf("messages_%s holds the messages sent at once: %s", col, def)
		}
	}
}

func TestRecoverLeases(t *testing.T) {
	s := mustOpen(t)
	now := t0.Add(time.Minute)
	m := newMessage("msg_inflight", 0)
	m.Segments = 2
	mustCreate(t, s, m)
	mustCreate(t, s, newMessage("msg_sent", time.Second))
	mustCreate(t, s, newMessage("msg_waiting", 2*time.Second))
	mustClaim(t, s, "imeiA", now)
	if err := s.PartSent(t.Context(), "msg_inflight", 1, "imeiA", 3, now); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, s, "imeiA", now)
	if err := s.PartSent(t.Context(), "msg_sent", 1, "imeiA", 4, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Sent(t.Context(), "msg_sent", now); err != nil {
		t.Fatal(err)
	}

	// Restart, a second later: the lease of msg_inflight still runs.
	restart := now.Add(time.Second)
	n, err := s.RecoverLeases(t.Context(), restart)
	if err != nil || n != 1 {
		t.Fatalf("RecoverLeases = %d, %v; want 1", n, err)
	}
	got := mustMessage(t, s, "msg_inflight")
	if got.Status != gateway.StatusQueued || got.Attempts != 0 {
		t.Errorf("recovered message: %s, %d attempts; want queued, 0", got.Status, got.Attempts)
	}
	if got.Parts[0].Status != gateway.StatusSent || got.Parts[0].MR != 3 || got.Parts[1].Status != gateway.StatusQueued {
		t.Errorf("recovered parts %+v", got.Parts)
	}
	if st := mustMessage(t, s, "msg_sent").Status; st != gateway.StatusSent {
		t.Errorf("msg_sent became %s", st)
	}
	if id := claimedID(mustClaim(t, s, "imeiB", restart)); id != "msg_inflight" {
		t.Errorf("first claim after recovery got %q, want msg_inflight at once", id)
	}
	if n, err := s.RecoverLeases(t.Context(), restart); err != nil || n != 1 {
		t.Errorf("RecoverLeases of the new claim = %d, %v; want 1", n, err)
	}
}
