package session_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/events"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/pdu"
	"github.com/simgate/simgate/session"
	"github.com/simgate/simgate/store"
)

// BenchmarkSupervisor_Inbound measures received SMS committed per second
// through the supervisor (decode, raw part, join, inbox) into a real SQLite
// file, fed by a device that routes them directly (+CMT).
func BenchmarkSupervisor_Inbound(b *testing.B) {
	for _, tt := range []struct {
		name string
		text string
	}{
		{"single", "your code is 123456"},
		{"3parts", supLong},
	} {
		b.Run(tt.name, func(b *testing.B) {
			st, err := store.Open(b.Context(), b.TempDir()+"/simgate.db", nil)
			if err != nil {
				b.Fatalf("store.Open: %v", err)
			}
			defer st.Close()
			// Each saved SMS appends sms.received to the event log.
			allSaved := make(chan struct{})
			go func() {
				defer close(allSaved)
				r := events.NewReader(st, 0, events.Settle)
				for saved := 0; saved < b.N; {
					evs, err := r.Next(b.Context())
					if err != nil {
						return
					}
					for _, ev := range evs {
						if ev.Type == gateway.EventSMSReceived {
							saved++
						}
					}
				}
			}()
			dev := newSupDevice("356938035643809")
			cfg := session.Config{Ports: []string{"fake0"}}
			var opened atomic.Int32
			open := func(context.Context, string) (gateway.Device, error) {
				if opened.Add(1) > 1 {
					return nil, errors.New("one session is enough")
				}
				return dev, nil
			}
			sup := session.New(cfg, st, &supAttacher{}, open, gateway.SystemClock{}, nil)
			ctx, cancel := context.WithCancel(b.Context())
			done := make(chan struct{})
			go func() { sup.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()

			// A new SMS every round (its own timestamp): the same PDU again
			// would rightly be taken for a re-read and not saved twice.
			rounds := make([][]string, b.N)
			base := time.Now()
			for i := range rounds {
				pdus, err := pdu.EncodeDeliver(pdu.Address{Number: "+447700900123", TOA: pdu.TOAInternational}, tt.text,
					pdu.DeliverOptions{SCTS: base.Add(time.Duration(i) * time.Second), ConcatRef: i % 256})
				if err != nil {
					b.Fatalf("EncodeDeliver: %v", err)
				}
				rounds[i] = pdus
			}

			b.ReportAllocs()
			b.ResetTimer()
			for _, pdus := range rounds {
				// One goroutine handles them in order, so a set is saved
				// before the next begins.
				for _, p := range pdus {
					dev.events <- gateway.DeviceEvent{Kind: gateway.EventSMS, PDU: p}
				}
			}
			<-allSaved
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sms/s")
		})
	}
}

// A PDU that does not decode is kept raw in the inbox with the decoder's
// reason and then deleted from the SIM, so that a few of them cannot fill
// its storage; one routed directly (+CMT) is kept the same way. A PDU with
// more user data than TP-UDL says decodes to its text.
func TestSupervisor_UndecodablePDUKeptRaw(t *testing.T) {
	st := mustSupStore(t, t.TempDir())
	from := pdu.Address{Number: "+447700900123", TOA: pdu.TOAInternational}
	good, err := pdu.EncodeDeliver(from, "fine", pdu.DeliverOptions{SCTS: time.Now()})
	if err != nil {
		t.Fatalf("EncodeDeliver: %v", err)
	}
	long, err := pdu.EncodeDeliver(from, "long tail", pdu.DeliverOptions{SCTS: time.Now()})
	if err != nil {
		t.Fatalf("EncodeDeliver: %v", err)
	}
	const bad, badCMT = "0004FF", "0004AB" // truncated DELIVERs
	dev := newSupDevice("356938035643809")
	dev.list = []gateway.StoredSMS{
		{Mem: "SM", Index: 1, PDU: bad},
		{Mem: "SM", Index: 2, PDU: good[0]},
		{Mem: "SM", Index: 3, PDU: long[0] + "0000FF"}, // surplus user data
	}
	var opened atomic.Int32
	startSupFake(t, st, func(context.Context, string) (gateway.Device, error) {
		if opened.Add(1) > 1 {
			return nil, errors.New("one session is enough")
		}
		return dev, nil
	})
	supEventually(t, "the bad pdu noted", func() bool {
		info, ok := supModem(t, st, dev.imei)
		return ok && strings.Contains(info.LastError, "undecodable pdu at SM/1")
	})
	supEventually(t, "all three deleted from the SIM", func() bool {
		d := dev.deletedIndexes()
		return slices.Contains(d, 1) && slices.Contains(d, 2) && slices.Contains(d, 3)
	})
	select {
	case dev.events <- gateway.DeviceEvent{Kind: gateway.EventSMS, PDU: badCMT}:
	case <-t.Context().Done():
		t.Fatal("the session took no event")
	}
	var inbox []*gateway.InboundMessage
	supEventually(t, "four messages in the inbox", func() bool {
		inbox, err = st.Inbox(context.Background(), time.Time{}, 10)
		return err == nil && len(inbox) == 4
	})
	texts := map[string]bool{}
	raw := map[string]string{}
	for _, m := range inbox {
		if m.Undecodable() {
			if m.Text != "" || m.Modem != dev.imei {
				t.Errorf("undecodable %+v: want no text and the modem", m)
			}
			raw[m.RawPDU] = m.DecodeError
			continue
		}
		texts[m.Text] = true
	}
	if !texts["fine"] || !texts["long tail"] {
		t.Errorf("decoded texts %v, want fine and long tail", texts)
	}
	for _, p := range []string{bad, badCMT} {
		if !strings.Contains(raw[p], "underflow") {
			t.Errorf("raw %s kept with reason %q, want the decoder's underflow (kept: %v)", p, raw[p], raw)
		}
	}
	supEventually(t, "the +CMT one noted", func() bool {
		info, ok := supModem(t, st, dev.imei)
		return ok && strings.HasPrefix(info.LastError, "undecodable pdu: ")
	})
}

// A PDU read again — the session ended between its commit and the SIM's
// delete (a kill, an unplug, a delete that failed) — is stored once, an
// undecodable one as much as one that decodes: the chaos soak saw the raw
// one saved twice.
func TestSupervisor_RereadPDUStoredOnce(t *testing.T) {
	st := mustSupStore(t, t.TempDir())
	from := pdu.Address{Number: "+447700900123", TOA: pdu.TOAInternational}
	good, err := pdu.EncodeDeliver(from, "read twice", pdu.DeliverOptions{SCTS: time.Now()})
	if err != nil {
		t.Fatalf("EncodeDeliver: %v", err)
	}
	list := []gateway.StoredSMS{{Mem: "SM", Index: 1, PDU: "0004FF007C03D5"}, {Mem: "SM", Index: 2, PDU: good[0]}}
	// Two sessions on the same SIM: the first one's deletes are lost, so the
	// second lists the same two PDUs again.
	first, second := newSupDevice("356938035643809"), newSupDevice("356938035643809")
	first.list, second.list = list, list
	var opened atomic.Int32
	startSupFake(t, st, func(context.Context, string) (gateway.Device, error) {
		switch opened.Add(1) {
		case 1:
			return first, nil
		case 2:
			return second, nil
		}
		return nil, errors.New("two sessions are enough")
	})
	supEventually(t, "the first session's deletes", func() bool { return len(first.deletedIndexes()) == 2 })
	first.Close()
	supEventually(t, "the second session's deletes", func() bool { return len(second.deletedIndexes()) == 2 })
	inbox, err := st.Inbox(context.Background(), time.Time{}, 10)
	if err != nil {
		t.Fatalf("Inbox: %v", err)
	}
	raw, texts := 0, 0
	for _, m := range inbox {
		switch {
		case m.Undecodable() && m.RawPDU == "0004FF007C03D5":
			raw++
		case m.Text == "read twice":
			texts++
		}
	}
	if raw != 1 || texts != 1 {
		t.Errorf("inbox holds the undecodable PDU %d times and the text %d times, want each once (%d messages)", raw, texts, len(inbox))
	}
}
