package modemdev

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem"
)

// Device is a modem.Modem seen through gateway.Device.
type Device struct {
	m      *modem.Modem
	events chan gateway.DeviceEvent
	quit   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	// pinRefused, set by Opener, stops the PIN being entered again.
	pinRefused func()
}

var _ gateway.Device = (*Device)(nil)

// New adapts m. The Device owns m: Close closes it. A goroutine converts
// m's events until m's event channel closes or Close is called.
func New(m *modem.Modem) *Device {
	d := &Device{
		m: m,
		// Unbuffered: the driver's queue is where events wait (bounded,
		// registration lines coalesced, SMS never dropped), so this
		// adapter holds at most the one event it is handing over.
		events: make(chan gateway.DeviceEvent),
		quit:   make(chan struct{}),
	}
	d.wg.Go(d.convert)
	return d
}

// Opener returns a gateway.Opener that opens a serial port with
// modem.Open and cfg.
//
// A SIM allows three PIN tries, and the supervisor reopens a failing modem
// forever: once Init ends asking for the PIN (or the PUK) although
// cfg.PIN was entered, that port is opened without the PIN for the rest of
// the process, so a wrong PIN costs one try, never the SIM.
func Opener(cfg modem.Config) gateway.Opener {
	var (
		mu      sync.Mutex
		refused = map[string]bool{}
	)
	return func(ctx context.Context, port string) (gateway.Device, error) {
		c := cfg
		mu.Lock()
		if refused[port] {
			c.PIN = ""
		}
		mu.Unlock()
		m, err := modem.Open(ctx, port, c)
		if err != nil {
			return nil, mapErr(err)
		}
		d := New(m)
		if c.PIN != "" {
			d.pinRefused = func() {
				mu.Lock()
				refused[port] = true
				mu.Unlock()
			}
		}
		return d, nil
	}
}

// Modem returns the driver, for commands the gateway has no use for
// (USSD, the AT console).
func (d *Device) Modem() *modem.Modem { return d.m }

func (d *Device) convert() {
	defer close(d.events)
	for ev := range d.m.Events() {
		de, ok := convertEvent(ev)
		if !ok {
			continue
		}
		select {
		case d.events <- de:
		case <-d.quit:
			return
		}
	}
}

func convertEvent(ev modem.Event) (gateway.DeviceEvent, bool) {
	de := gateway.DeviceEvent{Mem: ev.Mem, Index: ev.Index, PDU: ev.PDU, MR: ev.MR}
	switch ev.Kind {
	case modem.EventNewMessage:
		de.Kind = gateway.EventSMSStored
	case modem.EventDeliver:
		de.Kind = gateway.EventSMS
	case modem.EventStatusReport:
		de.Kind = gateway.EventReport
	case modem.EventStatusReportStored:
		de.Kind = gateway.EventReportStored
	case modem.EventRegistration:
		de.Kind = gateway.EventRegistration
	case modem.EventReset:
		de.Kind = gateway.EventReset
	case modem.EventMemoryFull:
		de.Kind = gateway.EventMemoryFull
	case modem.EventLateSendAnswer:
		de.Kind = gateway.EventLateMR
	default:
		// RING, ^RSSI and the like: nothing the gateway acts on.
		return gateway.DeviceEvent{}, false
	}
	return de, true
}

// Init runs the driver's Init. A missing SIM, a PIN or a PUK request wrap
// gateway.ErrNoSIM, ErrPINRequired or ErrPUKRequired.
func (d *Device) Init(ctx context.Context) error {
	err := mapErr(d.m.Init(ctx))
	if d.pinRefused != nil && (errors.Is(err, gateway.ErrPINRequired) || errors.Is(err, gateway.ErrPUKRequired)) {
		d.pinRefused()
		return fmt.Errorf("%w (the configured pin is not entered again on this port)", err)
	}
	return err
}

// Identity reads the modem's and SIM's identity.
func (d *Device) Identity(ctx context.Context) (gateway.DeviceIdentity, error) {
	id, err := d.m.Identity(ctx)
	if err != nil {
		return gateway.DeviceIdentity{}, mapErr(err)
	}
	return gateway.DeviceIdentity{
		Manufacturer: id.Manufacturer,
		Model:        id.Model,
		Revision:     id.Revision,
		IMEI:         id.IMEI,
		IMSI:         id.IMSI,
		ICCID:        id.ICCID,
		Number:       id.Number,
	}, nil
}

