package modemsim

import (
	"bytes"
	"strings"
	"testing"

	"github.com/simgate/simgate/pdu"
)

// TestDataSMS: a data SMS with ports and class 0 goes from one virtual
// modem to another; the network's records keep each part's bytes, ports,
// class and header, and the recipient gets them unchanged.
func TestDataSMS(t *testing.T) {
	n, ms := mustNetwork(t, 2)
	a, b := mustClient(t, ms[0]), mustClient(t, ms[1])
	b.mustOK("AT+CSMS=1")
	b.mustOK("AT+CNMI=2,2,0,0,0")
	data := bytes.Repeat([]byte{0x00, 0xFF}, 100) // 200 octets: 128 + 72
	sub, err := pdu.EncodeSubmitData(ms[1].Number(), data, pdu.SubmitOptions{ConcatRef: 9,
		Layout: pdu.Layout{Flash: true, Ports: &pdu.Ports{Dest: 2948, Source: 9200}}})
	if err != nil {
		t.Fatal(err)
	}
	mustSend(t, a, sub.Segments)
	recs := recordsFrom(n, ms[0].Number())
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	var joined []byte
	for i, r := range recs {
		if r.Encoding != "8bit" || !r.Flash || r.Ports == nil || r.Ports.Dest != 2948 || r.Ports.Source != 9200 ||
			r.Part != i+1 || r.Total != 2 || len(r.UDH) != 12 {
			t.Errorf("record %d: %+v", i+1, r)
		}
		joined = append(joined, r.Data...)
	}
	if !bytes.Equal(joined, data) {
		t.Errorf("records carry %X, want %X", joined, data)
	}
	var got []byte
	for range 2 {
		_, h := b.readUntil("+CMT: ")
		msg := readPDU(t, b, h)
		b.mustOK("AT+CNMA")
		if !msg.Flash || msg.Ports == nil || msg.Ports.Dest != 2948 || msg.Encoding != pdu.Octet {
			t.Errorf("received part: flash %t ports %+v encoding %s", msg.Flash, msg.Ports, msg.Encoding)
		}
		got = append(got, msg.Data...)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("recipient got %X", got)
	}

	t.Run("from outside", func(t *testing.T) {
		if err := n.DeliverData("+447700900123", ms[1].Number(), []byte("wap"), pdu.Layout{Ports: &pdu.Ports{Dest: 2948}}); err != nil {
			t.Fatal(err)
		}
		_, h := b.readUntil("+CMT: ")
		msg := readPDU(t, b, h)
		b.mustOK("AT+CNMA")
		if string(msg.Data) != "wap" || msg.Ports == nil || msg.Ports.Dest != 2948 || !strings.HasPrefix(msg.From.Number, "+44") {
			t.Errorf("received %+v", msg)
		}
	})
}
