package session_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/events"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/pdu"
	"github.com/simgate/simgate/session"
	"github.com/simgate/simgate/store"
)

// BenchmarkSupervisor_Inbound measures received SMS committed per second
// through the supervisor (decode, raw part, join, inbox) into a real SQLite
// file, fed by a device that routes them directly (+CMT).
func BenchmarkSupervisor_Inbound(b *testing.B) {
	for _, tt := range []struct {
		name string
		text string
	}{
		{"single", "your code is 123456"},
		{"3parts", supLong},
	} {
		b.Run(tt.name, func(b *testing.B) {
			st, err := store.Open(b.Context(), b.TempDir()+"/simgate.db", nil)
			if err != nil {
				b.Fatalf("store.Open: %v", err)
			}
			defer st.Close()
			// Each saved SMS appends sms.received to the event log.
			allSaved := make(chan struct{})
			go func() {
				defer close(allSaved)
				r := events.NewReader(st, 0, events.Settle)
				for saved := 0; saved < b.N; {
					evs, err := r.Next(b.Context())
					if err != nil {
						return
					}
					for _, ev := range evs {
						if ev.Type == gateway.EventSMSReceived {
							saved++
						}
					}
				}
			}()
			dev := newSupDevice("356938035643809")
			cfg := session.Config{Ports: []string{"fake0"}}
			var opened atomic.Int32
			open := func(context.Context, string) (gateway.Device, error) {
				if opened.Add(1) > 1 {
					return nil, errors.New("one session is enough")
				}
				return dev, nil
			}
			sup := session.New(cfg, st, &supAttacher{}, open, gateway.SystemClock{}, nil)
			ctx, cancel := context.WithCancel(b.Context())
			done := make(chan struct{})
			go func() { sup.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()

			// A new SMS every round (its own timestamp): the same PDU again
			// would rightly be taken for a re-read and not saved twice.
			rounds := make([][]string, b.N)
			base := time.Now()
			for i := range rounds {
				pdus, err := pdu.EncodeDeliver(pdu.Address{Number: "+447700900123", TOA: pdu.TOAInternational}, tt.text,
					pdu.DeliverOptions{SCTS: base.Add(time.Duration(i) * time.Second), ConcatRef: i % 256})
				if err != nil {
					b.Fatalf("EncodeDeliver: %v", err)
				}
				rounds[i] = pdus
			}

			b.ReportAllocs()
			b.ResetTimer()
			for _, pdus := range rounds {
				// One goroutine handles them in order, so a set is saved
				// before the next begins.
				for _, p := range pdus {
					dev.events <- gateway.DeviceEvent{Kind: gateway.EventSMS, PDU: p}
				}
			}
			<-allSaved
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sms/s")
		})
	}
}
