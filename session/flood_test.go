package session_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/pdu"
	"github.com/simgate/simgate/session"
)

// floodDevice counts health reads and reports the operator it is told.
type floodDevice struct {
	*supDevice
	reads    atomic.Int64
	operator atomic.Value // string
}

func (d *floodDevice) Health(context.Context) (gateway.DeviceHealth, error) {
	d.reads.Add(1)
	return gateway.DeviceHealth{Registration: "registered", Registered: true, Operator: d.operator.Load().(string)}, nil
}

// TestSupervisor_RegistrationFloodIsSpaced: a modem that flaps sends
// registration events by the thousand; each asks for a health read of
// several commands. The reads stay few, and the last event is still
// followed by one that sees its state; an SMS stored in the middle of
// the flood is committed.
func TestSupervisor_RegistrationFloodIsSpaced(t *testing.T) {
	const events = 200_000
	st := mustSupStore(t, t.TempDir())
	sms, err := pdu.EncodeDeliver(pdu.Address{Number: "+447700900123", TOA: pdu.TOAInternational}, "mid-flood", pdu.DeliverOptions{SCTS: time.Now()})
	if err != nil {
		t.Fatalf("EncodeDeliver: %v", err)
	}
	dev := &floodDevice{supDevice: newSupDevice("356938035643809")}
	dev.list = []gateway.StoredSMS{{Mem: "SM", Index: 7, PDU: sms[0]}}
	dev.operator.Store("Before")
	var opened atomic.Int32
	open := func(context.Context, string) (gateway.Device, error) {
		if opened.Add(1) > 1 {
			return nil, errors.New("one session is enough")
		}
		return dev, nil
	}
	cfg := session.Config{Ports: []string{"fake0"}, BackoffMin: 5 * time.Millisecond,
		BackoffMax: 20 * time.Millisecond, RegistrationRefresh: 200 * time.Millisecond}
	sup := session.New(cfg, st, &supAttacher{}, open, gateway.SystemClock{}, supLogger(t))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { sup.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	reg := gateway.DeviceEvent{Kind: gateway.EventRegistration}
	stored := gateway.DeviceEvent{Kind: gateway.EventSMSStored, Mem: "SM", Index: 7}
	for i := range events {
		ev := reg
		if i == events/2 {
			ev = stored
		}
		select {
		case dev.events <- ev:
		case <-time.After(supWait):
			t.Fatalf("event %d not taken", i)
		}
		if n := dev.reads.Load(); n >= 100 {
			t.Fatalf("%d health reads after %d registration events, want < 100", n, i+1)
		}
	}
	dev.operator.Store("After")
	dev.events <- reg
	supEventually(t, "a read after the last event", func() bool {
		info, ok := supModem(t, st, dev.imei)
		return ok && info.Operator == "After"
	})
	supEventually(t, "the SMS from the middle of the flood in the inbox", func() bool {
		in, err := st.Inbox(context.Background(), time.Time{}, 10)
		return err == nil && len(in) == 1 && in[0].Text == "mid-flood"
	})
	t.Logf("%d health reads for %d registration events", dev.reads.Load(), events)
	if n := dev.reads.Load(); n >= 100 {
		t.Errorf("%d health reads, want < 100", n)
	}
}
