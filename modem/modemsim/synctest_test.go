package modemsim

import (
	"context"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/pdu"
)

// These tests run on synctest's fake clock, so latencies and report delays
// of minutes cost nothing and order is deterministic.

func TestSendLatencyLetsURCsThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, ms := mustNetwork(t, 1)
		m := ms[0]
		c := mustSlowClient(t, m)
		c.mustOK("AT+CNMI=2,1,0,0,0")
		m.SetSendLatency(time.Minute)

		seg := mustSubmit(t, "+447700900123", "slow network", pdu.SubmitOptions{})[0]
		start := time.Now()
		c.write("AT+CMGS=" + strconv.Itoa(seg.TPDULength) + "\r")
		c.expect("> ")
		c.write(seg.PDU + "\x1a")
		synctest.Wait() // the modem is now in its network round trip
		if err := n.Deliver("+447700900124", m.Number(), "meanwhile"); err != nil {
			t.Fatal(err)
		}
		// The indication comes while +CMGS is pending, as a whole line.
		c.expect(`+CMTI: "SM",1`)
		c.expect("+CMGS: 1")
		c.expect("OK")
		if got := time.Since(start); got != time.Minute {
			t.Errorf("+CMGS after %v, want 1m", got)
		}
	})
}

func TestReportDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, ms := mustNetwork(t, 1)
		c := mustSlowClient(t, ms[0])
		c.mustOK("AT+CNMI=2,1,0,1,0")
		n.SetReport("", ReportPolicy{Status: 0x20, Delay: 10 * time.Minute})

		mustSend(t, c, mustSubmit(t, "+447700900123", "later", pdu.SubmitOptions{StatusReport: true}))
		sent := time.Now()
		_, h := c.readUntil("+CDS: ")
		sr := readPDU(t, c, h)
		if got := time.Since(sent); got != 10*time.Minute {
			t.Errorf("report after %v, want 10m", got)
		}
		if sr.Status.Code != 0x20 || sr.Status.Class != pdu.StatusPending {
			t.Errorf("status %+v", sr.Status)
		}
	})
}

func TestWaitRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, ms := mustNetwork(t, 1)
		c := mustSlowClient(t, ms[0])
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := n.WaitRecords(ctx, 1); err == nil {
			t.Fatal("WaitRecords returned without records")
		}
		done := make(chan []Record)
		go func() {
			recs, err := n.WaitRecords(t.Context(), 2)
			if err != nil {
				t.Error(err)
			}
			done <- recs
		}()
		mustSend(t, c, mustSubmit(t, "+447700900123", "one", pdu.SubmitOptions{}))
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("WaitRecords(2) returned after one record")
		default:
		}
		mustSend(t, c, mustSubmit(t, "+447700900123", "two", pdu.SubmitOptions{}))
		if recs := <-done; len(recs) != 2 || recs[1].Text != "two" {
			t.Errorf("records %+v", recs)
		}
	})
}

// mustSlowClient is mustClient for the fake clock: its reads wait for
// longer than any delay these tests set.
func mustSlowClient(t *testing.T, m *Modem) *client {
	t.Helper()
	c := newClient(t, m.Pipe(t.Context()))
	c.wait = 24 * time.Hour
	c.mustOK("ATE0")
	c.mustOK("AT+CMEE=1")
	return c
}

func TestAckTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, ms := mustNetwork(t, 1)
		m := ms[0]
		c := mustSlowClient(t, m)
		c.mustOK("AT+CSMS=1")
		c.mustOK("AT+CNMI=2,2,0,0,0")
		if err := n.Deliver("+447700900123", m.Number(), "ack me"); err != nil {
			t.Fatal(err)
		}
		c.readUntil("+CMT: ")
		c.next() // the PDU
		time.Sleep(DefaultAckTimeout + time.Second)
		// Without +CNMA the modem stops routing directly and keeps the message.
		if got := c.mustInfo("AT+CNMI?"); got != "+CNMI: 2,0,0,0,0" {
			t.Errorf("after the ack timeout: %q", got)
		}
		info := c.mustOK("AT+CMGL=4")
		if len(info) != 2 || mustDecode(t, info[1]).Text != "ack me" {
			t.Errorf("unacknowledged message not stored: %q", info)
		}
	})
}
