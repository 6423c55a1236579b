//go:build linux

package modem_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/pdu"
)

// These tests drive modem through a real pseudo-terminal opened with
// go.bug.st/serial, the code path of a USB modem, against modemsim. Their
// deadlines only bound a failure; nothing waits for time to pass.

type simRig struct {
	net *modemsim.Network
	sim *modemsim.Modem
	m   *modem.Modem
}

func mustRig(t testing.TB, cfg modem.Config, simCfg modemsim.Config) simRig {
	t.Helper()
	n := modemsim.NewNetwork()
	t.Cleanup(func() { n.Close() })
	sim := n.AddModem(simCfg)
	path, err := sim.OpenPTY(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	m, err := modem.Open(t.Context(), path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := m.Init(ctx); err != nil {
		t.Fatalf("init: %v", err)
	}
	return simRig{net: n, sim: sim, m: m}
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitEvent returns the first event of kind, skipping others (noise).
func waitEvent(t *testing.T, m *modem.Modem, kinds ...modem.EventKind) modem.Event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e, ok := <-m.Events():
			if !ok {
				t.Fatal("events closed")
			}
			for _, k := range kinds {
				if e.Kind == k {
					return e
				}
			}
		case <-deadline:
			t.Fatalf("no %v event", kinds)
		}
	}
}

func TestPTY_InitAndIdentity(t *testing.T) {
	r := mustRig(t, modem.Config{PIN: "0000"}, modemsim.Config{PIN: "0000", Operator: "Virtual Telecom"})
	ctx := ctxFor(t)
	id, err := r.m.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := r.sim.Config()
	want := modem.Identity{
		Manufacturer: c.Manufacturer, Model: c.Model, Revision: c.Revision,
		IMEI: c.IMEI, IMSI: c.IMSI, ICCID: c.ICCID, Number: c.Number,
	}
	if id != want {
		t.Errorf("identity\n got %+v\nwant %+v", id, want)
	}
	reg, err := r.m.Registration(ctx)
	if err != nil || !reg.Registered() {
		t.Errorf("registration = %+v, %v", reg, err)
	}
	op, err := r.m.Operator(ctx)
	if err != nil || op.Name != "Virtual Telecom" {
		t.Errorf("operator = %+v, %v", op, err)
	}
	r.sim.SetSignal(18, 0)
	sig, err := r.m.Signal(ctx)
	if err != nil || sig.CSQ != 18 || sig.DBM != -77 || sig.Bars != 3 {
		t.Errorf("signal = %+v, %v", sig, err)
	}
	smsc, err := r.m.SMSC(ctx)
	if err != nil || !strings.HasPrefix(smsc, "+") {
		t.Errorf("smsc = %q, %v", smsc, err)
	}
}

