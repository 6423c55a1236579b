package store

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// PostgreSQL's figures for issue 13 (make bench): claim latency with
// 100,000 messages queued, the throughput of the send cycle from three
// hosts against one, and how soon a host's dispatcher wakes at another
// host's enqueue. A "host" is a Store of its own on the same database.

func pgBench(b *testing.B) string {
	b.Helper()
	if pg == nil {
		b.Skip("no PostgreSQL")
	}
	return pg.Schema(b)
}

// BenchmarkPostgresClaim100k claims (and sends) from a queue of 100,000
// messages, a third of them pinned to other modems.
func BenchmarkPostgresClaim100k(b *testing.B) {
	s := mustOpenPath(b, pgBench(b))
	mustFill(b, s, 0, 33_000, "imeiOther")
	mustFill(b, s, 33_000, 67_000, "")
	now := t0.Add(time.Hour)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m, err := s.ClaimNext(b.Context(), gateway.Claim{Modem: "imeiA", Now: now, Lease: time.Minute})
		if err != nil || m == nil {
			b.Fatalf("claim %d: %v, %v", i, m, err)
		}
		if err := s.LastPartSent(b.Context(), m.ID, 1, "imeiA", i%256, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPostgresHosts runs the send cycle (claim, record the part sent)
// with two workers per host, on one host and on three: msgs/s is the
// aggregate.
func BenchmarkPostgresHosts(b *testing.B) {
	for _, hosts := range []int{1, 3} {
		b.Run(fmt.Sprintf("hosts=%d", hosts), func(b *testing.B) {
			url := pgBench(b)
			stores := make([]*Store, hosts)
			for i := range stores {
				stores[i] = openHost(b, url, fmt.Sprint("h", i))
			}
			mustFill(b, stores[0], 0, b.N, "")
			var left atomic.Int64
			left.Store(int64(b.N))
			now := t0.Add(time.Hour)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for h, s := range stores {
				for w := 0; w < 2; w++ {
					wg.Add(1)
					go func(s *Store, modem string) {
						defer wg.Done()
						for left.Add(-1) >= 0 {
							m, err := s.ClaimNext(b.Context(), gateway.Claim{Modem: modem, Now: now, Lease: time.Minute})
							if err != nil || m == nil {
								left.Add(1) // a claim that passed over a locked row: try again
								continue
							}
							if err := s.LastPartSent(gateway.WithLease(b.Context(), m.LeaseUntil), m.ID, 1, modem, 1, now); err != nil {
								b.Error(err)
								return
							}
						}
					}(s, fmt.Sprintf("imei%d_%d", h, w))
				}
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// BenchmarkPostgresWakeAcrossHosts is the time from host A's enqueue
// (its commit returning) to host B's dispatcher being woken.
func BenchmarkPostgresWakeAcrossHosts(b *testing.B) {
	url := pgBench(b)
	a, bb := mustOpenPath(b, url), mustOpenPath(b, url)
	<-bb.listen.ready
	woken := make(chanWaker, 1)
	bb.WakeOnEnqueue(woken)
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		select { // a wake-up left from before
		case <-woken:
		default:
		}
		m := newMessage(msgID(i), time.Duration(i))
		start := time.Now()
		if _, _, err := a.CreateMessage(b.Context(), m, gateway.IdempotencyKey{}); err != nil {
			b.Fatal(err)
		}
		select {
		case <-woken:
		case <-time.After(10 * time.Second):
			b.Fatal("host B not woken")
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
