package dispatch_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/dispatch"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/modem"
)

const (
	imeiA = "356938035643809"
	imeiB = "490154203237518"

	numOK   = "+12025550101"
	numOK2  = "+12025550102"
	numBad  = "+12025550166"
	numSlow = "+12025550177"
)

// cmsErr is what modemdev makes of a +CMS ERROR.
func cmsErr(class gateway.ErrorClass, code int, text string) error {
	cms := modem.CMSError{Code: code, Text: text}
	return &gateway.DeviceError{Class: class, Code: code, Reason: cms.Error(), Err: cms}
}

// long is a text of three GSM-7 segments.
var long = strings.Repeat("0123456789", 40)

func TestDispatcher_WakeSendsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		dev := newSendDev(imeiA)
		r.addModem(dev, gateway.ModemLimits{})
		synctest.Wait() // the worker found nothing and sleeps; the poll timer is 5 s away

		start := time.Now()
		m := r.send(gateway.SendRequest{To: numOK, Text: "hello"})
		synctest.Wait()

		sent := dev.Sent()
		if len(sent) != 1 {
			t.Fatalf("sent %d PDUs, want 1", len(sent))
		}
		// In the bubble time moves only when everything sleeps: a send that
		// waited for a timer would show the timer's delay.
		if d := sent[0].At.Sub(start); d != 0 {
			t.Errorf("sent %v after enqueue, want at once", d)
		}
		if sent[0].To != numOK || sent[0].Text != "hello" {
			t.Errorf("sent to %q text %q", sent[0].To, sent[0].Text)
		}
		got := r.message(m.ID)
		if got.Status != gateway.StatusSent || got.Modem != imeiA {
			t.Errorf("status %s modem %q, want sent by %s", got.Status, got.Modem, imeiA)
		}
		if p := got.Parts[0]; !p.HasMR || p.MR != sent[0].MR || p.Modem != imeiA {
			t.Errorf("part = %+v, want MR %d from %s", p, sent[0].MR, imeiA)
		}
		if !sent[0].Msg.StatusReportRequest {
			t.Error("TP-SRR not set; status_report defaults to true")
		}
	})
}

func TestDispatcher_Multipart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		dev := newSendDev(imeiA)
		r.addModem(dev, gateway.ModemLimits{})
		m := r.send(gateway.SendRequest{To: numOK, Text: long + "€"})
		synctest.Wait()

		sent := dev.Sent()
		if len(sent) != 3 || m.Segments != 3 {
			t.Fatalf("sent %d PDUs for %d segments, want 3", len(sent), m.Segments)
		}
		var text string
		for i, s := range sent {
			if s.Part != i+1 || s.Ref != m.ConcatRef {
				t.Errorf("PDU %d is part %d ref %d, want part %d ref %d", i, s.Part, s.Ref, i+1, m.ConcatRef)
			}
			text += s.Text
		}
		if text != long+"€" {
			t.Errorf("parts join to %q", text)
		}
		got := r.message(m.ID)
		if got.Status != gateway.StatusSent {
			t.Fatalf("status %s, want sent", got.Status)
		}
		for i, p := range got.Parts {
			if !p.HasMR || p.MR != sent[i].MR {
				t.Errorf("part %d: MR %d (has %v), want %d", i+1, p.MR, p.HasMR, sent[i].MR)
			}
		}
	})
}

func TestDispatcher_PriorityFirst(t *testing.T) {
	r := newRig(t, rigOptions{})
	for i := range 1000 {
		r.send(gateway.SendRequest{To: numOK, Text: fmt.Sprintf("bulk %d", i)})
	}
	r.send(gateway.SendRequest{To: numOK, Text: "low", Priority: "low"})
	r.send(gateway.SendRequest{To: numOK2, Text: "your code is 123456", Priority: "high"})

	dev := newSendDev(imeiA)
	dev.gate = make(chan struct{})
	r.addModem(dev, gateway.ModemLimits{})
	dev.gate <- struct{}{}
	dev.gate <- struct{}{}
	deadline := time.Now().Add(10 * time.Second)
	for len(dev.Sent()) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	sent := dev.Sent()
	close(dev.gate) // let the rest flow until shutdown
	if len(sent) < 2 {
		t.Fatalf("sent %d", len(sent))
	}
	if sent[0].Text != "your code is 123456" {
		t.Errorf("first sent %q, want the high-priority one", sent[0].Text)
	}
	if sent[1].Text != "bulk 0" {
		t.Errorf("second sent %q, want the oldest normal one", sent[1].Text)
	}
}

