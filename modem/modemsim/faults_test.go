package modemsim

import (
	"fmt"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/pdu"
)

func TestAnswerDelayKeepsOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ms := mustNetwork(t, 1)
		m := ms[0]
		c := mustSlowClient(t, m)
		m.SetAnswerDelay("AT+CSQ", 12*time.Second)
		start := time.Now()
		c.write("AT+CSQ\r\n")
		c.write("AT+CGMM\r\n") // written while the modem is busy: answered after
		c.expect("+CSQ: 20,99")
		if d := time.Since(start); d != 12*time.Second {
			t.Errorf("+CSQ after %v, want 12s", d)
		}
		c.expect("OK")
		c.expect(m.Config().Model)
		c.expect("OK")
		m.SetAnswerDelay("+CSQ", 0)
		start = time.Now()
		c.mustOK("AT+CSQ")
		if d := time.Since(start); d != 0 {
			t.Errorf("+CSQ after %v with the delay removed", d)
		}
	})
}

// DelayNextAnswer delays one answer: the next AT+CSQ's, not the one after.
func TestDelayNextAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ms := mustNetwork(t, 1)
		m := ms[0]
		c := mustSlowClient(t, m)
		m.DelayNextAnswer("+CSQ", 12*time.Second)
		c.mustOK("AT+CGMM") // another command is not delayed, nor uses it up
		start := time.Now()
		c.mustOK("AT+CSQ")
		if d := time.Since(start); d != 12*time.Second {
			t.Errorf("first +CSQ after %v, want 12s", d)
		}
		start = time.Now()
		c.mustOK("AT+CSQ")
		if d := time.Since(start); d != 0 {
			t.Errorf("second +CSQ after %v, want at once", d)
		}
	})
}

func TestOKBeforePrompt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, ms := mustNetwork(t, 1)
		m := ms[0]
		c := mustSlowClient(t, m)
		m.SetOKBeforePrompt(true)
		seg := mustSubmit(t, "+447700900123", "never", pdu.SubmitOptions{})[0]
		c.write("AT+CMGS=" + strconv.Itoa(seg.TPDULength) + "\r")
		c.expect("OK")
		c.expect("> ") // the prompt is open all the same
		c.write("\x1b")
		c.expect("OK")
		c.mustOK("AT")
		if recs := n.Records(); len(recs) != 0 {
			t.Errorf("records = %+v", recs)
		}
	})
}

func TestLoseSendAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, ms := mustNetwork(t, 1)
		m := ms[0]
		c := mustSlowClient(t, m)
		m.SetLoseSendAnswer(true)
		seg := mustSubmit(t, "+447700900123", "sent, unanswered", pdu.SubmitOptions{})[0]
		c.write("AT+CMGS=" + strconv.Itoa(seg.TPDULength) + "\r")
		c.expect("> ")
		c.write(seg.PDU + "\x1a")
		// The next answer is the next command's: nothing came for the send.
		if info := c.mustOK("AT+CGMM"); len(info) != 1 || info[0] != m.Config().Model {
			t.Errorf("AT+CGMM info = %q", info)
		}
		if recs := n.Records(); len(recs) != 1 || recs[0].Text != "sent, unanswered" {
			t.Errorf("records = %+v", recs)
		}
	})
}

func TestLateAnswerComesWithTheNextWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, ms := mustNetwork(t, 1)
		m := ms[0]
		c := mustSlowClient(t, m)
		m.SetLateAnswer("+CSQ", true)
		m.SetLateAnswer("+CMGS", true)
		c.write("AT+CSQ\r\n")
		time.Sleep(time.Hour)
		synctest.Wait()
		if c.pending() {
			t.Fatal("answered before the host wrote again")
		}
		c.write("AT+CGMM\r\n")
		c.expect("+CSQ: 20,99")
		c.expect("OK")
		c.expect(m.Config().Model)
		c.expect("OK")

		// For AT+CMGS, the prompt comes at once and the result late.
		seg := mustSubmit(t, "+447700900123", "late", pdu.SubmitOptions{})[0]
		c.write("AT+CMGS=" + strconv.Itoa(seg.TPDULength) + "\r")
		c.expect("> ")
		c.write(seg.PDU + "\x1a")
		synctest.Wait()
		if len(n.Records()) != 0 || c.pending() {
			t.Fatal("sent and answered before the host wrote again")
		}
		c.write("\x1b")
		c.expect("+CMGS: 1")
		c.expect("OK")
		if len(n.Records()) != 1 {
			t.Errorf("records = %+v", n.Records())
		}
	})
}

// pending tells whether the modem wrote a line the test has not read; in a
// bubble after synctest.Wait, the client's reader has taken all there was.
func (c *client) pending() bool { return len(c.held) > 0 || len(c.lines) > 0 }

func TestSetEchoTurnsEchoBackOn(t *testing.T) {
	_, ms := mustNetwork(t, 1)
	c := mustClient(t, ms[0]) // ATE0
	ms[0].SetEcho(true)
	c.write("AT+CGMM\r")
	c.expect("AT+CGMM") // the host's own line comes back
	c.expect(ms[0].Config().Model)
	c.expect("OK")
}

func TestReceivePDUKeepsItAsGiven(t *testing.T) {
	_, ms := mustNetwork(t, 1)
	c := mustClient(t, ms[0])
	c.mustOK("AT+CNMI=2,1,0,0,0")
	const odd = "0004D0E17A1B0000625011224035400AFFFFFFFFFFFFFFFFFFFF" // does not decode
	ms[0].ReceivePDU(odd)
	c.expect(`+CMTI: "SM",1`)
	if got := c.mustOK("AT+CMGR=1"); len(got) != 2 || got[1] != odd {
		t.Errorf("AT+CMGR=1 = %q, want the PDU as given", got)
	}
}

func TestDuplicateReport(t *testing.T) {
	n, ms := mustNetwork(t, 2)
	a := mustClient(t, ms[0])
	n.SetReport("", ReportPolicy{Duplicate: true})
	a.mustOK("AT+CNMI=2,1,0,2,0")
	mrs := mustSend(t, a, mustSubmit(t, ms[1].Number(), "twice", pdu.SubmitOptions{StatusReport: true}))
	a.expect(`+CDSI: "SR",1`)
	a.expect(`+CDSI: "SR",2`)
	a.mustOK(`AT+CPMS="SR"`)
	for i := range 2 {
		if sr := mustDecode(t, a.mustOK(fmt.Sprint("AT+CMGR=", i+1))[1]); sr.MR != mrs[0] {
			t.Errorf("report %d has MR %d, want %d", i+1, sr.MR, mrs[0])
		}
	}
}
