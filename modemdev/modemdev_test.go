package modemdev

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/pdu"
)

// rig is a virtual network with one modem the device talks to over a pipe,
// and a second modem to send from.
type rig struct {
	net   *modemsim.Network
	sim   *modemsim.Modem
	other *modemsim.Modem
	dev   *Device
}

func mustRig(t *testing.T, simCfg modemsim.Config, cfg modem.Config) *rig {
	t.Helper()
	n := modemsim.NewNetwork()
	t.Cleanup(func() { n.Close() })
	sim := n.AddModem(simCfg)
	other := n.AddModem(modemsim.Config{})
	dev := New(modem.New(sim.Pipe(t.Context()), cfg))
	t.Cleanup(func() { dev.Close() })
	return &rig{net: n, sim: sim, other: other, dev: dev}
}

func mustInit(t *testing.T, d *Device) {
	t.Helper()
	if err := d.Init(t.Context()); err != nil {
		t.Fatalf("Init: %v", err)
	}
}

func mustSubmit(t *testing.T, to, text string) pdu.Segment {
	t.Helper()
	segs, err := pdu.EncodeSubmit(to, text, pdu.SubmitOptions{StatusReport: true})
	if err != nil {
		t.Fatalf("EncodeSubmit: %v", err)
	}
	return segs.Segments[0]
}

func nextEvent(t *testing.T, d *Device) gateway.DeviceEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		select {
		case ev, ok := <-d.Events():
			if !ok {
				t.Fatal("events closed")
			}
			if ev.Kind == gateway.EventRegistration {
				continue // Init's +CREG=2 may announce the state
			}
			return ev
		case <-ctx.Done():
			t.Fatal("no event")
		}
	}
}

