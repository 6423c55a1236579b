package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func TestModems(t *testing.T) {
	s := mustOpen(t)
	a := gateway.ModemInfo{IMEI: "356938035643809", Port: "/dev/ttyUSB2", Manufacturer: "Quectel", Model: "EC25",
		Revision: "EC25EFAR06A06M4G", IMSI: "262011234567890", ICCID: "8949020000000000001", Number: "+4915112345678",
		Operator: "Telekom.de", Registration: "home", Roaming: true, CSQ: 21, DBM: -71, Bars: 4, SignalKnown: true,
		State: gateway.ModemOnline, LastError: "+CME ERROR: 10", LastErrorAt: t0, UpdatedAt: t0.Add(time.Second)}
	if err := s.UpsertModem(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertModem(t.Context(), gateway.ModemInfo{IMEI: "111111111111111"}); err != nil {
		t.Fatal(err)
	}
	// Replugged: new port, same IMEI, same row.
	a.Port, a.State, a.UpdatedAt = "/dev/ttyUSB5", gateway.ModemNotRegistered, t0.Add(time.Minute)
	if err := s.UpsertModem(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	ms, err := s.Modems(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("%d modems, want 2", len(ms))
	}
	if ms[0].IMEI != "111111111111111" || ms[0].State != gateway.ModemOffline {
		t.Errorf("bare modem read back as %+v", ms[0])
	}
	got := ms[1]
	if !got.LastErrorAt.Equal(a.LastErrorAt) || !got.UpdatedAt.Equal(a.UpdatedAt) {
		t.Errorf("times %v %v, want %v %v", got.LastErrorAt, got.UpdatedAt, a.LastErrorAt, a.UpdatedAt)
	}
	got.LastErrorAt, got.UpdatedAt, a.LastErrorAt, a.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if s.pg {
		a.Host = s.host // this host's modem
	}
	if !reflect.DeepEqual(got, a) {
		t.Errorf("got %+v, want %+v", got, a)
	}
	wantErr(t, "empty IMEI", s.UpsertModem(t.Context(), gateway.ModemInfo{}), gateway.ErrInvalid)
	if err := s.UpsertModem(t.Context(), gateway.ModemInfo{IMEI: "2", State: "sleepy"}); err == nil {
		t.Error("unknown state stored, want a CHECK failure")
	}
}

func TestModemCounters(t *testing.T) {
	s := mustOpen(t)
	day := t0
	now := day.Add(time.Hour)
	add := func(id, pin string, segments int) {
		m := newMessage(id, now.Sub(t0))
		m.Pin, m.Segments = pin, segments
		mustCreate(t, s, m)
	}
	// Yesterday imeiA sent one part: not today's.
	add("msg_yesterday", "imeiA", 1)
	mustClaim(t, s, "imeiA", now)
	if err := s.PartSent(t.Context(), "msg_yesterday", 1, "imeiA", 1, day.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Sent(t.Context(), "msg_yesterday", now); err != nil {
		t.Fatal(err)
	}
	add("msg_sent", "imeiA", 2)
	mustClaim(t, s, "imeiA", now)
	for i := 1; i <= 2; i++ {
		if err := s.PartSent(t.Context(), "msg_sent", i, "imeiA", i+1, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sent(t.Context(), "msg_sent", now); err != nil {
		t.Fatal(err)
	}
	add("msg_failed", "imeiA", 1)
	mustClaim(t, s, "imeiA", now)
	if err := s.Fail(t.Context(), "msg_failed", "rejected", now); err != nil {
		t.Fatal(err)
	}
	add("msg_sending", "", 1)
	mustClaim(t, s, "imeiA", now) // sending on imeiA
	add("msg_pinned_a", "imeiA", 1)
	add("msg_pinned_b", "imeiB", 1)
	add("msg_shared", "", 1)

	tests := []struct {
		imei string
		want gateway.ModemCounters
	}{
		// pinned_a + shared queued, plus the one it is sending.
		{"imeiA", gateway.ModemCounters{QueueDepth: 3, Sent: 2, Failed: 1}},
		{"imeiB", gateway.ModemCounters{QueueDepth: 2}},
		{"imeiC", gateway.ModemCounters{QueueDepth: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.imei, func(t *testing.T) {
			got, err := s.ModemCounters(t.Context(), tt.imei, day)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if n, err := s.SentSince(t.Context(), "imeiA", day.Add(-time.Hour)); err != nil || n != 3 {
		t.Errorf("SentSince = %d, %v; want 3", n, err)
	}
	if n, err := s.SentSince(t.Context(), "imeiA", now.Add(time.Nanosecond)); err != nil || n != 0 {
		t.Errorf("SentSince after the sends = %d, %v; want 0", n, err)
	}
}

// Each host's heartbeat comes back with its modems (HostSeenAt), on a
// shared database; on SQLite, one host, there is none and the modems are
// as before.
func TestHeartbeat(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	if err := s.UpsertModem(ctx, gateway.ModemInfo{IMEI: "111111111111111", State: gateway.ModemOnline, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{t0, t0.Add(7 * time.Second)} {
		if err := s.Heartbeat(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := s.Modems(ctx)
	if err != nil || len(ms) != 1 {
		t.Fatalf("Modems = %v, %v", ms, err)
	}
	want := time.Time{}
	if onPostgres(t) {
		want = t0.Add(7 * time.Second)
	}
	if !ms[0].HostSeenAt.Equal(want) || ms[0].State != gateway.ModemOnline {
		t.Errorf("modem %s: host seen at %v, want %v", ms[0].State, ms[0].HostSeenAt, want)
	}
}