func TestPTY_InitWithoutPIN(t *testing.T) {
	n := modemsim.NewNetwork()
	t.Cleanup(func() { n.Close() })
	sim := n.AddModem(modemsim.Config{PIN: "0000"})
	path, err := sim.OpenPTY(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	m, err := modem.Open(t.Context(), path, modem.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Init(ctxFor(t)); !errors.Is(err, modem.ErrPINRequired) {
		t.Fatalf("err = %v, want ErrPINRequired", err)
	}
}

func sendText(t *testing.T, m *modem.Modem, to, text string, opts pdu.SubmitOptions) (pdu.Submit, []int) {
	t.Helper()
	sub, err := pdu.EncodeSubmit(to, text, opts)
	if err != nil {
		t.Fatal(err)
	}
	var mrs []int
	for _, seg := range sub.Segments {
		mr, err := m.SendPDU(ctxFor(t), seg.TPDULength, seg.PDU)
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		mrs = append(mrs, mr)
	}
	return sub, mrs
}

func TestPTY_Send(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		encoding pdu.Encoding
		parts    int
	}{
		{"GSM7Single", "Your code is 123456. Valid 5 min {ok} €", pdu.GSM7, 1},
		{"GSM7Multipart", strings.Repeat("The quick brown fox jumps over the lazy dog. ", 8), pdu.GSM7, 3},
		{"UCS2Single", "Код подтверждения: 4821 ✓", pdu.UCS2, 1},
		{"UCS2Multipart", strings.Repeat("ваш код 1234 — ", 10), pdu.UCS2, 3},
	}
	r := mustRig(t, modem.Config{}, modemsim.Config{})
	to := "+447700900123"
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(r.net.Records())
			sub, mrs := sendText(t, r.m, to, tt.text, pdu.SubmitOptions{ConcatRef: 10 + i})
			if sub.Encoding != tt.encoding || len(sub.Segments) != tt.parts {
				t.Fatalf("encoded as %s in %d parts", sub.Encoding, len(sub.Segments))
			}
			recs, err := r.net.WaitRecords(ctxFor(t), before+tt.parts)
			if err != nil {
				t.Fatal(err)
			}
			recs = recs[before:]
			var text strings.Builder
			for j, rec := range recs {
				if rec.To != to || rec.From != r.sim.Number() || rec.MR != mrs[j] || rec.Encoding != string(tt.encoding) {
					t.Errorf("record %d = %+v (mr %d)", j, rec, mrs[j])
				}
				if rec.Total != tt.parts || rec.Part != j+1 {
					t.Errorf("record %d is part %d/%d", j, rec.Part, rec.Total)
				}
				if tt.parts > 1 && rec.Ref != 10+i {
					t.Errorf("record %d ref %d", j, rec.Ref)
				}
				text.WriteString(rec.Text)
			}
			if text.String() != tt.text {
				t.Errorf("network got %q, want %q", text.String(), tt.text)
			}
		})
	}
}

func TestPTY_StatusReport(t *testing.T) {
	r := mustRig(t, modem.Config{}, modemsim.Config{})
	r.net.SetReport("", modemsim.ReportPolicy{Status: 0x00})
	r.sim.SetNextMR(200)
	_, mrs := sendText(t, r.m, "+447700900123", "report me", pdu.SubmitOptions{StatusReport: true})

	e := waitEvent(t, r.m, modem.EventStatusReport, modem.EventStatusReportStored)
	hexPDU := e.PDU
	if e.Kind == modem.EventStatusReportStored {
		sm, err := r.m.ReadStatusReport(ctxFor(t), e.Mem, e.Index)
		if err != nil {
			t.Fatal(err)
		}
		hexPDU = sm.PDU
		if left := r.sim.Stored(e.Mem); left[e.Index-1] == "" {
			t.Errorf("report deleted from %s by the read, before anyone committed it", e.Mem)
		}
		if err := r.m.DeleteStatusReport(ctxFor(t), e.Mem, e.Index); err != nil {
			t.Fatal(err)
		}
		if left := r.sim.Stored(e.Mem); left[e.Index-1] != "" {
			t.Errorf("report not deleted from %s", e.Mem)
		}
	}
	msg, err := pdu.Decode(hexPDU)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Type != pdu.TypeStatusReport || msg.MR != mrs[0] || msg.Status == nil || msg.Status.Class != pdu.StatusDelivered {
		t.Errorf("report = %+v, want mr %d delivered", msg, mrs[0])
	}
	// The read storage was switched back: an inbound message is found where
	// ReadMessage looks.
	if err := r.net.Deliver("+447700900999", r.sim.Number(), "after report"); err != nil {
		t.Fatal(err)
	}
	ne := waitEvent(t, r.m, modem.EventNewMessage)
	if _, err := r.m.ReadMessage(ctxFor(t), ne.Index); err != nil {
		t.Errorf("read after status report: %v", err)
	}
}

func TestPTY_InboundStored(t *testing.T) {
	r := mustRig(t, modem.Config{}, modemsim.Config{})
	ctx := ctxFor(t)
	if err := r.net.Deliver("+447700900999", r.sim.Number(), "hello from outside"); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, r.m, modem.EventNewMessage)
	sm, err := r.m.ReadMessage(ctx, e.Index)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := pdu.Decode(sm.PDU)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Type != pdu.TypeDeliver || msg.Text != "hello from outside" || msg.From.Number != "+447700900999" {
		t.Errorf("message = %+v", msg)
	}
	list, err := r.m.ListMessages(ctx)
	if err != nil || len(list) != 1 || list[0].Index != e.Index || list[0].PDU != sm.PDU {
		t.Errorf("list = %+v, %v", list, err)
	}
	if err := r.m.DeleteMessage(ctx, e.Index); err != nil {
		t.Fatal(err)
	}
	if list, err := r.m.ListMessages(ctx); err != nil || len(list) != 0 {
		t.Errorf("after delete: %+v, %v", list, err)
	}
	if _, err := r.m.ReadMessage(ctx, e.Index); !errors.Is(err, modem.ErrNoMessage) {
		t.Errorf("read deleted: err = %v", err)
	}
}

