package store

import (
	"slices"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func mustUpsertModem(t testing.TB, s *Store, m gateway.ModemInfo) {
	t.Helper()
	if err := s.UpsertModem(t.Context(), m); err != nil {
		t.Fatalf("UpsertModem: %v", err)
	}
}

func TestStore_ModemSamples(t *testing.T) {
	s := mustOpen(t)
	const imei = "356938035643809"
	poll := func(at time.Duration, state gateway.ModemState, dbm int) {
		mustUpsertModem(t, s, gateway.ModemInfo{IMEI: imei, State: state, DBM: dbm, SignalKnown: true, UpdatedAt: t0.Add(at)})
	}
	poll(0, gateway.ModemOnline, -71)
	poll(30*time.Second, gateway.ModemOnline, -73)                                   // too soon: skipped
	poll(time.Minute, gateway.ModemOffline, -73)                                     // state change: kept
	poll(90*time.Second, gateway.ModemOnline, -75)                                   // state change: kept
	poll(3*time.Minute, gateway.ModemOnline, -77)                                    // too soon: skipped
	poll(7*time.Minute, gateway.ModemOnline, -79)                                    // 5 min after the last: kept
	poll(8*24*time.Hour, gateway.ModemOnline, -81)                                   // kept, and prunes the week-old ones
	mustUpsertModem(t, s, gateway.ModemInfo{IMEI: imei, State: gateway.ModemOnline}) // no time: ignored

	got, err := s.ModemSamples(t.Context(), imei, t0)
	if err != nil {
		t.Fatal(err)
	}
	var dbms []int
	for _, sm := range got {
		dbms = append(dbms, sm.DBM)
	}
	if want := []int{-81}; !slices.Equal(dbms, want) {
		t.Errorf("after pruning: dBm of samples = %v, want %v", dbms, want)
	}

	s2 := mustOpen(t)
	for _, p := range []struct {
		at    time.Duration
		state gateway.ModemState
		dbm   int
	}{{0, gateway.ModemOnline, -71}, {30 * time.Second, gateway.ModemOnline, -73}, {time.Minute, gateway.ModemOffline, -73},
		{90 * time.Second, gateway.ModemOnline, -75}, {3 * time.Minute, gateway.ModemOnline, -77}, {7 * time.Minute, gateway.ModemOnline, -79}} {
		mustUpsertModem(t, s2, gateway.ModemInfo{IMEI: imei, State: p.state, DBM: p.dbm, SignalKnown: true, UpdatedAt: t0.Add(p.at)})
	}
	got, err = s2.ModemSamples(t.Context(), imei, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	dbms = dbms[:0]
	for _, sm := range got {
		dbms = append(dbms, sm.DBM)
	}
	if want := []int{-73, -75, -79}; !slices.Equal(dbms, want) {
		t.Errorf("dBm of samples since t0+1s = %v, want %v", dbms, want)
	}
	if got[0].State != gateway.ModemOffline || !got[1].SignalKnown {
		t.Errorf("samples = %+v: states or signal lost", got)
	}
}

func TestStore_RecentErrors(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	const a, b = "356938035643809", "490154203237518"
	mustUpsertModem(t, s, gateway.ModemInfo{IMEI: a, State: gateway.ModemOffline, LastError: "modem gone",
		LastErrorAt: t0, UpdatedAt: t0})
	// The same error seen again by a later upsert is not a new one.
	mustUpsertModem(t, s, gateway.ModemInfo{IMEI: a, State: gateway.ModemOffline, LastError: "modem gone",
		LastErrorAt: t0, UpdatedAt: t0.Add(time.Minute)})
	mustUpsertModem(t, s, gateway.ModemInfo{IMEI: b, State: gateway.ModemError, LastError: "open: no such file",
		LastErrorAt: t0.Add(2 * time.Minute), UpdatedAt: t0.Add(2 * time.Minute)})
	m := mustCreate(t, s, newMessage("msg_1", 0))
	mustClaim(t, s, a, t0)
	if err := s.Fail(ctx, m.ID, "+CMS ERROR: 21", t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		imei string
		want []string
	}{
		{"All", "", []string{"+CMS ERROR: 21", "open: no such file", "modem gone"}},
		{"OneModem", a, []string{"+CMS ERROR: 21", "modem gone"}},
		{"OtherModem", b, []string{"open: no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := s.RecentErrors(ctx, tt.imei, 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range evs {
				got = append(got, e.Error)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("RecentErrors(%q) = %q, want %q", tt.imei, got, tt.want)
			}
		})
	}
	evs, err := s.RecentErrors(ctx, a, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Message != "msg_1" || !evs[0].At.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("RecentErrors(a, 1) = %+v, want the failure of msg_1", evs)
	}
}

func TestStore_HourlySendsAndDelivered(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	const a, b = "356938035643809", "490154203237518"
	send := func(id string, modem string, at time.Time) {
		mustCreate(t, s, newMessage(id, at.Sub(t0)))
		if got := mustClaim(t, s, modem, at); got == nil || got.ID != id {
			t.Fatalf("claim %s: got %v", id, got)
		}
		if err := s.PartSent(ctx, id, 1, modem, 1, at); err != nil {
			t.Fatal(err)
		}
		if err := s.Sent(ctx, id, at); err != nil {
			t.Fatal(err)
		}
	}
	send("msg_1", a, t0.Add(5*time.Minute))
	send("msg_2", a, t0.Add(10*time.Minute))
	send("msg_3", b, t0.Add(20*time.Minute))
	send("msg_4", a, t0.Add(65*time.Minute))
	if _, err := s.ApplyReport(ctx, gateway.Report{Modem: a, MR: 1, Recipient: "4155550101", Code: 0,
		Class: "delivered", At: t0.Add(70 * time.Minute), Window: time.Hour}); err != nil {
		t.Fatal(err)
	}

	got, err := s.HourlySends(ctx, a, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := []gateway.HourCount{{Hour: t0, Sent: 2}, {Hour: t0.Add(time.Hour), Sent: 1}}
	if !slices.Equal(got, want) {
		t.Errorf("HourlySends(a) = %+v, want %+v", got, want)
	}
	all, err := s.HourlySends(ctx, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Sent != 3 {
		t.Errorf("HourlySends(all) = %+v, want 3 then 1", all)
	}
	depth, err := s.QueueDepth(ctx)
	if err != nil || depth != 0 {
		t.Errorf("QueueDepth = %d, %v; want 0", depth, err)
	}
	mustCreate(t, s, newMessage("msg_5", 2*time.Hour))
	if depth, _ = s.QueueDepth(ctx); depth != 1 {
		t.Errorf("QueueDepth with one queued = %d, want 1", depth)
	}
	del, err := s.DeliveredSince(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if del[a] != 1 || del[b] != 0 {
		t.Errorf("DeliveredSince = %v, want one for %s", del, a)
	}
	if del, _ = s.DeliveredSince(ctx, t0.Add(2*time.Hour)); len(del) != 0 {
		t.Errorf("DeliveredSince later = %v, want none", del)
	}
}

func TestStore_MessagesFilter(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	for i, to := range []string{"+14155550101", "+14155550102", "+442071838750"} {
		m := newMessage("msg_"+string(rune('a'+i)), time.Duration(i)*time.Minute)
		m.To = to
		m.Text = "code " + to[len(to)-4:]
		mustCreate(t, s, m)
	}
	mustClaim(t, s, "356938035643809", t0.Add(time.Hour)) // the oldest, msg_a

	tests := []struct {
		name     string
		q        gateway.MessageFilter
		want     []string
		wantMore bool
	}{
		{"All", gateway.MessageFilter{}, []string{"msg_c", "msg_b", "msg_a"}, false},
		{"Number", gateway.MessageFilter{Number: "4155"}, []string{"msg_b", "msg_a"}, false},
		{"NumberIsNoPattern", gateway.MessageFilter{Number: "%"}, nil, false},
		{"Text", gateway.MessageFilter{Text: "8750"}, []string{"msg_c"}, false},
		{"Status", gateway.MessageFilter{Status: gateway.StatusSending}, []string{"msg_a"}, false},
		{"Modem", gateway.MessageFilter{Modem: "356938035643809"}, []string{"msg_a"}, false},
		{"Range", gateway.MessageFilter{From: t0.Add(time.Minute), Until: t0.Add(2 * time.Minute)}, []string{"msg_b"}, false},
		{"Page1", gateway.MessageFilter{Limit: 2}, []string{"msg_c", "msg_b"}, true},
		{"Page2", gateway.MessageFilter{Limit: 2, Offset: 2}, []string{"msg_a"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, next, err := s.Messages(ctx, tt.q)
			more := next != ""
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range msgs {
				got = append(got, m.ID)
				if len(m.Parts) != m.Segments {
					t.Errorf("%s has %d parts loaded, want %d", m.ID, len(m.Parts), m.Segments)
				}
			}
			if !slices.Equal(got, tt.want) || more != tt.wantMore {
				t.Errorf("Messages(%+v) = %v, more %v; want %v, more %v", tt.q, got, more, tt.want, tt.wantMore)
			}
		})
	}
}
