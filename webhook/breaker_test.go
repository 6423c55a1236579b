package webhook

import (
	"log/slog"
	"testing"
	"time"
)

// TestBreakers walks one endpoint through the breaker: parked after
// ParkAfter failures in a row, 5 min doubling to 1 h, a failed trial parks
// it again at once, an answer resets the count, a 2xx closes it.
func TestBreakers(t *testing.T) {
	cfg := Config{ParkAfter: 5, FirstPark: 5 * time.Minute, MaxPark: time.Hour}
	log := slog.New(slog.DiscardHandler)
	var bs breakers
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const ep = "wh_a"
	fail := func(k int) {
		for range k {
			bs.failed(ep, now, cfg, log)
		}
	}
	// parkedFor returns how long ep stays parked from now, unparking it.
	parkedFor := func() time.Duration {
		t.Helper()
		if !bs.parked(ep, now, log) {
			return 0
		}
		start := now
		for i := 0; bs.parked(ep, now, log); i++ {
			if i > 200 {
				t.Fatal("parked for more than 200 minutes")
			}
			now = now.Add(time.Minute)
		}
		return now.Sub(start)
	}

	fail(4)
	if d := parkedFor(); d != 0 {
		t.Fatalf("parked after 4 failures, for %s", d)
	}
	bs.answered(ep, false, log) // a 500 is an answer: the count starts again
	fail(4)
	if d := parkedFor(); d != 0 {
		t.Fatalf("parked after an answer and 4 failures, for %s", d)
	}
	fail(1)
	if d := parkedFor(); d != 5*time.Minute {
		t.Fatalf("after 5 failures parked for %s, want 5m", d)
	}
	// Each failed trial parks it again at once, twice as long, up to 1 h.
	for _, want := range []time.Duration{10 * time.Minute, 20 * time.Minute, 40 * time.Minute, time.Hour, time.Hour} {
		fail(1)
		if d := parkedFor(); d != want {
			t.Fatalf("after a failed trial parked for %s, want %s", d, want)
		}
	}
	// An answer that is no 2xx ends the trial: five failures again.
	bs.answered(ep, false, log)
	fail(4)
	if d := parkedFor(); d != 0 {
		t.Fatalf("parked after a non-2xx answer and 4 failures, for %s", d)
	}
	fail(1)
	if d := parkedFor(); d != time.Hour {
		t.Fatalf("parked again for %s, want still 1h before a 2xx", d)
	}
	// A 2xx closes it: the next park is 5 min again.
	bs.answered(ep, true, log)
	fail(5)
	if d := parkedFor(); d != 5*time.Minute {
		t.Fatalf("after a 2xx and 5 failures parked for %s, want 5m", d)
	}
	bs.forget(ep)
	if len(bs.m) != 0 {
		t.Errorf("forget left %v", bs.m)
	}
}
