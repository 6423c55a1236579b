package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
)

// TestE2E_DataSMS sends a data SMS to a port and a flash text through the
// native API of the real binary, from one virtual modem to the other (both
// the gateway's): the network records the bytes, port and class, and the
// inbox shows the joined data with its port. Bad base64 or a bad port is
// the validation problem (422) and queues nothing.
func TestE2E_DataSMS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	netw := startNetwork(t, 2)
	g := startGateway(t, t.TempDir(), freePort(t), "", netw.ports)
	from, to := netw.imeis[0], netw.numbers[1]

	data := make([]byte, 200) // two parts of at most 128 octets with the port
	for i := range data {
		data[i] = byte(255 - i)
	}
	status, sent := g.send(t, map[string]any{"to": to, "modem": from,
		"data": base64.StdEncoding.EncodeToString(data), "port": 8080})
	if status != 202 || sent.Encoding != "8bit" || sent.Segments != 2 {
		t.Fatalf("POST data = %d %+v, want 202 8bit in 2 segments", status, sent)
	}
	_, m := g.waitStatus(t, sent.ID, 30*time.Second, "delivered", "failed")
	if m.Status != "delivered" || !bytes.Equal(m.Data, data) || m.Port == nil || *m.Port != 8080 || m.Text != "" {
		t.Fatalf("GET data message: %s (%s), data %d octets, port %v", m.Status, m.Error, len(m.Data), m.Port)
	}
	status, flash := g.send(t, map[string]any{"to": to, "modem": from, "text": "flash!", "flash": true})
	if status != 202 || flash.Encoding != "gsm7" {
		t.Fatalf("POST flash = %d %+v", status, flash)
	}
	if _, fm := g.waitStatus(t, flash.ID, 30*time.Second, "delivered", "failed"); fm.Status != "delivered" || !fm.Flash {
		t.Fatalf("flash message: %s flash %t", fm.Status, fm.Flash)
	}

	var joined []byte
	sawFlash := false
	for _, r := range netw.records(t) {
		switch {
		case r.Encoding == "8bit" && r.Port != nil && *r.Port == 8080 && r.FromIMEI == from:
			joined = append(joined, r.Data...)
		case r.Text == "flash!" && r.Flash:
			sawFlash = true
		}
	}
	if !bytes.Equal(joined, data) || !sawFlash {
		t.Errorf("the network saw data %X (want %X) and flash %t", joined, data, sawFlash)
	}
	waitFor(t, 10*time.Second, "the data SMS in the inbox", func() bool {
		var in apiv1.Inbox
		g.get(t, "/api/v1/inbox?limit=100", &in)
		for _, im := range in.Messages {
			if bytes.Equal(im.Data, data) && im.Port != nil && *im.Port == 8080 && im.Text == "" && im.Parts == 2 {
				return true
			}
		}
		return false
	})

	bad := []map[string]any{
		{"to": to, "data": "not base64!"},
		{"to": to, "data": "AAEC", "port": 65536},
		{"to": to, "data": "AAEC", "text": "both"},
	}
	for _, body := range bad {
		b, _ := json.Marshal(body)
		var p apiv1.Problem
		if status := g.call(t, http.MethodPost, "/api/v1/messages", bytes.NewReader(b), &p); status != 422 || len(p.Errors) != 1 {
			t.Errorf("POST %v = %d %+v, want the validation problem (422) on one field", body, status, p)
		}
	}
	var list apiv1.MessageList
	if g.get(t, "/api/v1/messages?limit=100", &list); len(list.Messages) != 2 {
		t.Errorf("%d messages queued, want the 2 good ones", len(list.Messages))
	}
}