func TestDevice_IdentityHealth(t *testing.T) {
	r := mustRig(t, modemsim.Config{}, modem.Config{})
	mustInit(t, r.dev)
	id, err := r.dev.Identity(t.Context())
	if err != nil {
		t.Fatalf("Identity: %v", err)
	}
	want := r.sim.Config()
	if id.IMEI != want.IMEI || id.IMSI != want.IMSI || id.ICCID != want.ICCID || id.Manufacturer != want.Manufacturer {
		t.Errorf("Identity = %+v, want IMEI %s IMSI %s ICCID %s manufacturer %s", id, want.IMEI, want.IMSI, want.ICCID, want.Manufacturer)
	}

	tests := []struct {
		name       string
		stat, rssi int
		want       gateway.DeviceHealth
	}{
		{"home", modemsim.RegHome, 20, gateway.DeviceHealth{Operator: modemsim.DefaultOperator, Registration: "registered", Registered: true, CSQ: 20, DBM: -73, Bars: 4, SignalKnown: true}},
		{"roaming", modemsim.RegRoaming, 12, gateway.DeviceHealth{Operator: modemsim.DefaultOperator, Registration: "roaming", Registered: true, Roaming: true, CSQ: 12, DBM: -89, Bars: 2, SignalKnown: true}},
		{"searching", modemsim.RegSearching, 99, gateway.DeviceHealth{Registration: "searching", CSQ: 99}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.sim.SetRegistration(tt.stat)
			r.sim.SetSignal(tt.rssi, 99)
			got, err := r.dev.Health(t.Context())
			if err != nil {
				t.Fatalf("Health: %v", err)
			}
			if got != tt.want {
				t.Errorf("Health = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDevice_SendPDU(t *testing.T) {
	r := mustRig(t, modemsim.Config{}, modem.Config{PromptTimeout: 200 * time.Millisecond,
		SendTimeout: 500 * time.Millisecond, ResyncTimeout: 500 * time.Millisecond})
	mustInit(t, r.dev)
	seg := mustSubmit(t, r.other.Number(), "hello")

	t.Run("OK", func(t *testing.T) {
		r.sim.SetNextMR(41)
		mr, err := r.dev.SendPDU(t.Context(), seg.TPDULength, seg.PDU)
		if err != nil || mr != 41 {
			t.Fatalf("SendPDU = %d, %v; want 41, nil", mr, err)
		}
	})

	classes := []struct {
		name   string
		code   int
		class  gateway.ErrorClass
		reason string
	}{
		{"unassigned number", 1, gateway.ClassPermanent, "+CMS ERROR: 1 (unassigned number)"},
		{"network out of order", 38, gateway.ClassTransient, "+CMS ERROR: 38 (network out of order)"},
		{"bad dcs", 0x90, gateway.ClassBadPDU, "+CMS ERROR: 144 (data coding scheme not supported)"},
		{"sim busy", 314, gateway.ClassModemState, "+CMS ERROR: 314 (SIM busy)"},
		{"vendor", 515, gateway.ClassUnknown, "+CMS ERROR: 515"},
	}
	for _, tt := range classes {
		t.Run(tt.name, func(t *testing.T) {
			r.sim.SetFailure("", tt.code)
			defer r.sim.SetFailure("", 0)
			_, err := r.dev.SendPDU(t.Context(), seg.TPDULength, seg.PDU)
			var de *gateway.DeviceError
			if !errors.As(err, &de) {
				t.Fatalf("SendPDU error %v (%T) is not a *DeviceError", err, err)
			}
			if de.Class != tt.class || de.Code != tt.code || de.Reason != tt.reason {
				t.Errorf("DeviceError = %s/%d/%q, want %s/%d/%q", de.Class, de.Code, de.Reason, tt.class, tt.code, tt.reason)
			}
			var cms modem.CMSError
			if !errors.As(err, &cms) {
				t.Errorf("driver error lost from %v", err)
			}
		})
	}

	t.Run("PromptTimeout", func(t *testing.T) {
		r.sim.SetNoPrompt(true)
		defer r.sim.SetNoPrompt(false)
		_, err := r.dev.SendPDU(t.Context(), seg.TPDULength, seg.PDU)
		var de *gateway.DeviceError
		if !errors.As(err, &de) || de.Class != gateway.ClassModemState || !errors.Is(err, modem.ErrPromptTimeout) {
			t.Fatalf("SendPDU = %v, want modem_state wrapping ErrPromptTimeout", err)
		}
	})

	t.Run("OutcomeUnknown", func(t *testing.T) {
		// The modem takes the PDU and never answers: unknown, not failed.
		r.sim.SetLoseSendAnswer(true)
		defer r.sim.SetLoseSendAnswer(false)
		before := len(r.net.Records())
		_, err := r.dev.SendPDU(t.Context(), seg.TPDULength, seg.PDU)
		var de *gateway.DeviceError
		if !errors.As(err, &de) || !errors.Is(err, gateway.ErrSendUnknown) || !errors.Is(err, modem.ErrSendUnknown) {
			t.Fatalf("SendPDU = %v, want a DeviceError wrapping ErrSendUnknown", err)
		}
		if de.Class != gateway.ClassUnknown || de.Reason == "" {
			t.Errorf("DeviceError = %s/%q", de.Class, de.Reason)
		}
		if n := len(r.net.Records()) - before; n != 1 {
			t.Errorf("network got %d messages, want 1 (it did go out)", n)
		}
	})

	t.Run("Gone", func(t *testing.T) {
		r.sim.Unplug()
		select {
		case <-r.dev.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("Done not closed after unplug")
		}
		_, err := r.dev.SendPDU(t.Context(), seg.TPDULength, seg.PDU)
		if !errors.Is(err, gateway.ErrDeviceGone) || !errors.Is(err, modem.ErrClosed) {
			t.Fatalf("SendPDU after unplug = %v, want ErrDeviceGone wrapping modem.ErrClosed", err)
		}
		if _, err := r.dev.Health(t.Context()); !errors.Is(err, gateway.ErrDeviceGone) {
			t.Errorf("Health after unplug = %v, want ErrDeviceGone", err)
		}
		// Events ends after Done: the supervisor's loop relies on it.
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		for {
			select {
			case _, ok := <-r.dev.Events():
				if !ok {
					return
				}
			case <-ctx.Done():
				t.Fatal("Events not closed after unplug")
			}
		}
	})
}

func TestDevice_Receive(t *testing.T) {
	r := mustRig(t, modemsim.Config{}, modem.Config{})
	mustInit(t, r.dev)
	ctx := t.Context()

	if err := r.net.Deliver("+447700900123", r.sim.Number(), "inbound"); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	ev := nextEvent(t, r.dev)
	if ev.Kind != gateway.EventSMSStored || ev.Index < 1 {
		t.Fatalf("event = %+v, want EventSMSStored with an index", ev)
	}
	sms, err := r.dev.ReadMessage(ctx, ev.Mem, ev.Index)
	if err != nil {
		t.Fatalf("ReadMessage: %v", err)
	}
	m, err := pdu.Decode(sms.PDU)
	if err != nil || m.Text != "inbound" || sms.Mem != ev.Mem {
		t.Fatalf("ReadMessage = %+v (%v, %v), want the delivered text from %s", sms, m, err, ev.Mem)
	}
	list, err := r.dev.ListMessages(ctx)
	if err != nil || len(list) != 1 || list[0].Index != ev.Index {
		t.Fatalf("ListMessages = %+v, %v; want the one stored", list, err)
	}
	if err := r.dev.DeleteMessage(ctx, ev.Mem, ev.Index); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	if got := r.sim.Stored(ev.Mem)[ev.Index-1]; got != "" {
		t.Errorf("slot %s/%d still holds %s after delete", ev.Mem, ev.Index, got)
	}

	// A status report announced with +CDSI "SR" stays on the modem until
	// DeleteMessage: read, commit, then delete.
	seg := mustSubmit(t, r.other.Number(), "ping")
	r.sim.SetNextMR(7)
	if _, err := r.dev.SendPDU(ctx, seg.TPDULength, seg.PDU); err != nil {
		t.Fatalf("SendPDU: %v", err)
	}
	for {
		ev = nextEvent(t, r.dev)
		if ev.Kind != gateway.EventSMSStored { // other's copy is not ours
			break
		}
	}
	if ev.Kind != gateway.EventReportStored || ev.Mem != "SR" {
		t.Fatalf("event = %+v, want EventReportStored in SR", ev)
	}
	sms, err = r.dev.ReadMessage(ctx, ev.Mem, ev.Index)
	if err != nil {
		t.Fatalf("ReadMessage SR: %v", err)
	}
	m, err = pdu.Decode(sms.PDU)
	if err != nil || m.Type != pdu.TypeStatusReport || m.MR != 7 {
		t.Fatalf("report = %+v, %v; want a status report for MR 7", m, err)
	}
	if got := r.sim.Stored("SR")[ev.Index-1]; got == "" {
		t.Fatalf("SR/%d deleted by ReadMessage, before the report was committed", ev.Index)
	}
	if err := r.dev.DeleteMessage(ctx, "SR", ev.Index); err != nil {
		t.Errorf("DeleteMessage SR: %v", err)
	}
	if got := r.sim.Stored("SR")[ev.Index-1]; got != "" {
		t.Errorf("SR/%d still holds a report", ev.Index)
	}

	// Switched to +CDS, the report arrives in the event itself.
	if _, err := r.dev.Modem().Command(ctx, "AT+CNMI=2,1,0,1,0"); err != nil {
		t.Fatalf("CNMI: %v", err)
	}
	r.sim.SetNextMR(8)
	if _, err := r.dev.SendPDU(ctx, seg.TPDULength, seg.PDU); err != nil {
		t.Fatalf("SendPDU: %v", err)
	}
	ev = nextEvent(t, r.dev)
	if ev.Kind != gateway.EventReport {
		t.Fatalf("event = %+v, want EventReport", ev)
	}
	if m, err := pdu.Decode(ev.PDU); err != nil || m.MR != 8 {
		t.Fatalf("+CDS pdu = %+v, %v; want MR 8", m, err)
	}

	// A reset is announced.
	r.sim.Reset()
	if ev = nextEvent(t, r.dev); ev.Kind != gateway.EventReset {
		t.Fatalf("event after reset = %+v, want EventReset", ev)
	}
}

func TestDevice_InitErrors(t *testing.T) {
	r := mustRig(t, modemsim.Config{PIN: "1234"}, modem.Config{})
	err := r.dev.Init(t.Context())
	if !errors.Is(err, gateway.ErrPINRequired) || !errors.Is(err, modem.ErrPINRequired) {
		t.Fatalf("Init with a locked SIM = %v, want gateway.ErrPINRequired wrapping the driver's", err)
	}
	// The IMEI is readable without the PIN: the supervisor records the
	// stuck modem by it.
	id, err := r.dev.Identity(t.Context())
	if err != nil || id.IMEI != r.sim.IMEI() {
		t.Fatalf("Identity while locked = %+v, %v; want IMEI %s", id, err, r.sim.IMEI())
	}

	tests := []struct {
		in   error
		want error
	}{
		{modem.CMEError{Code: 10}, gateway.ErrNoSIM},
		{modem.CMSError{Code: 310}, gateway.ErrNoSIM},
		{modem.CMEError{Code: 11}, gateway.ErrPINRequired},
		{modem.CMEError{Code: 12}, gateway.ErrPUKRequired},
		{fmt.Errorf("init: %w", modem.ErrClosed), gateway.ErrDeviceGone},
	}
	for _, tt := range tests {
		t.Run(tt.in.Error(), func(t *testing.T) {
			got := mapErr(tt.in)
			if !errors.Is(got, tt.want) || !errors.Is(got, tt.in) {
				t.Errorf("mapErr(%v) = %v, want it to match %v and keep the original", tt.in, got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		class gateway.ErrorClass
		code  int
	}{
		{"cme no network", modem.CMEError{Code: 30}, gateway.ClassModemState, 30},
		{"cme unknown", modem.CMEError{Code: 100}, gateway.ClassUnknown, 100},
		{"cms text only", modem.CMSError{Code: -1, Text: "odd"}, gateway.ClassUnknown, -1},
		{"timeout", fmt.Errorf("send: %w", modem.ErrTimeout), gateway.ClassUnknown, -1},
		{"plain error", modem.ErrCommandFailed, gateway.ClassUnknown, -1},
		{"prompt", modem.ErrPromptTimeout, gateway.ClassModemState, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var de *gateway.DeviceError
			if !errors.As(classify(tt.err), &de) || de.Class != tt.class || de.Code != tt.code {
				t.Fatalf("classify(%v) = %+v, want %s/%d", tt.err, de, tt.class, tt.code)
			}
		})
	}
	if err := classify(context.Canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("classify(Canceled) = %v, want the context error as is", err)
	}
}

func TestDevice_CloseWithoutReader(t *testing.T) {
	r := mustRig(t, modemsim.Config{}, modem.Config{})
	mustInit(t, r.dev)
	// Events nobody reads must not keep Close from returning.
	for range 3 {
		if err := r.net.Deliver("+447700900123", r.sim.Number(), "x"); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
	}
	done := make(chan struct{})
	go func() { r.dev.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked")
	}
}

// A wrong PIN is entered once per port, whatever the supervisor retries:
// the SIM allows three tries before it wants the PUK.
func TestOpener_WrongPINOnce(t *testing.T) {
	n := modemsim.NewNetwork()
	t.Cleanup(func() { n.Close() })
	sim := n.AddModem(modemsim.Config{PIN: "1234"})
	path, err := sim.OpenPTY(t.Context())
	if err != nil {
		t.Skipf("no pty here: %v", err)
	}
	open := Opener(modem.Config{PIN: "0000"})
	for i := range 4 {
		dev, err := open(t.Context(), path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		err = dev.Init(t.Context())
		dev.Close()
		if errors.Is(err, gateway.ErrPUKRequired) || !errors.Is(err, gateway.ErrPINRequired) {
			t.Fatalf("Init %d = %v, want ErrPINRequired and never the PUK", i, err)
		}
	}
}

// A status report that reached the modem while the gateway was down sits
// in the SR storage, which ListMessages lists after the read storage, with
// Mem "SR"; DeleteMessage("SR", i) frees the slot, and the read storage is
// the receive storage again afterwards.
func TestDevice_ListMessagesFindsStoredReports(t *testing.T) {
	r := mustRig(t, modemsim.Config{}, modem.Config{})
	mustInit(t, r.dev)
	ctx := t.Context()
	r.net.SetReport(r.other.Number(), modemsim.ReportPolicy{Delay: 200 * time.Millisecond})
	seg := mustSubmit(t, r.other.Number(), "while down")
	r.sim.SetNextMR(42)
	if _, err := r.dev.SendPDU(ctx, seg.TPDULength, seg.PDU); err != nil {
		t.Fatalf("SendPDU: %v", err)
	}
	r.dev.Close() // the gateway goes down before the report comes
	idx := waitStored(t, r.sim, "SR")

	dev := New(modem.New(r.sim.Pipe(ctx), modem.Config{}))
	t.Cleanup(func() { dev.Close() })
	mustInit(t, dev)
	if err := r.net.Deliver("+447700900123", r.sim.Number(), "inbound"); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	waitStored(t, r.sim, "SM")
	list, err := dev.ListMessages(ctx)
	if err != nil {
		t.Fatalf("ListMessages: %v", err)
	}
	var report, sms *gateway.StoredSMS
	for i := range list {
		switch list[i].Mem {
		case "SR":
			report = &list[i]
		case "SM":
			sms = &list[i]
		}
	}
	if len(list) != 2 || report == nil || sms == nil {
		t.Fatalf("ListMessages = %+v, want the SMS in SM and the report in SR", list)
	}
	if m, err := pdu.Decode(report.PDU); err != nil || m.Type != pdu.TypeStatusReport || m.MR != 42 || report.Index != idx {
		t.Fatalf("listed report = %+v (%+v, %v), want the status report for MR 42 at SR/%d", report, m, err, idx)
	}
	if err := dev.DeleteMessage(ctx, report.Mem, report.Index); err != nil {
		t.Fatalf("DeleteMessage SR: %v", err)
	}
	if got := r.sim.Stored("SR")[idx-1]; got != "" {
		t.Errorf("SR/%d still holds %s after DeleteMessage", idx, got)
	}
	// Listing SR switched the storage back: the SMS reads and deletes from SM.
	got, err := dev.ReadMessage(ctx, sms.Mem, sms.Index)
	if m, derr := pdu.Decode(got.PDU); err != nil || derr != nil || m.Text != "inbound" {
		t.Fatalf("ReadMessage SM/%d after listing = %+v, %v", sms.Index, got, err)
	}
	if err := dev.DeleteMessage(ctx, sms.Mem, sms.Index); err != nil {
		t.Fatalf("DeleteMessage SM: %v", err)
	}
	if list, err := dev.ListMessages(ctx); err != nil || len(list) != 0 {
		t.Errorf("ListMessages after deleting = %+v, %v; want none", list, err)
	}
}

// waitStored waits until the virtual modem holds a message in mem and
// returns its 1-based index.
func waitStored(t *testing.T, sim *modemsim.Modem, mem string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for i, p := range sim.Stored(mem) {
			if p != "" {
				return i + 1
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("nothing stored in %s", mem)
	return 0
}

// A gateway killed while the read storage was "SR" (inside
// ReadStatusReport) leaves the modem so; the next Init switches back, and
// the SMS a +CMTI announces in SM reads.
func TestDevice_InitAfterKillInSR(t *testing.T) {
	r := mustRig(t, modemsim.Config{}, modem.Config{})
	mustInit(t, r.dev)
	ctx := t.Context()
	if _, err := r.dev.Modem().Command(ctx, `AT+CPMS="SR"`); err != nil {
		t.Fatalf("CPMS SR: %v", err)
	}
	r.dev.Close()

	dev := New(modem.New(r.sim.Pipe(ctx), modem.Config{}))
	t.Cleanup(func() { dev.Close() })
	mustInit(t, dev)
	if err := r.net.Deliver("+447700900123", r.sim.Number(), "after restart"); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	ev := nextEvent(t, dev)
	if ev.Kind != gateway.EventSMSStored || ev.Mem != "SM" {
		t.Fatalf("event = %+v, want EventSMSStored in SM", ev)
	}
	sms, err := dev.ReadMessage(ctx, ev.Mem, ev.Index)
	if err != nil {
		t.Fatalf("ReadMessage %s/%d: %v", ev.Mem, ev.Index, err)
	}
	if m, err := pdu.Decode(sms.PDU); err != nil || m.Text != "after restart" {
		t.Fatalf("ReadMessage = %+v (%v); want the delivered text", sms, err)
	}
}
