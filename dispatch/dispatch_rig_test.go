package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/dispatch"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/pdu"
	"github.com/simgate/simgate/store"
)

// This file holds the fixtures of the dispatcher and service tests: a real
// SQLite store in a temp dir, a hand-written Device that records what it is
// asked to send, and a rig that runs a Dispatcher and a Service on them.

// sentPDU is one SendPDU call a sendDev received.
type sentPDU struct {
	IMEI string
	At   time.Time // time.Now() when the call came (fake time in a bubble)
	End  time.Time // time.Now() when it returned
	To   string
	Text string
	Part int // 1 when single
	Ref  int
	MR   int
	Msg  *pdu.Message
	Err  error // what the call returned
}

// sendDev is a gateway.Device that decodes and records each PDU. By
// default it answers MRs 0, 1, 2, …; fn, when set, decides each answer
// instead. gate, when set, makes SendPDU wait until it receives from it.
type sendDev struct {
	imei string

	mu      sync.Mutex
	sent    []sentPDU
	nextMR  int
	fn      func(call sentPDU) (int, error)
	gate    chan struct{}
	latency time.Duration
	notify  chan sentPDU // when set, each call is sent here (blocking)

	done     chan struct{}
	doneOnce sync.Once
	events   chan gateway.DeviceEvent
}

var _ gateway.Device = (*sendDev)(nil)

func newSendDev(imei string) *sendDev {
	return &sendDev{imei: imei, done: make(chan struct{}), events: make(chan gateway.DeviceEvent)}
}

func (d *sendDev) setFn(fn func(call sentPDU) (int, error)) {
	d.mu.Lock()
	d.fn = fn
	d.mu.Unlock()
}

func (d *sendDev) SendPDU(ctx context.Context, tpduLen int, pduHex string) (int, error) {
	select {
	case <-d.done:
		return 0, fmt.Errorf("send: %w", gateway.ErrDeviceGone)
	default:
	}
	m, err := pdu.Decode(pduHex)
	if err != nil {
		return 0, &gateway.DeviceError{Class: gateway.ClassBadPDU, Code: -1, Err: fmt.Errorf("test device: %w", err)}
	}
	if want := len(pduHex)/2 - 1; tpduLen != want {
		return 0, &gateway.DeviceError{Class: gateway.ClassBadPDU, Code: -1, Err: fmt.Errorf("tpdu length %d, want %d", tpduLen, want)}
	}
	call := sentPDU{IMEI: d.imei, At: time.Now(), To: m.To.Number, Text: m.Text, Part: 1, Msg: m}
	if m.Concat != nil {
		call.Part, call.Ref = m.Concat.Part, m.Concat.Ref
	}
	d.mu.Lock()
	gate, fn, latency, notify := d.gate, d.fn, d.latency, d.notify
	d.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-d.done:
			return 0, fmt.Errorf("send: %w", gateway.ErrDeviceGone)
		}
	}
	if latency > 0 {
		time.Sleep(latency)
	}
	d.mu.Lock()
	var mr int
	if fn != nil {
		d.mu.Unlock()
		mr, err = fn(call)
		d.mu.Lock()
	} else {
		mr = d.nextMR % 256
		d.nextMR++
	}
	call.MR, call.Err, call.End = mr, err, time.Now()
	d.sent = append(d.sent, call)
	d.mu.Unlock()
	if notify != nil {
		notify <- call
	}
	return mr, err
}

// Sent returns the calls that returned an MR.
func (d *sendDev) Sent() []sentPDU {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []sentPDU
	for _, c := range d.sent {
		if c.Err == nil {
			out = append(out, c)
		}
	}
	return out
}

// Calls returns every call, failed ones included.
func (d *sendDev) Calls() []sentPDU {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]sentPDU(nil), d.sent...)
}

// unplug makes the device gone.
func (d *sendDev) unplug() { d.doneOnce.Do(func() { close(d.done) }) }

