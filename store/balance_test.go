package store

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// TestRecordBalance: a reading shows in Modems; modem.balance_low is
// appended once per crossing below the threshold, in the reading's own
// transaction, and modem.updated when the amount changes otherwise.
func TestRecordBalance(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	const imei = "356938035643809"
	if err := s.UpsertModem(ctx, gateway.ModemInfo{IMEI: imei, State: gateway.ModemOnline, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	start, err := s.LastEventSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	read := func(amount float64, at time.Duration) {
		t.Helper()
		b := gateway.Balance{Amount: amount, Reply: "Balance", Threshold: 5, HasThreshold: true, Low: amount < 5, CheckedAt: t0.Add(at)}
		if err := s.RecordBalance(ctx, imei, b); err != nil {
			t.Fatal(err)
		}
	}
	read(12.5, time.Hour)   // first reading: updated
	read(12.5, 2*time.Hour) // no change: nothing
	read(4, 3*time.Hour)    // crossing: balance_low
	read(3, 4*time.Hour)    // still low: updated only
	read(9, 5*time.Hour)    // back up: updated
	read(1, 6*time.Hour)    // crossing again: balance_low

	evs, err := s.EventsAfter(ctx, start, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
		if e.Subject != imei {
			t.Errorf("event %s about %q, want the modem", e.Type, e.Subject)
		}
	}
	want := []string{gateway.EventModemUpdated, gateway.EventModemBalanceLow, gateway.EventModemUpdated,
		gateway.EventModemUpdated, gateway.EventModemBalanceLow}
	if len(types) != len(want) {
		t.Fatalf("events %q, want %q", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("events %q, want %q", types, want)
		}
	}
	var data gateway.BalanceLowData
	if err := json.Unmarshal(evs[1].Data, &data); err != nil || data.Balance != 4 || data.Threshold != 5 || data.IMEI != imei {
		t.Errorf("balance_low data %s (%v)", evs[1].Data, err)
	}

	ms, err := s.Modems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Balance == nil {
		t.Fatalf("modems %+v, want the balance", ms)
	}
	if b := ms[0].Balance; b.Amount != 1 || !b.Low || !b.HasThreshold || b.Threshold != 5 || !b.CheckedAt.Equal(t0.Add(6*time.Hour)) {
		t.Errorf("balance read back as %+v", b)
	}
	// A status update of the modem leaves its balance alone.
	if err := s.UpsertModem(ctx, gateway.ModemInfo{IMEI: imei, State: gateway.ModemOffline, UpdatedAt: t0.Add(7 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if ms, _ := s.Modems(ctx); ms[0].Balance == nil || ms[0].Balance.Amount != 1 {
		t.Errorf("balance after an upsert: %+v", ms[0].Balance)
	}
	if err := s.RecordBalance(ctx, "", gateway.Balance{CheckedAt: t0}); err == nil {
		t.Error("a reading without a modem was stored")
	}
}
