//go:build linux

package modem_test

import (
	"errors"
	"testing"
	"time"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/pdu"
)

// Late answers on a real pty (issue 9, finding 1). The virtual modem holds
// the answer to a command until the host writes something else
// (SetLateAnswer), and prints it then, before it reads what came: the
// answer the host gave up on arrives while it waits for the next one. No
// clock is raced: the host's timeouts only have to pass.

const shortTimeout = time.Second

func mustSubmit(t testing.TB, to, text string, opts pdu.SubmitOptions) pdu.Segment {
	t.Helper()
	sub, err := pdu.EncodeSubmit(to, text, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sub.Segments[0]
}

// Finding (a): a send times out and its +CMGS comes late. It is that
// send's MR, and the next send gets its own.
func TestResyncPTY_LateCMGSIsThatPartsMR(t *testing.T) {
	r := mustRig(t, modem.Config{SendTimeout: shortTimeout}, modemsim.Config{})
	first := mustSubmit(t, "+447700900123", "first", pdu.SubmitOptions{})
	second := mustSubmit(t, "+447700900124", "second", pdu.SubmitOptions{})

	r.sim.SetLateAnswer("+CMGS", true)
	mr1, err := r.m.SendPDU(ctxFor(t), first.TPDULength, first.PDU)
	if err != nil {
		t.Fatalf("first send: %v (its +CMGS came late and must count)", err)
	}
	r.sim.SetLateAnswer("+CMGS", false)
	mr2, err := r.m.SendPDU(ctxFor(t), second.TPDULength, second.PDU)
	if err != nil {
		t.Fatalf("second send: %v", err)
	}
	recs, err := r.net.WaitRecords(ctxFor(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Text != "first" || recs[1].Text != "second" {
		t.Fatalf("network got %+v, want first and second once each", recs)
	}
	if mr1 != recs[0].MR || mr2 != recs[1].MR {
		t.Errorf("MRs = %d, %d; network says %d, %d", mr1, mr2, recs[0].MR, recs[1].MR)
	}
}

// Finding (b): AT+CSQ times out; its late answer is not AT+CGMM's.
func TestResyncPTY_LateCSQNotTakenForCGMM(t *testing.T) {
	r := mustRig(t, modem.Config{CommandTimeout: shortTimeout}, modemsim.Config{})
	r.sim.SetLateAnswer("+CSQ", true)
	if _, err := r.m.Signal(ctxFor(t)); !errors.Is(err, modem.ErrTimeout) {
		t.Fatalf("signal: err = %v, want ErrTimeout", err)
	}
	r.sim.SetLateAnswer("+CSQ", false)
	info, err := r.m.Command(ctxFor(t), "AT+CGMM")
	if err != nil || len(info) != 1 || info[0] != r.sim.Config().Model {
		t.Fatalf("AT+CGMM = %q, %v; want the model %q", info, err, r.sim.Config().Model)
	}
	r.sim.SetSignal(17, 0)
	if sig, err := r.m.Signal(ctxFor(t)); err != nil || sig.CSQ != 17 {
		t.Errorf("signal after = %+v, %v", sig, err)
	}
}

// Finding (c): an OK before the prompt of AT+CMGS. ESC must close the
// prompt: the commands after it are answered, not typed into a PDU.
func TestResyncPTY_OKBeforePromptLeavesNoPromptOpen(t *testing.T) {
	r := mustRig(t, modem.Config{CommandTimeout: 3 * time.Second}, modemsim.Config{})
	seg := mustSubmit(t, "+447700900123", "not now", pdu.SubmitOptions{})
	r.sim.SetOKBeforePrompt(true)
	_, err := r.m.SendPDU(ctxFor(t), seg.TPDULength, seg.PDU)
	if !errors.Is(err, modem.ErrPromptTimeout) || errors.Is(err, modem.ErrSendUnknown) {
		t.Fatalf("err = %v, want ErrPromptTimeout (not sent)", err)
	}
	r.sim.SetOKBeforePrompt(false)
	r.sim.SetSignal(12, 0)
	if sig, err := r.m.Signal(ctxFor(t)); err != nil || sig.CSQ != 12 {
		t.Fatalf("signal after = %+v, %v: the modem was left at the prompt", sig, err)
	}
	if _, err := r.m.SendPDU(ctxFor(t), seg.TPDULength, seg.PDU); err != nil {
		t.Fatalf("send after: %v", err)
	}
	if recs := r.net.Records(); len(recs) != 1 {
		t.Errorf("network got %d messages, want 1", len(recs))
	}
}

// Finding (d), the wedge: a health check answered late, arriving while a
// send waits for its prompt, must neither fail the send nor leave the modem
// at the prompt, and the delivery report that follows is read.
func TestResyncPTY_LateHealthAnswerDuringSend(t *testing.T) {
	r := mustRig(t, modem.Config{CommandTimeout: shortTimeout}, modemsim.Config{})
	r.net.SetReport("", modemsim.ReportPolicy{Status: 0x00})
	r.sim.SetLateAnswer("+CSQ", true)
	if _, err := r.m.Signal(ctxFor(t)); !errors.Is(err, modem.ErrTimeout) {
		t.Fatalf("signal: err = %v, want ErrTimeout", err)
	}
	r.sim.SetLateAnswer("+CSQ", false)
	seg := mustSubmit(t, "+447700900123", "report me", pdu.SubmitOptions{StatusReport: true})
	mr, err := r.m.SendPDU(ctxFor(t), seg.TPDULength, seg.PDU)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	e := waitEvent(t, r.m, modem.EventStatusReport, modem.EventStatusReportStored)
	hexPDU := e.PDU
	if e.Kind == modem.EventStatusReportStored {
		sm, err := r.m.ReadStatusReport(ctxFor(t), e.Mem, e.Index)
		if err != nil {
			t.Fatalf("read report: %v", err)
		}
		hexPDU = sm.PDU
		if err := r.m.DeleteStatusReport(ctxFor(t), e.Mem, e.Index); err != nil {
			t.Fatal(err)
		}
		if left := r.sim.Stored(e.Mem); left[e.Index-1] != "" {
			t.Errorf("report left in %s", e.Mem)
		}
	}
	msg, err := pdu.Decode(hexPDU)
	if err != nil {
		t.Fatal(err)
	}
	if msg.MR != mr || msg.Status == nil || msg.Status.Class != pdu.StatusDelivered {
		t.Errorf("report = %+v, want mr %d delivered", msg, mr)
	}
}

// A send whose answer never comes: it may have gone out (here it did), so
// the error says the outcome is unknown, not that it failed, and the line
// is usable afterwards.
func TestResyncPTY_NoAnswerIsUnknownOutcome(t *testing.T) {
	r := mustRig(t, modem.Config{SendTimeout: shortTimeout, ResyncTimeout: shortTimeout}, modemsim.Config{})
	seg := mustSubmit(t, "+447700900123", "lost answer", pdu.SubmitOptions{})
	r.sim.SetLoseSendAnswer(true)
	_, err := r.m.SendPDU(ctxFor(t), seg.TPDULength, seg.PDU)
	if !errors.Is(err, modem.ErrSendUnknown) || !errors.Is(err, modem.ErrTimeout) {
		t.Fatalf("err = %v, want ErrSendUnknown", err)
	}
	if recs := r.net.Records(); len(recs) != 1 {
		t.Errorf("network got %d messages, want 1", len(recs))
	}
	r.sim.SetLoseSendAnswer(false)
	r.sim.SetSignal(9, 0)
	if sig, err := r.m.Signal(ctxFor(t)); err != nil || sig.CSQ != 9 {
		t.Errorf("signal after = %+v, %v", sig, err)
	}
}

// BenchmarkResyncPTY measures what a send costs when a stray OK comes
// before its prompt, on a real pty: the error, ESC and the resync (a
// marker and its answer), until the line is usable again.
func BenchmarkResyncPTY(b *testing.B) {
	r := mustRig(b, modem.Config{}, modemsim.Config{})
	seg := mustSubmit(b, "+447700900123", "never sent", pdu.SubmitOptions{})
	r.sim.SetOKBeforePrompt(true)
	ctx := b.Context()
	for b.Loop() {
		if _, err := r.m.SendPDU(ctx, seg.TPDULength, seg.PDU); !errors.Is(err, modem.ErrPromptTimeout) {
			b.Fatalf("err = %v", err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/recovery")
}

// A send whose +CMGS comes only after every marker of its resync went
// unanswered (the modem busy for seconds): the send ends with
// ErrSendUnknown, and the answer, when it comes, is tied back to it as
// EventLateSendAnswer with the MR the network gave it, so that its part can
// still be matched by its report. The line is usable afterwards.
func TestResyncPTY_AnswerAfterEveryMarkerIsTiedBack(t *testing.T) {
	r := mustRig(t, modem.Config{SendTimeout: shortTimeout, ResyncTimeout: shortTimeout}, modemsim.Config{})
	seg := mustSubmit(t, "+447700900123", "very late", pdu.SubmitOptions{})
	// Well past the send timeout and three markers' waits (≈ 4 s).
	r.sim.SetSendLatency(10 * time.Second)
	_, err := r.m.SendPDU(ctxFor(t), seg.TPDULength, seg.PDU)
	if !errors.Is(err, modem.ErrSendUnknown) {
		t.Fatalf("err = %v, want ErrSendUnknown (the answer comes after the resync gave up)", err)
	}
	r.sim.SetSendLatency(0)
	ev := waitEvent(t, r.m, modem.EventLateSendAnswer)
	recs, err := r.net.WaitRecords(ctxFor(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if ev.MR != recs[0].MR {
		t.Errorf("late answer MR %d, network gave %d", ev.MR, recs[0].MR)
	}
	r.sim.SetSignal(9, 0)
	if sig, err := r.m.Signal(ctxFor(t)); err != nil || sig.CSQ != 9 {
		t.Errorf("signal after = %+v, %v", sig, err)
	}
}