func (d *sendDev) Init(context.Context) error { return nil }
func (d *sendDev) Identity(context.Context) (gateway.DeviceIdentity, error) {
	return gateway.DeviceIdentity{IMEI: d.imei}, nil
}
func (d *sendDev) Health(context.Context) (gateway.DeviceHealth, error) {
	return gateway.DeviceHealth{Registered: true, Registration: "registered"}, nil
}
func (d *sendDev) ListMessages(context.Context) ([]gateway.StoredSMS, error) { return nil, nil }
func (d *sendDev) ReadMessage(context.Context, string, int) (gateway.StoredSMS, error) {
	return gateway.StoredSMS{}, errors.New("no message")
}
func (d *sendDev) DeleteMessage(context.Context, string, int) error { return nil }
func (d *sendDev) USSD(context.Context, string) (gateway.USSDReply, error) {
	return gateway.USSDReply{}, errors.New("no ussd on this fake")
}
func (d *sendDev) Events() <-chan gateway.DeviceEvent { return d.events }
func (d *sendDev) Done() <-chan struct{}              { return d.done }
func (d *sendDev) Close() error                       { d.unplug(); return nil }

// rig is a Dispatcher and a Service sharing one store.
type rig struct {
	t     testing.TB
	st    *store.Store
	svc   *gateway.Service
	d     *dispatch.Dispatcher
	clock gateway.Clock

	stop    context.CancelFunc
	runDone chan error
}

type rigOptions struct {
	dispatcher dispatch.Config
	service    gateway.ServiceConfig
	clock      gateway.Clock    // nil: the system clock (fake in a bubble)
	noRun      bool             // do not start Dispatcher.Run
	durability store.Durability // "": the store's default
	// wrap, when set, is what the dispatcher sees of the store (the
	// service writes to the store itself).
	wrap func(dispatch.Store) dispatch.Store
}

// newRig opens a store and starts a Dispatcher's Run, stopped at cleanup
// (registered after the store's, so it runs first).
func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	var opts []store.Option
	if o.durability != "" {
		opts = append(opts, store.WithDurability(o.durability))
	}
	st := testkit.OpenStore(t, opts...)
	clock := o.clock
	if clock == nil {
		clock = gateway.SystemClock{}
	}
	var ds dispatch.Store = st
	if o.wrap != nil {
		ds = o.wrap(st)
	}
	d := dispatch.New(o.dispatcher, ds, clock, nil)
	r := &rig{
		t:     t,
		st:    st,
		d:     d,
		svc:   gateway.NewService(o.service, st, d, clock, nil),
		clock: clock,
		stop:  func() {},
	}
	if !o.noRun {
		r.start()
	}
	return r
}

func (r *rig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	r.runDone = make(chan error, 1)
	go func() { r.runDone <- r.d.Run(ctx) }()
	r.t.Cleanup(r.shutdown)
}

// shutdown stops Run and waits for it; safe to call twice.
func (r *rig) shutdown() {
	r.stop()
	if r.runDone == nil {
		return
	}
	if err := <-r.runDone; err != nil {
		r.t.Errorf("Run: %v", err)
	}
	r.runDone = nil
}

// addModem records an online modem, so that messages may be pinned to it,
// and attaches dev.
func (r *rig) addModem(dev *sendDev, limits gateway.ModemLimits) {
	r.t.Helper()
	if err := r.st.UpsertModem(context.Background(), gateway.ModemInfo{IMEI: dev.imei, State: gateway.ModemOnline}); err != nil {
		r.t.Fatalf("UpsertModem: %v", err)
	}
	r.d.Attach(dev.imei, dev, limits)
}

// send enqueues a message through the Service.
func (r *rig) send(req gateway.SendRequest) *gateway.Message {
	r.t.Helper()
	m, _, err := r.svc.Send(context.Background(), req)
	if err != nil {
		r.t.Fatalf("Send(%q): %v", req.To, err)
	}
	return m
}

func (r *rig) message(id string) *gateway.Message {
	r.t.Helper()
	m, err := r.st.Message(context.Background(), id)
	if err != nil {
		r.t.Fatalf("Message(%s): %v", id, err)
	}
	return m
}

// waitStatus polls the store until message id reaches want; for tests that
// run on real time. In a bubble, use synctest.Wait and message instead.
func (r *rig) waitStatus(id string, want gateway.Status, timeout time.Duration) *gateway.Message {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m := r.message(id)
		if m.Status == want {
			return m
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("message %s is %s (error %q) after %v, want %s", id, m.Status, m.Error, timeout, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
