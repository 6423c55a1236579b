package main

import (
	"io"
	"testing"
)

// A seed gives the same schedule of faults every time, and another seed
// another one; every kind comes up.
func TestChaos_ScheduleFollowsTheSeed(t *testing.T) {
	draws := func(seed uint64) []chaosDraw {
		c := newChaos(&simulator{}, seed, io.Discard, false)
		var out []chaosDraw
		for range 2000 {
			out = append(out, c.draw(4))
		}
		return out
	}
	a, b, other := draws(7), draws(7), draws(8)
	kinds := map[string]bool{}
	same := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draw %d with seed 7: %+v, then %+v", i, a[i], b[i])
		}
		if a[i] == other[i] {
			same++
		}
		kinds[a[i].kind] = true
	}
	if same == len(a) {
		t.Error("seeds 7 and 8 drew the same schedule")
	}
	for _, k := range chaosKinds {
		if !kinds[k.kind] {
			t.Errorf("kind %s never drawn in %d draws", k.kind, len(a))
		}
	}
}