func TestDispatcher_PinnedOnlyOnItsModem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		a, b := newSendDev(imeiA), newSendDev(imeiB)
		r.addModem(a, gateway.ModemLimits{})
		r.addModem(b, gateway.ModemLimits{})
		synctest.Wait()
		var pinned []*gateway.Message
		for i := range 5 {
			pinned = append(pinned, r.send(gateway.SendRequest{To: numOK, Text: fmt.Sprintf("pinned %d", i), Modem: imeiB}))
		}
		synctest.Wait()
		if n := len(a.Sent()); n != 0 {
			t.Errorf("modem A sent %d messages pinned to B", n)
		}
		if n := len(b.Sent()); n != 5 {
			t.Errorf("modem B sent %d, want 5", n)
		}
		for _, m := range pinned {
			if got := r.message(m.ID); got.Status != gateway.StatusSent || got.Modem != imeiB {
				t.Errorf("%s: %s by %q", m.ID, got.Status, got.Modem)
			}
		}
	})
}

func TestDispatcher_PinnedWaitsForItsModem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		a := newSendDev(imeiA)
		r.addModem(a, gateway.ModemLimits{})
		if err := r.st.UpsertModem(t.Context(), gateway.ModemInfo{IMEI: imeiB, State: gateway.ModemOffline}); err != nil {
			t.Fatal(err)
		}
		m := r.send(gateway.SendRequest{To: numOK, Text: "for B", Modem: imeiB})
		free := r.send(gateway.SendRequest{To: numOK, Text: "for anyone"})
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := r.message(m.ID); got.Status != gateway.StatusQueued {
			t.Errorf("pinned to an absent modem: %s, want queued", got.Status)
		}
		if got := r.message(free.ID); got.Status != gateway.StatusSent {
			t.Errorf("unpinned message behind it: %s, want sent", got.Status)
		}
		b := newSendDev(imeiB)
		r.d.Attach(imeiB, b, gateway.ModemLimits{})
		synctest.Wait()
		if got := r.message(m.ID); got.Status != gateway.StatusSent || got.Modem != imeiB {
			t.Errorf("after B came: %s by %q, want sent by B", got.Status, got.Modem)
		}
	})
}

func TestDispatcher_PermanentFailureDoesNotBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		dev := newSendDev(imeiA)
		dev.setFn(func(c sentPDU) (int, error) {
			if c.To == numBad {
				return 0, cmsErr(gateway.ClassPermanent, 1, "unassigned number")
			}
			return 9, nil
		})
		bad := r.send(gateway.SendRequest{To: numBad, Text: "to nobody"})
		good := r.send(gateway.SendRequest{To: numOK, Text: "to someone"})
		r.addModem(dev, gateway.ModemLimits{})
		synctest.Wait()

		got := r.message(bad.ID)
		if got.Status != gateway.StatusFailed {
			t.Fatalf("bad number: %s, want failed", got.Status)
		}
		if want := "+CMS ERROR: 1 (unassigned number)"; got.Error != want {
			t.Errorf("error %q, want %q", got.Error, want)
		}
		if got.Parts[0].Status != gateway.StatusFailed {
			t.Errorf("part %s, want failed", got.Parts[0].Status)
		}
		if got := r.message(good.ID); got.Status != gateway.StatusSent {
			t.Errorf("message behind it: %s, want sent", got.Status)
		}
		if n := len(dev.Calls()); n != 2 {
			t.Errorf("%d SendPDU calls, want 2 (no retry of a permanent error)", n)
		}
	})
}

