package modemsim

import (
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/pdu"
)

// TestOnSubmit: the witness hears of each SUBMIT that decodes, with the
// time its AT+CMGS line came in, before the send latency is spent; a PDU
// that does not decode is not reported.
func TestOnSubmit(t *testing.T) {
	n, ms := mustNetwork(t, 1)
	ms[0].SetSendLatency(50 * time.Millisecond)
	var (
		mu  sync.Mutex
		got []Submit
	)
	ms[0].OnSubmit(func(s Submit) { mu.Lock(); got = append(got, s); mu.Unlock() })
	c := mustClient(t, ms[0])
	c.mustOK("AT+CMGF=0")
	if _, final := c.sendPDU("00FFFFFFFFFFFFFF", 7); final == "OK" {
		t.Fatal("a broken PDU was accepted")
	}
	before := time.Now()
	mustSend(t, c, mustSubmit(t, "+447700900123", "code 123456", pdu.SubmitOptions{}))
	recs := n.Records()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || len(recs) != 1 {
		t.Fatalf("submits %+v, records %d: want one of each", got, len(recs))
	}
	s := got[0]
	if s.To != "+447700900123" || s.Text != "code 123456" {
		t.Errorf("submit to %q text %q", s.To, s.Text)
	}
	if s.CMGSAt.Before(before) || s.PDUAt.Before(s.CMGSAt) {
		t.Errorf("times out of order: sent at %v, AT+CMGS at %v, PDU at %v", before, s.CMGSAt, s.PDUAt)
	}
	if !s.PDUAt.Before(recs[0].At) {
		t.Errorf("PDU seen at %v, not before the network accepted it at %v (after the latency)", s.PDUAt, recs[0].At)
	}
}