func TestPTY_InboundDirect(t *testing.T) {
	r := mustRig(t, modem.Config{}, modemsim.Config{})
	if _, err := r.m.Command(ctxFor(t), "+CNMI=2,2,0,1,0"); err != nil {
		t.Fatal(err)
	}
	if err := r.net.Deliver("+447700900999", r.sim.Number(), "routed directly"); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, r.m, modem.EventDeliver)
	msg, err := pdu.Decode(e.PDU)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Text != "routed directly" {
		t.Errorf("text = %q", msg.Text)
	}
	if e.Length <= 0 {
		t.Errorf("length = %d", e.Length)
	}
}

func TestPTY_CMSError(t *testing.T) {
	r := mustRig(t, modem.Config{}, modemsim.Config{})
	tests := []struct {
		to    string
		code  int
		class modem.ErrorClass
	}{
		{"+447700900001", 1, modem.ClassPermanent},
		{"+447700900038", 38, modem.ClassTransient},
	}
	for _, tt := range tests {
		r.net.SetFailure(tt.to, tt.code)
		sub, err := pdu.EncodeSubmit(tt.to, "fail", pdu.SubmitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.m.SendPDU(ctxFor(t), sub.Segments[0].TPDULength, sub.Segments[0].PDU)
		var cms modem.CMSError
		if !errors.As(err, &cms) || cms.Code != tt.code || cms.Class() != tt.class {
			t.Errorf("send to %s: err = %v, want CMS %d (%s)", tt.to, err, tt.code, tt.class)
		}
	}
	// The line is still in step.
	if _, err := r.m.Signal(ctxFor(t)); err != nil {
		t.Error(err)
	}
}

func TestPTY_PromptNeverComes(t *testing.T) {
	r := mustRig(t, modem.Config{PromptTimeout: 300 * time.Millisecond}, modemsim.Config{})
	r.sim.SetNoPrompt(true)
	sub, err := pdu.EncodeSubmit("+447700900123", "stuck", pdu.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.m.SendPDU(ctxFor(t), sub.Segments[0].TPDULength, sub.Segments[0].PDU); !errors.Is(err, modem.ErrPromptTimeout) {
		t.Fatalf("err = %v, want ErrPromptTimeout", err)
	}
	r.sim.SetNoPrompt(false)
	if _, err := r.m.SendPDU(ctxFor(t), sub.Segments[0].TPDULength, sub.Segments[0].PDU); err != nil {
		t.Fatalf("send after the stuck one: %v", err)
	}
	if len(r.net.Records()) != 1 {
		t.Errorf("records = %+v", r.net.Records())
	}
}

// pduWritten signals once the trace shows the Ctrl-Z after a PDU.
type pduWritten struct {
	slog.Handler
	ch chan struct{}
}

func (h pduWritten) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "at tx" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "data" && strings.Contains(a.Value.String(), `\x1a`) {
				select {
				case h.ch <- struct{}{}:
				default:
				}
			}
			return true
		})
	}
	return nil
}

func (h pduWritten) Enabled(context.Context, slog.Level) bool { return true }

