package dispatch_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/store"
)

// The benchmarks run the real Service, Dispatcher and SQLite store (in
// b.TempDir()) with hand-written zero-latency devices, so what they measure
// is the gateway's own overhead: commit, wake-up, claim, encode, record.

func reportPercentiles(b *testing.B, name string, unit time.Duration, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	pct := func(p float64) float64 {
		return float64(ds[min(int(p*float64(len(ds))), len(ds)-1)]) / float64(unit)
	}
	u := map[time.Duration]string{time.Millisecond: "ms", time.Microsecond: "µs"}[unit]
	b.ReportMetric(pct(0.50), name+"-p50-"+u)
	b.ReportMetric(pct(0.99), name+"-p99-"+u)
}

// durabilities are the store's two settings, each benchmark run with both
// side by side: full (the default) fsyncs every commit, normal does not.
var durabilities = []store.Durability{store.DurabilityNormal, store.DurabilityFull}

// BenchmarkEnqueueToSend measures, with an idle worker, the time from
// Service.Send to the device's SendPDU (in production, AT+CMGS).
// Targets: p50 ≤ 2 ms, p99 ≤ 10 ms, with durability full.
func BenchmarkEnqueueToSend(b *testing.B) {
	for _, d := range durabilities {
		b.Run("durability="+string(d), func(b *testing.B) { benchEnqueueToSend(b, d) })
	}
}

func benchEnqueueToSend(b *testing.B, d store.Durability) {
	r := newRig(b, rigOptions{durability: d})
	dev := newSendDev(imeiA)
	dev.notify = make(chan sentPDU, 1)
	r.addModem(dev, gateway.ModemLimits{})
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		m, _, err := r.svc.Send(ctx, gateway.SendRequest{To: numOK, Text: "your code is 123456", Priority: "high"})
		if err != nil {
			b.Fatal(err)
		}
		c := <-dev.notify
		lat = append(lat, c.At.Sub(start))

		// Let the worker record the send and go idle again, untimed.
		b.StopTimer()
		for r.message(m.ID).Status != gateway.StatusSent {
			time.Sleep(50 * time.Microsecond)
		}
		time.Sleep(200 * time.Microsecond)
		b.StartTimer()
	}
	b.StopTimer()
	reportPercentiles(b, "enqueue-to-send", time.Millisecond, lat)
}

// BenchmarkThroughput measures messages per second end to end through one
// and eight zero-latency devices: "backlog" drains a queue filled
// beforehand, "live" enqueues through the Service while the workers send.
// Targets: ≥ 300/s through one modem, ≥ 1,000/s through eight, with
// durability full.
func BenchmarkThroughput(b *testing.B) {
	for _, mode := range []string{"backlog", "live"} {
		for _, modems := range []int{1, 8} {
			for _, d := range durabilities {
				b.Run(fmt.Sprintf("%s/modems=%d/durability=%s", mode, modems, d), func(b *testing.B) {
					benchThroughput(b, modems, mode == "live", d)
				})
			}
		}
	}
}

func benchThroughput(b *testing.B, modems int, live bool, d store.Durability) {
	r := newRig(b, rigOptions{durability: d})
	ctx := context.Background()
	var sent atomic.Int64
	all := make(chan struct{})
	n := int64(b.N)
	devs := make([]*sendDev, modems)
	for i := range devs {
		devs[i] = newSendDev(fmt.Sprintf("35000000000%04d", i))
		devs[i].setFn(func(sentPDU) (int, error) {
			if sent.Add(1) == n {
				close(all)
			}
			return 1, nil
		})
	}
	enqueue := func() {
		for i := 0; i < b.N; i++ {
			if _, _, err := r.svc.Send(ctx, gateway.SendRequest{To: numOK, Text: "bulk message"}); err != nil {
				b.Error(err)
				return
			}
		}
	}
	if !live {
		enqueue()
	}
	b.ResetTimer()
	start := time.Now()
	for _, d := range devs {
		r.addModem(d, gateway.ModemLimits{})
	}
	if live {
		go enqueue()
	}
	<-all
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkSendGap measures the idle time of a busy modem between the end
// of one AT+CMGS and the start of the next, with 20 ms per send (the gap
// does not depend on the latency). Target ≤ 5 ms.
func BenchmarkSendGap(b *testing.B) {
	r := newRig(b, rigOptions{})
	ctx := context.Background()
	dev := newSendDev(imeiA)
	dev.latency = 20 * time.Millisecond
	n := b.N + 1
	for i := 0; i < n; i++ {
		if _, _, err := r.svc.Send(ctx, gateway.SendRequest{To: numOK, Text: fmt.Sprintf("m%d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	r.addModem(dev, gateway.ModemLimits{})
	for len(dev.Sent()) < n {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	sent := dev.Sent()
	gaps := make([]time.Duration, 0, len(sent)-1)
	for i := 1; i < len(sent); i++ {
		gaps = append(gaps, sent[i].At.Sub(sent[i-1].End))
	}
	reportPercentiles(b, "gap", time.Millisecond, gaps)
}
