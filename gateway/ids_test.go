package gateway_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func TestNewID(t *testing.T) {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

	id := gateway.NewID("msg_", t0)
	if len(id) != 4+26 || !strings.HasPrefix(id, "msg_") {
		t.Fatalf("NewID = %q, want msg_ and 26 characters", id)
	}
	for _, r := range id[4:] {
		if !strings.ContainsRune(alphabet, r) {
			t.Fatalf("NewID = %q: %q is not Crockford base32", id, r)
		}
	}
	// The first 10 characters are the millisecond timestamp (ULID layout).
	var ms int64
	for _, r := range id[4:14] {
		ms = ms<<5 | int64(strings.IndexRune(alphabet, r))
	}
	if ms != t0.UnixMilli() {
		t.Errorf("timestamp %d, want %d", ms, t0.UnixMilli())
	}

	t.Run("OrderedWithinAMillisecond", func(t *testing.T) {
		prev := gateway.NewID("msg_", t0.Add(time.Hour))
		for range 10000 {
			id := gateway.NewID("msg_", t0.Add(time.Hour))
			if id <= prev {
				t.Fatalf("%s after %s", id, prev)
			}
			prev = id
		}
	})
	t.Run("OrderedByTime", func(t *testing.T) {
		a := gateway.NewID("in_", t0.Add(2*time.Hour))
		b := gateway.NewID("in_", t0.Add(2*time.Hour+time.Millisecond))
		if b <= a {
			t.Errorf("%s not after %s", b, a)
		}
	})
	t.Run("ClockJitters", func(t *testing.T) {
		a := gateway.NewID("msg_", t0.Add(3*time.Hour))
		b := gateway.NewID("msg_", t0.Add(3*time.Hour-500*time.Millisecond))
		if b <= a {
			t.Errorf("%s not after %s", b, a)
		}
	})
	t.Run("ClockSetBack", func(t *testing.T) {
		a := gateway.NewID("msg_", t0.Add(4*time.Hour))
		b := gateway.NewID("msg_", t0.Add(time.Hour))
		if b[:14] != gateway.NewID("msg_", t0.Add(time.Hour))[:14] || b >= a {
			t.Errorf("%s after %s: a time set an hour back is not carried", b, a)
		}
	})
	t.Run("UniqueConcurrently", func(t *testing.T) {
		seen := make(map[string]bool)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 1000 {
					id := gateway.NewID("msg_", time.Now())
					mu.Lock()
					if seen[id] {
						t.Errorf("duplicate %s", id)
					}
					seen[id] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	})
}

func BenchmarkNewID(b *testing.B) {
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		gateway.NewID("msg_", now)
	}
}