// Health reads registration, operator and signal. Only the registration
// decides whether the reading is usable, so only its failure (or a lost
// port) is returned; a modem that will not name its operator or signal
// (common while it searches for a network) leaves those fields empty and
// SignalKnown false. The health read so far is returned with any error.
func (d *Device) Health(ctx context.Context) (gateway.DeviceHealth, error) {
	var h gateway.DeviceHealth
	reg, err := d.m.Registration(ctx)
	if err != nil {
		h.Registration = string(modem.RegUnknown)
		return h, fmt.Errorf("health: %w", mapErr(err))
	}
	h.Registration = string(reg.State)
	h.Registered = reg.Registered()
	h.Roaming = reg.Roaming
	if op, err := d.m.Operator(ctx); err == nil {
		h.Operator = op.Name
	} else if gone(err) {
		return h, fmt.Errorf("health: %w", mapErr(err))
	}
	if sig, err := d.m.Signal(ctx); err == nil {
		h.CSQ, h.DBM, h.Bars, h.SignalKnown = sig.CSQ, sig.DBM, sig.Bars, sig.Known
	} else if gone(err) {
		return h, fmt.Errorf("health: %w", mapErr(err))
	}
	return h, nil
}

// SendPDU sends one SMS-SUBMIT. Errors are *gateway.DeviceError, or wrap
// gateway.ErrDeviceGone, or the context's error.
func (d *Device) SendPDU(ctx context.Context, tpduLen int, pduHex string) (int, error) {
	send := d.m.SendPDU
	if gateway.IsSecretPDU(ctx) {
		send = d.m.SendSecretPDU
	}
	mr, err := send(ctx, tpduLen, pduHex)
	if err == nil {
		return mr, nil
	}
	return 0, classify(err)
}