func TestDispatcher_TransientRetriedLaterElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		a := newSendDev(imeiA)
		a.setFn(func(sentPDU) (int, error) { return 0, cmsErr(gateway.ClassTransient, 42, "congestion") })
		r.addModem(a, gateway.ModemLimits{})
		start := time.Now()
		m := r.send(gateway.SendRequest{To: numOK, Text: "hi"})
		next := r.send(gateway.SendRequest{To: numOK2, Text: "next"})
		synctest.Wait()

		got := r.message(m.ID)
		if got.Status != gateway.StatusQueued || got.Attempts != 1 {
			t.Fatalf("after a transient error: %s, %d attempts; want queued, 1", got.Status, got.Attempts)
		}
		if want := start.Add(30 * time.Second); !got.NextAttempt.Equal(want) {
			t.Errorf("next attempt %v, want %v (first backoff step)", got.NextAttempt, want)
		}
		if got.Error != "+CMS ERROR: 42 (congestion)" {
			t.Errorf("error %q", got.Error)
		}
		if got.Pin != "" {
			t.Errorf("retried message pinned to %q", got.Pin)
		}
		// The network said congestion: modem A is paused (pause.go) and
		// leaves the one behind it alone, not burning its attempt too.
		if n := len(a.Calls()); n != 1 {
			t.Errorf("modem A got %d calls, want 1", n)
		}
		if got := r.message(next.ID); got.Status != gateway.StatusQueued || got.Attempts != 0 {
			t.Errorf("message behind it: %s, %d attempts; want queued, 0", got.Status, got.Attempts)
		}
		if until, reason := r.d.Paused(imeiA); !until.Equal(start.Add(dispatch.DefaultNetworkPause)) || reason != got.Error {
			t.Errorf("Paused(A) = %v, %q; want %v, %q", until, reason, start.Add(dispatch.DefaultNetworkPause), got.Error)
		}

		r.d.Detach(imeiA)
		b := newSendDev(imeiB)
		r.addModem(b, gateway.ModemLimits{})
		synctest.Wait()
		if sent := b.Sent(); len(sent) != 1 || sent[0].Text != "next" {
			t.Fatalf("modem B sent %v before the backoff ended, want the one behind only", sent)
		}
		time.Sleep(30*time.Second - time.Since(start))
		synctest.Wait()
		sent := b.Sent()
		if len(sent) != 2 {
			t.Fatalf("modem B sent %d after the backoff, want 2", len(sent))
		}
		// A timer for the retry, not the 5 s poll, woke the worker.
		if d := sent[1].At.Sub(start); d != 30*time.Second {
			t.Errorf("retried %v after the first try, want 30s", d)
		}
		if got := r.message(m.ID); got.Status != gateway.StatusSent || got.Modem != imeiB || got.Attempts != 1 {
			t.Errorf("after retry: %s by %q, %d attempts", got.Status, got.Modem, got.Attempts)
		}
	})
}

func TestDispatcher_MaxAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{dispatcher: dispatch.Config{
			MaxAttempts:  3,
			RetryBackoff: []time.Duration{time.Second, 2 * time.Second},
			// Shorter than the backoff: the retries' own timing is tested.
			NetworkPause: time.Millisecond, NetworkPauseMax: time.Millisecond,
		}})
		a := newSendDev(imeiA)
		a.setFn(func(sentPDU) (int, error) { return 0, cmsErr(gateway.ClassTransient, 38, "network out of order") })
		r.addModem(a, gateway.ModemLimits{})
		m := r.send(gateway.SendRequest{To: numOK, Text: "hi"})
		time.Sleep(time.Minute)
		synctest.Wait()

		got := r.message(m.ID)
		if got.Status != gateway.StatusFailed || got.Attempts != 2 {
			t.Errorf("%s after %d counted retries, want failed after 2", got.Status, got.Attempts)
		}
		if want := "+CMS ERROR: 38 (network out of order) (gave up after 3 attempts)"; got.Error != want {
			t.Errorf("error %q, want %q", got.Error, want)
		}
		calls := a.Calls()
		if len(calls) != 3 {
			t.Fatalf("%d calls, want 3", len(calls))
		}
		if d := calls[1].At.Sub(calls[0].At); d != time.Second {
			t.Errorf("second try after %v, want 1s", d)
		}
		if d := calls[2].At.Sub(calls[1].At); d != 2*time.Second {
			t.Errorf("third try after %v, want 2s", d)
		}
	})
}

