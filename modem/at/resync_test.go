package at

import (
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// The late answer to a command that timed out comes, as a modem answers in
// order, before the answer to whatever is written next (fakePort.lateAnswer).

func TestResync_LateAnswerNotCreditedToNextCommand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakePort().on("AT+CSQ\r\n").on("AT+CGMM\r\n", "\r\nEC25\r\n\r\nOK\r\n").on(cmee, cmeeAnswer)
		e := mustEngine(t, f, newLines())
		if _, err := run(t, e, Request{Command: "AT+CSQ", Timeout: time.Second}); !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v", err)
		}
		if !e.OutOfStep() {
			t.Error("in step after a timeout")
		}
		f.lateAnswer("\r\n+CSQ: 9,99\r\n", "\r\nOK\r\n")
		info, err := run(t, e, Request{Command: "AT+CGMM", Timeout: time.Second})
		if err != nil || !slices.Equal(info, []string{"EC25"}) {
			t.Fatalf("AT+CGMM got %q, %v", info, err)
		}
		if w := f.written(); !slices.Equal(w, []string{"AT+CSQ\r\n", cmee, "AT+CGMM\r\n"}) {
			t.Errorf("writes = %q", w)
		}
		if e.OutOfStep() {
			t.Error("still out of step")
		}
	})
}

func TestResync_LateCMGSReturnedAsStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakePort().on("AT+CMGS=5\r", "\r\n> ").on("0001000000\x1a").on(cmee, cmeeAnswer)
		e := mustEngine(t, f, newLines())
		_, err := run(t, e, Request{Command: "AT+CMGS=5", PDU: "0001000000", Timeout: time.Second, PromptTimeout: time.Second})
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrPDUUnanswered) {
			t.Fatalf("err = %v, want ErrTimeout and ErrPDUUnanswered", err)
		}
		if !f.wrote("\x1b") {
			t.Error("no ESC after a PDU without answer")
		}
		f.lateAnswer("\r\n+CMGS: 7\r\n", "\r\nOK\r\n")
		stale, err := resync(t, e)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(stale, []string{"+CMGS: 7", "OK"}) {
			t.Errorf("stale = %q", stale)
		}
	})
}

func TestResync_OKBeforePrompt(t *testing.T) {
	// A late OK before the prompt of AT+CMGS: ESC must close the prompt
	// that follows, and nothing after it may be typed into it. The prompt
	// may be read while the next command's resync drains, which then takes
	// the next marker: both are answered.
	synctest.Test(t, func(t *testing.T) {
		f := newFakePort().on("AT+CMGS=5\r", "\r\nOK\r\n", "\r\n> ").on(cmee, cmeeAnswer).on(gcap, gcapAnswer).on("AT+CSQ\r\n", "\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
		e := mustEngine(t, f, newLines())
		_, err := run(t, e, Request{Command: "AT+CMGS=5", PDU: "0001000000", Timeout: time.Second, PromptTimeout: time.Second})
		if !errors.Is(err, ErrPromptTimeout) {
			t.Fatalf("err = %v", err)
		}
		if f.wrote("0001000000\x1a") {
			t.Error("PDU written after a final result")
		}
		info, err := run(t, e, Request{Command: "AT+CSQ", Timeout: time.Second})
		if err != nil || !slices.Equal(info, []string{"+CSQ: 20,99"}) {
			t.Fatalf("AT+CSQ got %q, %v", info, err)
		}
		w := f.written()
		if len(w) < 2 || w[1] != "\x1b" {
			t.Errorf("writes = %q, want ESC right after AT+CMGS", w)
		}
	})
}

func TestResync_PromptSwallowsMarker(t *testing.T) {
	// A modem still at "> " takes the marker as PDU text and shows the
	// prompt again: ESC, and the next marker is awaited, not the first.
	synctest.Test(t, func(t *testing.T) {
		f := newFakePort().on("AT+CSQ\r\n").on(cmee, "\r\n> ").on("\x1b", "\r\nOK\r\n").on(gcap, gcapAnswer).on("AT\r\n", "\r\nOK\r\n")
		e := mustEngine(t, f, newLines())
		if _, err := run(t, e, Request{Command: "AT+CSQ", Timeout: time.Second}); !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v", err)
		}
		if _, err := run(t, e, Request{Command: "AT", Timeout: time.Second}); err != nil {
			t.Fatal(err)
		}
		if w := f.written(); !slices.Equal(w, []string{"AT+CSQ\r\n", cmee, "\x1b", gcap, "AT\r\n"}) {
			t.Errorf("writes = %q", w)
		}
	})
}