func TestPTY_UnplugMidSend(t *testing.T) {
	written := make(chan struct{}, 1)
	log := slog.New(pduWritten{Handler: slog.DiscardHandler, ch: written})
	r := mustRig(t, modem.Config{Logger: log}, modemsim.Config{})
	r.sim.SetSendLatency(time.Hour)
	sub, err := pdu.EncodeSubmit("+447700900123", "unplug me", pdu.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := r.m.SendPDU(t.Context(), sub.Segments[0].TPDULength, sub.Segments[0].PDU)
		errc <- err
	}()
	select {
	case <-written:
	case <-time.After(20 * time.Second):
		t.Fatal("PDU never written")
	}
	r.sim.Unplug()
	select {
	case err := <-errc:
		if !errors.Is(err, modem.ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	case <-time.After(20 * time.Second): // far below the 60 s send timeout
		t.Fatal("SendPDU hangs after unplug")
	}
	<-r.m.Done()
	for range r.m.Events() {
	}
	if _, err := r.m.Signal(ctxFor(t)); !errors.Is(err, modem.ErrClosed) {
		t.Errorf("after unplug: err = %v", err)
	}
}

func TestPTY_Noise(t *testing.T) {
	n := modemsim.NewNetwork()
	t.Cleanup(func() { n.Close() })
	sim := n.AddModem(modemsim.Config{})
	sim.SetNoise(modemsim.DefaultNoise...)
	path, err := sim.OpenPTY(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	m, err := modem.Open(t.Context(), path, modem.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := ctxFor(t)
	if err := m.Init(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := m.Identity(ctx)
	if err != nil || id.IMEI != sim.IMEI() || id.Number != sim.Number() {
		t.Errorf("identity = %+v, %v", id, err)
	}
	sig, err := m.Signal(ctx)
	if err != nil || !sig.Known {
		t.Errorf("signal = %+v, %v", sig, err)
	}
	_, mrs := sendText(t, m, "+447700900123", "through the noise", pdu.SubmitOptions{})
	recs, err := n.WaitRecords(ctx, 1)
	if err != nil || recs[0].MR != mrs[0] || recs[0].Text != "through the noise" {
		t.Errorf("records = %+v, %v", recs, err)
	}
	// The noise reached Events, not the answers.
	e := waitEvent(t, m, modem.EventUnsolicited)
	if e.Line == "" {
		t.Errorf("event = %+v", e)
	}
}

func TestPTY_ResetThenInit(t *testing.T) {
	r := mustRig(t, modem.Config{}, modemsim.Config{})
	r.sim.Reset()
	waitEvent(t, r.m, modem.EventReset)
	if err := r.m.Init(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if err := r.net.Deliver("+447700900999", r.sim.Number(), "after reset"); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, r.m, modem.EventNewMessage)
	if _, err := r.m.ReadMessage(ctxFor(t), e.Index); err != nil {
		t.Fatal(err)
	}
}

// TestPTY_USSD runs USSD through the real driver over a pty against a
// virtual modem answering in each style real firmware uses.
func TestPTY_USSD(t *testing.T) {
	const text = "Guthaben: 12,50 EUR. Gültig bis 31.12."
	tests := []struct {
		name   string
		style  modemsim.USSDStyle
		packed bool // the driver runs a profile that packs codes (Huawei)
		status int
		want   string
	}{
		{"Text", modemsim.USSDText, false, 0, text},
		{"RawGSM", modemsim.USSDRawGSM, false, 1, text},
		{"PackedHex", modemsim.USSDPackedHex, true, 0, text},
		{"UCS2UnderDCS15", modemsim.USSDUCS2, false, 2, text},
		{"UCS2", modemsim.USSDUCS2Declared, false, 0, text},
		{"UCS2Language", modemsim.USSDUCS2Language, false, 0, text},
		{"TextOverLines", modemsim.USSDText, false, 1, "Menu\n1 Balance\n2 Top-up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := modem.Config{}
			if tt.packed {
				cfg.Profile = &modem.Profile{Name: "packed", USSDPackedHex: true}
			}
			r := mustRig(t, cfg, modemsim.Config{})
			r.sim.SetUSSDStyle(tt.style)
			r.sim.SetUSSDReply("*100#", modemsim.USSDReply{Text: tt.want, Status: tt.status})
			res, err := r.m.USSD(ctxFor(t), "*100#")
			if err != nil {
				t.Fatal(err)
			}
			if res.Text != tt.want || res.Status != tt.status {
				t.Errorf("ussd = %+v, want %q with status %d", res, tt.want, tt.status)
			}
		})
	}
}