func TestDispatcher_DeviceGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		a := newSendDev(imeiA)
		a.setFn(func(sentPDU) (int, error) {
			a.unplug()
			return 0, fmt.Errorf("send pdu: %w", gateway.ErrDeviceGone)
		})
		r.addModem(a, gateway.ModemLimits{})
		m := r.send(gateway.SendRequest{To: numOK, Text: "hi"})
		synctest.Wait()

		got := r.message(m.ID)
		if got.Status != gateway.StatusQueued || got.Attempts != 0 {
			t.Fatalf("after the modem went: %s, %d attempts; want queued, 0", got.Status, got.Attempts)
		}
		if got.NextAttempt.After(time.Now()) {
			t.Errorf("next attempt %v is in the future; a gone modem is not the message's fault", got.NextAttempt)
		}
		// The worker ended by itself; Detach returns at once.
		r.d.Detach(imeiA)

		b := newSendDev(imeiB)
		r.addModem(b, gateway.ModemLimits{})
		synctest.Wait()
		if got := r.message(m.ID); got.Status != gateway.StatusSent || got.Modem != imeiB {
			t.Errorf("after B came: %s by %q, want sent by B", got.Status, got.Modem)
		}
	})
}

func TestDispatcher_ModemStateGoesElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		a := newSendDev(imeiA)
		a.setFn(func(sentPDU) (int, error) { return 0, cmsErr(gateway.ClassModemState, 314, "SIM busy") })
		r.addModem(a, gateway.ModemLimits{})
		synctest.Wait()
		m := r.send(gateway.SendRequest{To: numOK, Text: "hi"})
		synctest.Wait()
		if got := r.message(m.ID); got.Status != gateway.StatusQueued || got.Attempts != 0 {
			t.Fatalf("after SIM busy: %s, %d attempts; want queued, 0", got.Status, got.Attempts)
		}
		b := newSendDev(imeiB)
		r.addModem(b, gateway.ModemLimits{})
		synctest.Wait()
		// A rests (1 s): B takes it without waiting.
		if got := r.message(m.ID); got.Status != gateway.StatusSent || got.Modem != imeiB {
			t.Errorf("%s by %q, want sent by B", got.Status, got.Modem)
		}
		if n := len(a.Calls()); n != 1 {
			t.Errorf("modem A got %d calls while resting, want 1", n)
		}
	})
}

func TestDispatcher_DailyCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A day of fake time: only the due-time timers should fire.
		r := newRig(t, rigOptions{dispatcher: dispatch.Config{PollFallback: time.Hour, ExpireEvery: time.Hour}})
		a := newSendDev(imeiA)
		r.addModem(a, gateway.ModemLimits{DailyCap: 3})
		synctest.Wait()
		for i := range 3 {
			r.send(gateway.SendRequest{To: numOK, Text: fmt.Sprintf("m%d", i)})
		}
		long := r.send(gateway.SendRequest{To: numOK, Text: long}) // 3 parts: over the cap
		synctest.Wait()
		if n := len(a.Sent()); n != 3 {
			t.Fatalf("sent %d parts under a cap of 3", n)
		}
		if got := r.message(long.ID); got.Status != gateway.StatusQueued || got.Attempts != 0 {
			t.Fatalf("message over the cap: %s, %d attempts; want queued, 0", got.Status, got.Attempts)
		}

		// Another modem takes what A may not send today.
		b := newSendDev(imeiB)
		r.addModem(b, gateway.ModemLimits{})
		synctest.Wait()
		if got := r.message(long.ID); got.Status != gateway.StatusSent || got.Modem != imeiB {
			t.Errorf("over A's cap: %s by %q, want sent by B", got.Status, got.Modem)
		}

		// A pinned message waits for A's next day.
		pinned := r.send(gateway.SendRequest{To: numOK, Text: "pinned", Modem: imeiA})
		synctest.Wait()
		if got := r.message(pinned.ID); got.Status != gateway.StatusQueued {
			t.Fatalf("pinned to a capped modem: %s, want queued", got.Status)
		}
		now := time.Now()
		midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.Local)
		time.Sleep(time.Until(midnight) - time.Second)
		synctest.Wait()
		if got := r.message(pinned.ID); got.Status != gateway.StatusQueued {
			t.Fatalf("pinned, a second before midnight: %s, want queued", got.Status)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := r.message(pinned.ID); got.Status != gateway.StatusSent || got.Modem != imeiA {
			t.Errorf("pinned, after midnight: %s by %q, want sent by A", got.Status, got.Modem)
		}
	})
}