func TestResync_NoAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakePort().on("AT+CSQ\r\n").on(cmee).on(gcap).on("AT+CSCS?\r\n")
		e := New(f, Config{ResyncTimeout: 2 * time.Second})
		t.Cleanup(func() { e.Close() })
		if _, err := run(t, e, Request{Command: "AT+CSQ", Timeout: time.Second}); !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v", err)
		}
		start := time.Now()
		_, err := run(t, e, Request{Command: "AT+CGMM", Timeout: time.Second})
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d != 3*2*time.Second {
			t.Errorf("gave up after %v, want three markers of 2s", d)
		}
		if f.wrote("AT+CGMM\r\n") {
			t.Error("command sent on a line out of step")
		}
		if !e.OutOfStep() {
			t.Error("in step without an answer")
		}
		// What comes late is kept for the next resync, which succeeds once
		// the markers it did not get are taken as lost.
		time.Sleep(e.markerExpiry())
		f.on(cmee, cmeeAnswer)
		f.lateAnswer("\r\n+CSQ: 9,99\r\n\r\nOK\r\n")
		stale, err := resync(t, e)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(stale, "+CSQ: 9,99") {
			t.Errorf("stale = %q", stale)
		}
	})
}

func TestResync_StrayPrompt(t *testing.T) {
	// A prompt while nothing is pending leaves the modem typing a PDU: the
	// next command first closes it with ESC.
	synctest.Test(t, func(t *testing.T) {
		f := newFakePort().on(cmee, cmeeAnswer).on("AT\r\n", "\r\nOK\r\n")
		e := mustEngine(t, f, newLines())
		f.inject("\r\n> ")
		synctest.Wait()
		if _, err := run(t, e, Request{Command: "AT", Timeout: time.Second}); err != nil {
			t.Fatal(err)
		}
		if w := f.written(); !slices.Equal(w, []string{"\x1b", cmee, "AT\r\n"}) {
			t.Errorf("writes = %q", w)
		}
	})
}

// resync locks the line and resynchronises it.
func resync(t *testing.T, e *Engine) ([]string, error) {
	t.Helper()
	if err := e.Lock(t.Context()); err != nil {
		return nil, err
	}
	defer e.Unlock()
	return e.Resync(t.Context(), 0, 0)
}

func TestResync_OldMarkerAnswerNotTakenForNewOne(t *testing.T) {
	// A modem so slow that three markers time out: when the fourth marker
	// (AT+CMEE? again) is written, the +CMEE answer that comes is the
	// first one's, and does not end the resync.
	synctest.Test(t, func(t *testing.T) {
		f := newFakePort().on(cmee).on(gcap).on("AT+CSCS?\r\n")
		e := mustEngine(t, f, newLines())
		if err := e.Lock(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer e.Unlock()
		if _, err := e.Resync(t.Context(), 3, time.Second); !errors.Is(err, ErrTimeout) {
			t.Fatalf("first resync: %v", err)
		}
		f.on(cmee, cmeeAnswer) // the first marker's answer, late
		if _, err := e.Resync(t.Context(), 1, time.Second); !errors.Is(err, ErrTimeout) {
			t.Fatalf("resync ended on an old marker's answer: err = %v", err)
		}
		// Its own answer, and the others', end the next one.
		f.on(gcap, gcapAnswer, "\r\n+CSCS: \"GSM\"\r\n\r\nOK\r\n", cmeeAnswer, gcapAnswer)
		if _, err := e.Resync(t.Context(), 1, time.Second); err != nil {
			t.Fatalf("resync: %v", err)
		}
		if e.OutOfStep() {
			t.Error("still out of step")
		}
	})
}
