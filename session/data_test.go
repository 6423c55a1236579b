package session_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/simgate/simgate/events"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/pdu"
)

// TestSupervisor_InboundData: a data SMS in three parts, with ports and
// class 0, is joined and kept with its bytes, ports and class; its
// sms.received event carries data (base64) and port, a text SMS's does not.
func TestSupervisor_InboundData(t *testing.T) {
	r := newSupRig(t, modemsim.Config{})
	r.start(r.config(), nil, nil)
	r.waitState(gateway.ModemOnline)

	data := make([]byte, 300) // 128 + 128 + 44 octets
	for i := range data {
		data[i] = byte(i)
	}
	if err := r.net.DeliverData("+447700900123", r.sim.Number(), data,
		pdu.Layout{Flash: true, Ports: &pdu.Ports{Dest: 2948, Source: 9200}}); err != nil {
		t.Fatal(err)
	}
	r.deliver("+447700900124", "plain text")
	in := r.waitInbox(2)
	byFrom := map[string]*gateway.InboundMessage{}
	for _, m := range in {
		byFrom[m.From] = m
	}
	m := byFrom["+447700900123"]
	if m == nil || !bytes.Equal(m.Data, data) || m.Text != "" || m.Parts != 3 || !m.Flash ||
		m.Ports == nil || *m.Ports != (gateway.Ports{Dest: 2948, Source: 9200}) {
		t.Fatalf("data SMS kept as %+v", m)
	}
	if m := byFrom["+447700900124"]; m == nil || m.Text != "plain text" || m.Data != nil || m.Ports != nil || m.Flash {
		t.Errorf("text SMS kept as %+v", m)
	}

	evs, err := events.NewReader(r.store.(gateway.EventLog), 0, 0).Next(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, ev := range evs {
		if ev.Type != gateway.EventSMSReceived {
			continue
		}
		var d gateway.InboundEventData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		_ = json.Unmarshal(ev.Data, &raw)
		switch d.From {
		case "+447700900123":
			seen++
			if !bytes.Equal(d.Data, data) || d.Port == nil || *d.Port != 2948 || !d.Flash || d.Text != "" {
				t.Errorf("data event %s", ev.Data)
			}
		case "+447700900124":
			seen++
			if _, ok := raw["data"]; ok || raw["port"] != nil || d.Text != "plain text" {
				t.Errorf("text event %s", ev.Data)
			}
		}
	}
	if seen != 2 {
		t.Errorf("%d sms.received events of the two", seen)
	}
}