func TestDispatcher_SendInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		a := newSendDev(imeiA)
		r.send(gateway.SendRequest{To: numOK, Text: "one"})
		r.send(gateway.SendRequest{To: numOK, Text: long}) // three parts
		r.addModem(a, gateway.ModemLimits{SendInterval: 2 * time.Second})
		time.Sleep(time.Minute)
		synctest.Wait()
		sent := a.Sent()
		if len(sent) != 4 {
			t.Fatalf("sent %d parts, want 4", len(sent))
		}
		for i := 1; i < len(sent); i++ {
			if d := sent[i].At.Sub(sent[i-1].At); d != 2*time.Second {
				t.Errorf("part %d went %v after the one before, want 2s", i, d)
			}
		}
	})
}

func TestDispatcher_NoGapBetweenSends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		a := newSendDev(imeiA)
		a.latency = 2 * time.Second
		for i := range 5 {
			r.send(gateway.SendRequest{To: numOK, Text: fmt.Sprintf("m%d", i)})
		}
		r.addModem(a, gateway.ModemLimits{})
		time.Sleep(time.Minute)
		synctest.Wait()
		sent := a.Sent()
		if len(sent) != 5 {
			t.Fatalf("sent %d, want 5", len(sent))
		}
		// At records the call; each takes 2 s: the next call comes right as
		// the previous returns.
		for i := 1; i < len(sent); i++ {
			if d := sent[i].At.Sub(sent[i-1].At); d != 2*time.Second {
				t.Errorf("send %d started %v after the previous one, want 2s", i, d)
			}
		}
	})
}

func TestDispatcher_LeaseExpiresAfterCrash(t *testing.T) {
	clock := testkit.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	r := newRig(t, rigOptions{clock: clock, dispatcher: dispatch.Config{Lease: time.Minute}})
	m := r.send(gateway.SendRequest{To: numOK, Text: "hi"})

	// A worker of a gateway that then crashed holds it.
	claimed, err := r.st.ClaimNext(t.Context(), gateway.Claim{Modem: imeiA, Now: clock.Now(), Lease: time.Minute})
	if err != nil || claimed == nil || claimed.ID != m.ID {
		t.Fatalf("ClaimNext = %v, %v", claimed, err)
	}
	b := newSendDev(imeiB)
	b.notify = make(chan sentPDU, 1)
	r.addModem(b, gateway.ModemLimits{})
	r.d.Wake()
	select {
	case c := <-b.notify:
		t.Fatalf("modem B sent %q under another's lease", c.Text)
	case <-time.After(50 * time.Millisecond):
		// Not a synchronisation: a negative check's grace period.
	}

	clock.Add(time.Minute)
	r.d.Wake()
	select {
	case c := <-b.notify:
		if c.Text != "hi" {
			t.Errorf("sent %q", c.Text)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("message not sent after its lease expired")
	}
	r.waitStatus(m.ID, gateway.StatusSent, 10*time.Second)
}

func TestDispatcher_DetachFinishesPartAndReleases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		a := newSendDev(imeiA)
		a.gate = make(chan struct{})
		r.addModem(a, gateway.ModemLimits{})
		m := r.send(gateway.SendRequest{To: numOK, Text: long}) // three parts
		synctest.Wait()                                         // part 1 is in flight

		detached := make(chan struct{})
		go func() {
			r.d.Detach(imeiA)
			close(detached)
		}()
		synctest.Wait()
		select {
		case <-detached:
			t.Fatal("Detach returned with a part in flight")
		default:
		}
		a.gate <- struct{}{} // part 1 answers
		<-detached

		if n := len(a.Sent()); n != 1 {
			t.Fatalf("sent %d parts after Detach, want 1", n)
		}
		got := r.message(m.ID)
		if got.Status != gateway.StatusQueued || got.Attempts != 0 {
			t.Fatalf("after Detach: %s, %d attempts; want queued, 0", got.Status, got.Attempts)
		}
		if p := got.Parts[0]; !p.HasMR || p.Modem != imeiA {
			t.Errorf("part 1 = %+v, want its MR recorded", p)
		}
		if p := got.Parts[1]; p.HasMR {
			t.Errorf("part 2 = %+v, want unsent", p)
		}

		// A comes back and continues where it stopped, same reference.
		a2 := newSendDev(imeiA)
		r.d.Attach(imeiA, a2, gateway.ModemLimits{})
		synctest.Wait()
		sent := a2.Sent()
		if len(sent) != 2 || sent[0].Part != 2 || sent[1].Part != 3 || sent[0].Ref != m.ConcatRef {
			t.Fatalf("after reattach sent %+v, want parts 2 and 3", sent)
		}
		if got := r.message(m.ID); got.Status != gateway.StatusSent {
			t.Errorf("status %s, want sent", got.Status)
		}
	})
}

