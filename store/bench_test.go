package store

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// durabilities are the two settings, benchmarked side by side.
var durabilities = []Durability{DurabilityNormal, DurabilityFull}

func mustOpenDurability(b *testing.B, d Durability) *Store {
	b.Helper()
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "simgate.db"), nil, WithDurability(d))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkCreateMessage commits messages from one caller and from eight at
// once, whose writes the writer commits together; writes/commit is how
// many shared each transaction.
func BenchmarkCreateMessage(b *testing.B) {
	for _, idem := range []bool{false, true} {
		for _, clients := range []int{1, 8} {
			for _, d := range durabilities {
				b.Run(fmt.Sprintf("idempotency=%v/clients=%d/durability=%s", idem, clients, d), func(b *testing.B) {
					benchCreate(b, mustOpenDurability(b, d), idem, clients)
				})
			}
		}
	}
}

func benchCreate(b *testing.B, s *Store, idem bool, clients int) {
	var next atomic.Int64
	commits := s.wq.commits.Load()
	var wg sync.WaitGroup
	b.ResetTimer()
	for range clients {
		wg.Go(func() {
			for i := int(next.Add(1)); i <= b.N; i = int(next.Add(1)) {
				m := newMessage(msgID(i), time.Duration(i))
				m.Segments = 2
				var k gateway.IdempotencyKey
				if idem {
					k = gateway.IdempotencyKey{APIKey: "app", Key: m.ID, Hash: "h"}
				}
				if _, _, err := s.CreateMessage(b.Context(), m, k); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/float64(s.wq.commits.Load()-commits), "writes/commit")
}

// BenchmarkClaimNext claims from a queue kept at about `queued` messages.
// With pinned-elsewhere, as many again are pinned to another modem ahead of
// them, which the claim must not walk through.
func BenchmarkClaimNext(b *testing.B) {
	for _, bc := range []struct {
		name           string
		queued, pinned int
	}{
		{"queued=10k", 10_000, 0},
		{"queued=100k", 100_000, 0},
		{"queued=10k/pinned-elsewhere=10k", 10_000, 10_000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := mustOpen(b)
			next := 0
			fill := func(n int, pin string) {
				b.Helper()
				mustFill(b, s, next, n, pin)
				next += n
			}
			fill(bc.pinned, "imeiZ")
			fill(bc.queued, "")
			const batch = 10
			now := t0.Add(1000 * time.Hour)
			claimed := 0
			for b.Loop() {
				m, err := s.ClaimNext(b.Context(), gateway.Claim{Modem: "imeiA", Now: now, Lease: time.Minute})
				if err != nil || m == nil {
					b.Fatalf("claim: %v, %v", m, err)
				}
				claimed++
				if claimed%batch == 0 {
					// Settle what was claimed (in real life, a worker holds
					// one lease at a time) and top the queue up.
					b.StopTimer()
					if _, err := s.w.ExecContext(b.Context(), `UPDATE messages SET status = 'sent', lease_until = '' WHERE status = 'sending'`); err != nil {
						b.Fatal(err)
					}
					fill(batch, "")
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(claimed)/b.Elapsed().Seconds(), "claims/s")
		})
	}
}

// BenchmarkClaimCycle is one message's way through the queue, one write
// after the other: create → claim → part sent → sent, the last two as
// separate writes (PartSent, Sent) or one (LastPartSent).
func BenchmarkClaimCycle(b *testing.B) {
	for _, merged := range []bool{false, true} {
		for _, d := range durabilities {
			b.Run(fmt.Sprintf("last-part-sent=%v/durability=%s", merged, d), func(b *testing.B) {
				benchClaimCycle(b, mustOpenDurability(b, d), merged)
			})
		}
	}
}

func benchClaimCycle(b *testing.B, s *Store, merged bool) {
	i := 0
	for b.Loop() {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		mustCreate(b, s, newMessage(msgID(i), now.Sub(t0)))
		m := mustClaim(b, s, "imeiA", now)
		if m == nil {
			b.Fatal("nothing claimed")
		}
		if merged {
			if err := s.LastPartSent(b.Context(), m.ID, 1, "imeiA", i%256, now); err != nil {
				b.Fatal(err)
			}
		} else {
			if err := s.PartSent(b.Context(), m.ID, 1, "imeiA", i%256, now); err != nil {
				b.Fatal(err)
			}
			if err := s.Sent(b.Context(), m.ID, now); err != nil {
				b.Fatal(err)
			}
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkApplyReport matches reports among many sent parts with wrapped
// MRs.
func BenchmarkApplyReport(b *testing.B) {
	s := mustOpen(b)
	const n = 5000
	for i := range n {
		now := t0.Add(time.Duration(i) * time.Second)
		m := newMessage(msgID(i), now.Sub(t0))
		m.To = fmt.Sprintf("+1415555%04d", i%100)
		mustCreate(b, s, m)
		mustClaim(b, s, "imeiA", now)
		if err := s.PartSent(b.Context(), m.ID, 1, "imeiA", i%256, now); err != nil {
			b.Fatal(err)
		}
		if err := s.Sent(b.Context(), m.ID, now); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		k := n - 1 - i%n
		r := gateway.Report{Modem: "imeiA", MR: k % 256, Recipient: fmt.Sprintf("+1415555%04d", k%100),
			Class: "pending", Code: 0x20, At: t0.Add(n * time.Second), Window: 48 * time.Hour}
		if _, err := s.ApplyReport(b.Context(), r); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkNextDue reads the next timer over a large queue, which it scans.
func BenchmarkNextDue(b *testing.B) {
	s := mustOpen(b)
	mustFill(b, s, 0, 100_000, "")
	now := t0.Add(time.Hour)
	for b.Loop() {
		if _, err := s.NextDue(b.Context(), now); err != nil {
			b.Fatal(err)
		}
	}
}
