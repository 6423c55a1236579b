package dispatch_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/simgate/simgate/dispatch"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/store"
)

// countClaims is the real store, counting ClaimNext calls.
type countClaims struct {
	*store.Store
	n atomic.Int64
}

func (c *countClaims) ClaimNext(ctx context.Context, cl gateway.Claim) (*gateway.Message, error) {
	c.n.Add(1)
	return c.Store.ClaimNext(ctx, cl)
}

// TestDispatcher_BusyWorkerSpendsItsWakeUps: wake-ups that reach a worker
// while it sends (Wake reaches every worker, one per queued message) cost
// it one claim after that message, not one more for nothing.
func TestDispatcher_BusyWorkerSpendsItsWakeUps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := testkit.OpenStore(t)
		cs := &countClaims{Store: st}
		d := dispatch.New(dispatch.Config{}, cs, gateway.SystemClock{}, nil)
		svc := gateway.NewService(gateway.ServiceConfig{}, st, d, gateway.SystemClock{}, nil)
		dev := newSendDev(imeiA)
		gate := make(chan struct{})
		dev.gate = gate
		if err := st.UpsertModem(t.Context(), gateway.ModemInfo{IMEI: imeiA, State: gateway.ModemOnline}); err != nil {
			t.Fatal(err)
		}
		d.Attach(imeiA, dev, gateway.ModemLimits{})
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- d.Run(ctx) }()
		defer func() { cancel(); <-ran }()
		synctest.Wait() // the worker found nothing and waits
		before := cs.n.Load()

		if _, _, err := svc.Send(t.Context(), gateway.SendRequest{To: numOK, Text: "one"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // claimed, held at the gate
		for range 5 {
			d.Wake()
		}
		close(gate)
		synctest.Wait() // sent, claimed again, waits
		if len(dev.Sent()) != 1 {
			t.Fatalf("sent %d, want 1", len(dev.Sent()))
		}
		if n := cs.n.Load() - before; n != 2 {
			t.Errorf("%d claims for one message and the wake-ups during its send, want 2 (it, then one that finds nothing)", n)
		}
	})
}

// TestDispatcher_WakeForOneWorker: a queued message wakes the worker it is
// pinned to, or one idle worker when it is pinned to none — not every
// worker to claim for nothing — and each goes out.
func TestDispatcher_WakeForOneWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := testkit.OpenStore(t)
		cs := &countClaims{Store: st}
		d := dispatch.New(dispatch.Config{}, cs, gateway.SystemClock{}, nil)
		svc := gateway.NewService(gateway.ServiceConfig{}, st, d, gateway.SystemClock{}, nil)
		devs := map[string]*sendDev{}
		for _, imei := range []string{imeiA, imeiB, "352099001761481"} {
			devs[imei] = newSendDev(imei)
			if err := st.UpsertModem(t.Context(), gateway.ModemInfo{IMEI: imei, State: gateway.ModemOnline}); err != nil {
				t.Fatal(err)
			}
			d.Attach(imei, devs[imei], gateway.ModemLimits{})
		}
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- d.Run(ctx) }()
		defer func() { cancel(); <-ran }()
		synctest.Wait()

		sent := func() (n int) {
			for _, dev := range devs {
				n += len(dev.Sent())
			}
			return n
		}
		for i, pin := range []string{"", imeiB, "", imeiA} {
			before := cs.n.Load()
			if _, _, err := svc.Send(t.Context(), gateway.SendRequest{To: numOK, Text: "x", Modem: pin}); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if sent() != i+1 {
				t.Fatalf("message %d (pin %q): %d sent, want %d", i+1, pin, sent(), i+1)
			}
			if pin != "" && len(devs[pin].Sent()) == 0 {
				t.Errorf("message %d pinned to %s went elsewhere", i+1, pin)
			}
			// The claim that took it and the one after that found nothing.
			if n := cs.n.Load() - before; n != 2 {
				t.Errorf("message %d (pin %q): %d claims, want 2", i+1, pin, n)
			}
		}
	})
}