func TestDispatcher_ResendsAllPartsFromAnotherModem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		a := newSendDev(imeiA)
		a.setFn(func(c sentPDU) (int, error) {
			if c.Part == 2 {
				return 0, cmsErr(gateway.ClassTransient, 47, "resources unavailable")
			}
			return 100 + c.Part, nil
		})
		r.addModem(a, gateway.ModemLimits{})
		m := r.send(gateway.SendRequest{To: numOK, Text: long})
		synctest.Wait()
		r.d.Detach(imeiA)

		b := newSendDev(imeiB)
		r.addModem(b, gateway.ModemLimits{})
		time.Sleep(time.Minute)
		synctest.Wait()
		sent := b.Sent()
		if len(sent) != 3 {
			t.Fatalf("modem B sent %d parts, want all 3", len(sent))
		}
		got := r.message(m.ID)
		if got.Status != gateway.StatusSent {
			t.Fatalf("status %s", got.Status)
		}
		for i, p := range got.Parts {
			if p.Modem != imeiB || p.MR != sent[i].MR {
				t.Errorf("part %d from %q MR %d, want from B with MR %d", i+1, p.Modem, p.MR, sent[i].MR)
			}
		}
	})
}

// Found by the chaos soak: part 1 went out from modem A and was already
// delivered when part 2 failed there; modem B sends the message whole, so
// part 1 again. Its record must take B's send (the handset joins B's
// parts), not fail on the delivered part and leave the message sending
// until its lease ends, to be sent whole again, and again.
func TestDispatcher_ResendsDeliveredPartFromAnotherModem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		a := newSendDev(imeiA)
		a.setFn(func(c sentPDU) (int, error) {
			if c.Part == 2 {
				return 0, cmsErr(gateway.ClassTransient, 47, "resources unavailable")
			}
			return 100 + c.Part, nil
		})
		r.addModem(a, gateway.ModemLimits{})
		srr := true
		m := r.send(gateway.SendRequest{To: numOK, Text: long, StatusReport: &srr})
		synctest.Wait()
		r.d.Detach(imeiA)
		if _, err := r.st.ApplyReport(context.Background(), gateway.Report{Modem: imeiA, MR: 101, Recipient: numOK,
			Class: "delivered", At: time.Now(), Window: time.Hour}); err != nil {
			t.Fatal(err)
		}
		if got := r.message(m.ID); got.Parts[0].Status != gateway.StatusDelivered {
			t.Fatalf("part 1 is %s, want delivered before B takes over", got.Parts[0].Status)
		}

		b := newSendDev(imeiB)
		r.addModem(b, gateway.ModemLimits{})
		time.Sleep(10 * time.Minute) // past several leases
		synctest.Wait()
		sent := b.Sent()
		if len(sent) != 3 {
			t.Fatalf("modem B sent %d parts, want all 3 once", len(sent))
		}
		got := r.message(m.ID)
		if got.Status != gateway.StatusSent {
			t.Fatalf("status %s, want sent", got.Status)
		}
		for i, p := range got.Parts {
			if p.Modem != imeiB || p.MR != sent[i].MR || p.Status != gateway.StatusSent || !p.DeliveredAt.IsZero() {
				t.Errorf("part %d: %+v, want sent from B with MR %d", i+1, p, sent[i].MR)
			}
		}
	})
}