// classify turns a send error into what the dispatcher branches on.
func classify(err error) error {
	var cms modem.CMSError
	var cme modem.CMEError
	switch {
	case errors.Is(err, modem.ErrSendUnknown):
		// Before ctx: a send cut short after its PDU is still unknown.
		return &gateway.DeviceError{Class: gateway.ClassUnknown, Code: -1,
			Reason: "no answer from the modem after the PDU: it may have gone out",
			Err:    fmt.Errorf("%w: %w", gateway.ErrSendUnknown, mapErr(err))} // no answer: the session escalates
	case gone(err):
		return mapErr(err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The caller gave up (shutdown); not the message's nor the modem's
		// fault.
		return err
	case errors.As(err, &cms):
		return &gateway.DeviceError{Class: cmsClass(cms.Class()), Code: cms.Code, Reason: cms.Error(), Err: err}
	case errors.As(err, &cme):
		// +CME during a send reports the SIM or the registration (10 no SIM,
		// 11 PIN, 30 no network…), never the message; 100 is "unknown".
		class := gateway.ClassModemState
		if cme.Code == 100 || cme.Code < 0 {
			class = gateway.ClassUnknown
		}
		return &gateway.DeviceError{Class: class, Code: cme.Code, Reason: cme.Error(), Err: err}
	case errors.Is(err, modem.ErrPromptTimeout):
		// ESC aborted the command before the PDU went out (no prompt, or a
		// final result before it): the modem is wedged, the message is
		// innocent.
		return &gateway.DeviceError{Class: gateway.ClassModemState, Code: -1, Err: mapErr(err)}
	default:
		// A plain ERROR, a bad +CMGS line: a few retries, then give up on
		// the message.
		return &gateway.DeviceError{Class: gateway.ClassUnknown, Code: -1, Err: mapErr(err)}
	}
}

func cmsClass(c modem.ErrorClass) gateway.ErrorClass {
	switch c {
	case modem.ClassPermanent:
		return gateway.ClassPermanent
	case modem.ClassBadPDU:
		return gateway.ClassBadPDU
	case modem.ClassTransient:
		return gateway.ClassTransient
	case modem.ClassModemState:
		return gateway.ClassModemState
	}
	// Vendor codes get "a few retries, then fail" (at-pdu.md §3.8), which
	// is what unknown means to the dispatcher.
	return gateway.ClassUnknown
}

// USSD runs code on the modem and returns the network's answer as text.
func (d *Device) USSD(ctx context.Context, code string) (string, error) {
	r, err := d.m.USSD(ctx, code)
	if err != nil {
		return "", mapErr(err)
	}
	return r.Text, nil
}

// ListMessages lists every received message in the read storage and the
// other receive storages, SM and ME (AT+CMGL=4; the driver's ListStored),
// and then every status report in the status-report storage, with Mem "SR"
// (the driver's ListStatusReports): reports that reached the modem while
// nobody listened are found only there, and DeleteMessage("SR", i) frees
// their slots. A modem without an SR or ME storage lists none of those.
func (d *Device) ListMessages(ctx context.Context) ([]gateway.StoredSMS, error) {
	list, err := d.m.ListStored(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	reports, err := d.m.ListStatusReports(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]gateway.StoredSMS, 0, len(list)+len(reports))
	for _, sm := range append(list, reports...) {
		out = append(out, stored(sm))
	}
	return out, nil
}

// ReadMessage reads one stored message and leaves it on the modem. A mem
// other than the read storage ("SR" for a +CDSI, "ME" while the read
// storage is "SM") is switched to, read and switched back under one hold
// of the command line (the driver's ReadFrom).
func (d *Device) ReadMessage(ctx context.Context, mem string, index int) (gateway.StoredSMS, error) {
	sm, err := d.m.ReadFrom(ctx, mem, index)
	if err != nil {
		return gateway.StoredSMS{}, mapErr(err)
	}
	if sm.Mem == "" {
		sm.Mem = mem
	}
	return stored(sm), nil
}

// DeleteMessage deletes a stored message, switching storage as
// ReadMessage does.
func (d *Device) DeleteMessage(ctx context.Context, mem string, index int) error {
	return mapErr(d.m.DeleteFrom(ctx, mem, index))
}

// Resync aborts a stale prompt and sends AT until the modem answers: the
// first step of the session's escalation for a modem that stopped
// answering.
func (d *Device) Resync(ctx context.Context) error { return mapErr(d.m.Resync(ctx)) }

// Reset reboots the modem (AT+CFUN=1,1); it needs Init afterwards, and a
// USB modem may come back on another port.
func (d *Device) Reset(ctx context.Context) error { return mapErr(d.m.Reset(ctx)) }

func stored(sm modem.StoredMessage) gateway.StoredSMS {
	return gateway.StoredSMS{Mem: sm.Mem, Index: sm.Index, Stat: sm.Stat, PDU: sm.PDU}
}

// Events delivers the modem's unsolicited results in order; it is closed
// once the driver's event channel is, after Done, or at Close.
func (d *Device) Events() <-chan gateway.DeviceEvent { return d.events }

// Done is closed once the port is gone.
func (d *Device) Done() <-chan struct{} { return d.m.Done() }

// Close closes the modem and waits for the event goroutine.
func (d *Device) Close() error {
	d.once.Do(func() { close(d.quit) })
	err := d.m.Close()
	d.wg.Wait()
	return err
}

func gone(err error) bool { return errors.Is(err, modem.ErrClosed) }

// mapErr adds the gateway's sentinel for the driver errors the gateway
// branches on, keeping the driver's error in the chain.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case gone(err):
		return fmt.Errorf("%w: %w", gateway.ErrDeviceGone, err)
	case errors.Is(err, modem.ErrNoSIM):
		return fmt.Errorf("%w: %w", gateway.ErrNoSIM, err)
	case errors.Is(err, modem.ErrPUKRequired):
		return fmt.Errorf("%w: %w", gateway.ErrPUKRequired, err)
	case errors.Is(err, modem.ErrPINRequired):
		return fmt.Errorf("%w: %w", gateway.ErrPINRequired, err)
	case errors.Is(err, modem.ErrTimeout), errors.Is(err, modem.ErrPromptTimeout):
		return fmt.Errorf("%w: %w", gateway.ErrNoAnswer, err)
	}
	return err
}
