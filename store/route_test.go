package store

import (
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func TestRouteSamples(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	in := []gateway.RouteSample{
		{Modem: "imeiA", Network: "DE/T-Mobile", SentAt: t0, Latency: 1500 * time.Millisecond, Delivered: true},
		{Modem: "imeiB", Network: "DE/T-Mobile", Dest: "+4915123456789", SentAt: t0.Add(time.Hour), Delivered: false},
		{Modem: "imeiA", Network: "US/+1202", SentAt: t0.Add(2 * time.Hour), Latency: 3 * time.Second, Delivered: true},
	}
	if err := s.AddRouteSamples(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.RouteSamplesSince(ctx, t0.Add(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != in[1] || !got[1].SentAt.Equal(in[2].SentAt) || got[1].Latency != in[2].Latency || !got[1].Delivered {
		t.Errorf("since t0+1m: %+v, want the last two of %+v", got, in)
	}
	if n, err := s.PruneRouteSamples(ctx, t0.Add(90*time.Minute)); err != nil || n != 2 {
		t.Errorf("prune: %d, %v; want 2", n, err)
	}
	if got, _ := s.RouteSamplesSince(ctx, time.Time{}, 10); len(got) != 1 || got[0].Network != "US/+1202" {
		t.Errorf("after prune: %+v", got)
	}
}