func TestDispatcher_RunShutdownWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		a := newSendDev(imeiA)
		a.gate = make(chan struct{})
		r.addModem(a, gateway.ModemLimits{})
		m := r.send(gateway.SendRequest{To: numOK, Text: long})
		synctest.Wait()

		r.stop()
		synctest.Wait()
		select {
		case <-r.runDone:
			t.Fatal("Run returned with a part in flight")
		default:
		}
		a.gate <- struct{}{}
		if err := <-r.runDone; err != nil {
			t.Fatalf("Run: %v", err)
		}
		r.runDone = nil
		got := r.message(m.ID)
		if got.Status != gateway.StatusQueued || !got.Parts[0].HasMR || got.Parts[1].HasMR {
			t.Errorf("after shutdown: %s, parts %+v; want queued with part 1 recorded", got.Status, got.Parts)
		}
	})
}

func TestDispatcher_AttachReplaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		old, cur := newSendDev(imeiA), newSendDev(imeiA)
		r.addModem(old, gateway.ModemLimits{})
		synctest.Wait()
		var wg sync.WaitGroup
		for range 4 { // racing Attach calls must still leave one worker
			wg.Go(func() { r.d.Attach(imeiA, cur, gateway.ModemLimits{}) })
		}
		wg.Wait()
		for i := range 20 {
			r.send(gateway.SendRequest{To: numOK, Text: fmt.Sprintf("m%d", i)})
		}
		synctest.Wait()
		if n := len(old.Calls()); n != 0 {
			t.Errorf("replaced device got %d sends", n)
		}
		if n := len(cur.Sent()); n != 20 {
			t.Errorf("current device sent %d, want 20", n)
		}
	})
}

func TestDispatcher_ScheduledAndExpired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		start := time.Now()
		later := r.send(gateway.SendRequest{To: numOK, Text: "later", SendAt: start.Add(7 * time.Second)})
		if !later.SendAt.Equal(start.Add(7 * time.Second)) {
			t.Errorf("send_at %v", later.SendAt)
		}
		// Pinned to a modem that never comes: it expires instead.
		if err := r.st.UpsertModem(t.Context(), gateway.ModemInfo{IMEI: imeiB}); err != nil {
			t.Fatal(err)
		}
		doomed := r.send(gateway.SendRequest{To: numOK, Text: "doomed", Modem: imeiB, TTL: time.Minute})
		a := newSendDev(imeiA)
		r.addModem(a, gateway.ModemLimits{})
		time.Sleep(2 * time.Minute)
		synctest.Wait()

		sent := a.Sent()
		if len(sent) != 1 {
			t.Fatalf("sent %d, want 1", len(sent))
		}
		if d := sent[0].At.Sub(start); d != 7*time.Second {
			t.Errorf("scheduled message sent at +%v, want +7s", d)
		}
		if got := r.message(doomed.ID); got.Status != gateway.StatusExpired {
			t.Errorf("message past its TTL: %s, want expired", got.Status)
		}
	})
}

func TestDispatcher_ValidityFromTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		a := newSendDev(imeiA)
		refused := false
		a.setFn(func(c sentPDU) (int, error) {
			if c.Msg.Validity != 0 && !refused {
				refused = true
				return 0, cmsErr(gateway.ClassBadPDU, 0xC6, "TP-VPF not supported")
			}
			return 5, nil
		})
		r.addModem(a, gateway.ModemLimits{})
		m := r.send(gateway.SendRequest{To: numOK, Text: "otp", TTL: time.Hour})
		synctest.Wait()
		calls := a.Calls()
		if len(calls) != 2 {
			t.Fatalf("%d calls, want 2", len(calls))
		}
		if v := calls[0].Msg.Validity; v != time.Hour {
			t.Errorf("first try TP-VP %v, want 1h (the TTL)", v)
		}
		if v := calls[1].Msg.Validity; v != 0 {
			t.Errorf("second try TP-VP %v, want none", v)
		}
		if got := r.message(m.ID); got.Status != gateway.StatusSent {
			t.Errorf("status %s (%s), want sent", got.Status, got.Error)
		}
	})
}

