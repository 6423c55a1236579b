package modemsim

import (
	"testing"

	"github.com/simgate/simgate/pdu"
)

// BenchmarkCommand measures one AT+CSQ round trip over a pipe.
func BenchmarkCommand(b *testing.B) {
	_, ms := mustNetwork(b, 1)
	c := mustClient(b, ms[0])
	b.ReportAllocs()
	for b.Loop() {
		if info, final := c.cmd("AT+CSQ"); final != "OK" || len(info) != 1 {
			b.Fatalf("got %q %q", info, final)
		}
	}
}

// BenchmarkSend measures one AT+CMGS round trip (prompt, PDU, +CMGS, OK)
// including decoding and recording, and reports messages per second.
func BenchmarkSend(b *testing.B) {
	_, ms := mustNetwork(b, 1)
	c := mustClient(b, ms[0])
	seg := mustSubmit(b, "+447700900123", "benchmark message", pdu.SubmitOptions{StatusReport: true})[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, final := c.sendPDU(seg.PDU, seg.TPDULength); final != "OK" {
			b.Fatalf("got %q", final)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkDeliverLocal measures a send from one virtual modem to another,
// through to the recipient's +CMTI.
func BenchmarkDeliverLocal(b *testing.B) {
	_, ms := mustNetwork(b, 2)
	a, r := mustClient(b, ms[0]), mustClient(b, ms[1])
	r.mustOK("AT+CNMI=2,1,0,0,0")
	seg := mustSubmit(b, ms[1].Number(), "to a neighbour", pdu.SubmitOptions{})[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, final := a.sendPDU(seg.PDU, seg.TPDULength); final != "OK" {
			b.Fatalf("got %q", final)
		}
		r.expect(`+CMTI: "SM",1`)
		r.mustOK("AT+CMGD=1")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