func TestDispatcher_CanceledNotSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		m := r.send(gateway.SendRequest{To: numOK, Text: "never mind"})
		if _, err := r.svc.Cancel(t.Context(), m.ID); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		a := newSendDev(imeiA)
		r.addModem(a, gateway.ModemLimits{})
		synctest.Wait()
		if n := len(a.Calls()); n != 0 {
			t.Errorf("canceled message sent %d times", n)
		}
		if got := r.message(m.ID); got.Status != gateway.StatusCanceled {
			t.Errorf("status %s, want canceled", got.Status)
		}
	})
}

func TestDispatcher_AttachBeforeRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{noRun: true})
		a := newSendDev(imeiA)
		r.addModem(a, gateway.ModemLimits{})
		m := r.send(gateway.SendRequest{To: numOK, Text: "hi"})
		synctest.Wait()
		if n := len(a.Calls()); n != 0 {
			t.Fatalf("sent %d before Run", n)
		}
		r.start()
		synctest.Wait()
		if got := r.message(m.ID); got.Status != gateway.StatusSent {
			t.Errorf("status %s, want sent", got.Status)
		}
		if err := r.d.Run(context.Background()); err == nil {
			t.Error("second Run succeeded")
		}
	})
}

func TestDispatcher_StoreErrorsDoNotSpin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{})
		a := newSendDev(imeiA)
		r.addModem(a, gateway.ModemLimits{})
		synctest.Wait()
		// Closing the database under a running dispatcher: workers and
		// timers log and back off; shutdown still completes.
		if err := r.st.Close(); err != nil {
			t.Fatal(err)
		}
		r.d.Wake()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		r.shutdown()
		if n := len(a.Calls()); n != 0 {
			t.Errorf("%d sends with no database", n)
		}
	})
}

func TestDispatcher_LongMessageKeepsItsLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 41 s per part, a 2 min lease: the third part would outlive it.
		// (Not 40 s: a renewal at a multiple of the 5 s poll would meet the
		// poll's wake-up of B, the window doc.go admits.)
		r := newRig(t, rigOptions{dispatcher: dispatch.Config{Lease: 2 * time.Minute}})
		a, b := newSendDev(imeiA), newSendDev(imeiB)
		a.latency = 41 * time.Second
		r.addModem(a, gateway.ModemLimits{})
		synctest.Wait()
		m := r.send(gateway.SendRequest{To: numOK, Text: long + long}) // six parts
		synctest.Wait()                                                // part 1 in flight
		r.addModem(b, gateway.ModemLimits{})                           // idle, eager
		time.Sleep(10 * time.Minute)
		synctest.Wait()

		if n := len(b.Calls()); n != 0 {
			t.Errorf("modem B sent %d parts of A's message", n)
		}
		sent := a.Sent()
		if len(sent) != 6 {
			t.Fatalf("modem A sent %d parts, want 6 (each once)", len(sent))
		}
		for i, s := range sent {
			if s.Part != i+1 {
				t.Errorf("send %d was part %d", i, s.Part)
			}
		}
		got := r.message(m.ID)
		if got.Status != gateway.StatusSent || got.Attempts != 0 {
			t.Errorf("%s after %d attempts, want sent after 0", got.Status, got.Attempts)
		}
	})
}

func TestDispatcher_TimeoutRetriesAndPauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{dispatcher: dispatch.Config{SendTimeout: 20 * time.Second}})
		a := newSendDev(imeiA)
		a.gate = make(chan struct{}) // never answers: the send times out
		r.addModem(a, gateway.ModemLimits{})
		start := time.Now()
		m := r.send(gateway.SendRequest{To: numOK, Text: "hi"})
		time.Sleep(21 * time.Second)
		synctest.Wait()
		got := r.message(m.ID)
		if got.Status != gateway.StatusQueued || got.Attempts != 1 {
			t.Fatalf("after a timeout: %s, %d attempts; want queued, 1", got.Status, got.Attempts)
		}
		if want := start.Add(20*time.Second + 30*time.Second); !got.NextAttempt.Equal(want) {
			t.Errorf("next attempt %v, want %v", got.NextAttempt, want)
		}
		if !strings.Contains(got.Error, "deadline exceeded") {
			t.Errorf("error %q", got.Error)
		}
		close(a.gate)
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := r.message(m.ID); got.Status != gateway.StatusSent {
			t.Errorf("after the retry: %s", got.Status)
		}
	})
}
