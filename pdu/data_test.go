package pdu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// dataVector is a line of testdata/data.jsonl (gen_vectors.py data): a
// submit with a class, 8-bit data, a UDH or ports, and the delivers gammu
// decoded.
type dataVector struct {
	Name     string   `json:"name"`
	To       string   `json:"to"`
	Text     *string  `json:"text"`
	Data     *string  `json:"data"`
	Encoding Encoding `json:"encoding"`
	Flash    bool     `json:"flash"`
	UDH      string   `json:"udh"`
	Ports    *struct {
		Dest   int `json:"dest"`
		Source int `json:"source"`
	} `json:"ports"`
	PDUs     []string `json:"pdus"`
	Delivers []struct {
		PDU   string `json:"pdu"`
		Class int    `json:"class"`
		UDH   string `json:"udh"`
		Text  string `json:"text"` // hex for 8-bit
	} `json:"delivers"`
}

func (v dataVector) layout(tb testing.TB) Layout {
	l := Layout{Flash: v.Flash, UDH: mustHex(tb, v.UDH)}
	if v.Ports != nil {
		l.Ports = &Ports{Dest: v.Ports.Dest, Source: v.Ports.Source}
	}
	return l
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	if s == "" {
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestEncodeSubmit_GammuData(t *testing.T) {
	for _, v := range mustReadJSONL[dataVector](t, "data.jsonl") {
		t.Run(v.Name, func(t *testing.T) {
			opts := SubmitOptions{Validity: time.Hour, ConcatRef: 42, Layout: v.layout(t)}
			var (
				got Submit
				err error
			)
			if v.Data != nil {
				got, err = EncodeSubmitData(v.To, mustHex(t, *v.Data), opts)
			} else {
				got, err = EncodeSubmit(v.To, *v.Text, opts)
			}
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if got.Encoding != v.Encoding {
				t.Errorf("encoding = %s, want %s", got.Encoding, v.Encoding)
			}
			if len(got.Segments) != len(v.PDUs) {
				t.Fatalf("%d segments, gammu made %d", len(got.Segments), len(v.PDUs))
			}
			for i, seg := range got.Segments {
				if seg.PDU != v.PDUs[i] {
					t.Errorf("segment %d:\n got %s\nwant %s", i+1, seg.PDU, v.PDUs[i])
				}
			}
			est, err := Plan(ptrOr(v.Text), dataOf(t, v), opts.Layout)
			if err != nil || est.Segments != len(v.PDUs) || est.Encoding != v.Encoding {
				t.Errorf("Plan = %+v, %v; want %d segments of %s", est, err, len(v.PDUs), v.Encoding)
			}
		})
	}
}

func TestDecode_GammuData(t *testing.T) {
	for _, v := range mustReadJSONL[dataVector](t, "data.jsonl") {
		t.Run(v.Name, func(t *testing.T) {
			r := NewReassembler(time.Hour)
			var whole *Message
			for i, d := range v.Delivers {
				m := mustDecode(t, d.PDU)
				if m.Flash != (d.Class == 0) {
					t.Errorf("part %d: flash = %t, gammu reads class %d", i+1, m.Flash, d.Class)
				}
				if got := fmt.Sprintf("%X", m.UDH); got != d.UDH {
					t.Errorf("part %d: udh = %s, gammu reads %s", i+1, got, d.UDH)
				}
				if m.Encoding != v.Encoding {
					t.Errorf("part %d: encoding = %s, want %s", i+1, m.Encoding, v.Encoding)
				}
				text := m.Text
				if m.Encoding == Octet {
					text = fmt.Sprintf("%X", m.Data)
				}
				if text != d.Text {
					t.Errorf("part %d: content = %s, gammu reads %s", i+1, text, d.Text)
				}
				wantPorts := v.Ports
				if v.UDH == "0605040B8423F0" { // the WAP push ports in the caller's UDH
					wantPorts = &struct {
						Dest   int `json:"dest"`
						Source int `json:"source"`
					}{0x0B84, 0x23F0}
				}
				switch {
				case wantPorts == nil && m.Ports != nil:
					t.Errorf("part %d: ports = %+v, want none", i+1, *m.Ports)
				case wantPorts != nil && (m.Ports == nil || *m.Ports != Ports{Dest: wantPorts.Dest, Source: wantPorts.Source, Bits: 16}):
					t.Errorf("part %d: ports = %+v, want %+v", i+1, m.Ports, *wantPorts)
				}
				got, err := r.Add("modem", m, time.Unix(0, 0))
				if err != nil {
					t.Fatal(err)
				}
				if got != nil {
					whole = got
				}
			}
			if whole == nil {
				t.Fatal("never complete")
			}
			if v.Data != nil && !bytes.Equal(whole.Data, mustHex(t, *v.Data)) {
				t.Errorf("joined data = %X, want %s", whole.Data, *v.Data)
			}
			if v.Text != nil && whole.Text != *v.Text {
				t.Errorf("joined text = %q, want %q", whole.Text, *v.Text)
			}
		})
	}
}

func ptrOr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func dataOf(tb testing.TB, v dataVector) []byte {
	if v.Data == nil {
		return nil
	}
	return mustHex(tb, *v.Data)
}

// TestDataRoundTrip encodes data, forced alphabets, ports and flash as a
// deliver and decodes them back, at the segment edges the header moves.
func TestDataRoundTrip(t *testing.T) {
	ports := &Ports{Dest: 2948, Source: 9200}
	tests := []struct {
		name     string
		text     string
		data     []byte
		layout   Layout
		segments int
		encoding Encoding
	}{
		{"8bit 140 in one", "", bytes.Repeat([]byte{0xAB}, 140), Layout{}, 1, Octet},
		{"8bit 141 in two", "", bytes.Repeat([]byte{0xAB}, 141), Layout{}, 2, Octet},
		{"8bit ports 133 in one", "", bytes.Repeat([]byte{1}, 133), Layout{Ports: ports}, 1, Octet},
		{"8bit ports 134 in two", "", bytes.Repeat([]byte{1}, 134), Layout{Ports: ports}, 2, Octet},
		{"8bit flash ports 10 parts", "", bytes.Repeat([]byte{7}, 1280), Layout{Ports: ports, Flash: true}, 10, Octet},
		{"gsm7 ports 152 in one", strings.Repeat("a", 152), nil, Layout{Ports: ports}, 1, GSM7},
		{"gsm7 ports 153 in two", strings.Repeat("a", 153), nil, Layout{Ports: ports}, 2, GSM7},
		{"gsm7 flash multipart", strings.Repeat("b", 400), nil, Layout{Flash: true}, 3, GSM7},
		{"ucs2 forced", "plain ascii", nil, Layout{Encoding: UCS2}, 1, UCS2},
		{"ucs2 flash ports multipart", strings.Repeat("Ж", 130), nil, Layout{Flash: true, Ports: ports}, 3, UCS2},
		{"8bit from text", "héllo", nil, Layout{Encoding: Octet}, 1, Octet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := DeliverOptions{ConcatRef: 7, Layout: tt.layout}
			var (
				pdus []string
				err  error
			)
			if tt.data != nil {
				pdus, err = EncodeDeliverData(Address{Number: "+447700900123"}, tt.data, opts)
			} else {
				pdus, err = EncodeDeliver(Address{Number: "+447700900123"}, tt.text, opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(pdus) != tt.segments {
				t.Fatalf("%d segments, want %d", len(pdus), tt.segments)
			}
			est, err := Plan(tt.text, tt.data, tt.layout)
			if err != nil || est.Segments != tt.segments || est.Encoding != tt.encoding {
				t.Errorf("Plan = %+v, %v", est, err)
			}
			r := NewReassembler(time.Hour)
			var whole *Message
			for _, p := range pdus {
				m := mustDecode(t, p)
				if m.Flash != tt.layout.Flash || m.Encoding != tt.encoding {
					t.Errorf("part flash %t encoding %s", m.Flash, m.Encoding)
				}
				if (m.Ports != nil) != (tt.layout.Ports != nil) || m.Ports != nil && (m.Ports.Dest != ports.Dest || m.Ports.Source != ports.Source) {
					t.Errorf("part ports = %+v", m.Ports)
				}
				if whole, err = r.Add("m", m, time.Unix(0, 0)); err != nil {
					t.Fatal(err)
				}
			}
			if whole == nil {
				t.Fatal("never complete")
			}
			want := tt.data
			if want == nil && tt.encoding == Octet {
				want = []byte(tt.text)
			}
			if want != nil && !bytes.Equal(whole.Data, want) {
				t.Errorf("data = %X, want %X", whole.Data, want)
			}
			if want == nil && whole.Text != tt.text {
				t.Errorf("text = %q, want %q", whole.Text, tt.text)
			}
		})
	}
}

func TestLayout_Errors(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		data   []byte
		layout Layout
		want   error
	}{
		{"gsm7 forced on cyrillic", "Привет", nil, Layout{Encoding: GSM7}, ErrNotGSM7},
		{"unknown encoding", "hi", nil, Layout{Encoding: "latin1"}, ErrInvalidEncoding},
		{"data as ucs2", "", []byte{1}, Layout{Encoding: UCS2}, ErrInvalidEncoding},
		{"empty data", "", []byte{}, Layout{}, ErrEmptyText},
		{"port too big", "", []byte{1}, Layout{Ports: &Ports{Dest: 65536}}, ErrInvalidPort},
		{"negative port", "", []byte{1}, Layout{Ports: &Ports{Source: -1}}, ErrInvalidPort},
		{"udhl wrong", "hi", nil, Layout{UDH: []byte{5, 0, 3, 1, 1}}, ErrInvalidUDH},
		{"ie overruns", "hi", nil, Layout{UDH: []byte{3, 0x05, 4, 1}}, ErrInvalidUDH},
		{"udh port and ports", "", []byte{1}, Layout{UDH: []byte{6, 5, 4, 0, 1, 0, 2}, Ports: &Ports{Dest: 1}}, ErrInvalidUDH},
		{"udh concat on a long text", strings.Repeat("x", 200), nil, Layout{UDH: []byte{5, 0, 3, 9, 2, 1}}, ErrInvalidUDH},
		{"udh concat part 0", "hi", nil, Layout{UDH: []byte{5, 0, 3, 9, 2, 0}}, ErrInvalidUDH},
		{"udh concat part past total", "hi", nil, Layout{UDH: []byte{5, 0, 3, 9, 2, 3}}, ErrInvalidUDH},
		{"udh too long", "hi", nil, Layout{UDH: append([]byte{130, 0x70, 128}, make([]byte, 128)...)}, ErrInvalidUDH},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.data != nil {
				_, err = EncodeSubmitData("+447700900123", tt.data, SubmitOptions{Layout: tt.layout})
			} else {
				_, err = EncodeSubmit("+447700900123", tt.text, SubmitOptions{Layout: tt.layout})
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if _, err := Plan(tt.text, tt.data, tt.layout); !errors.Is(err, tt.want) {
				t.Errorf("Plan err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestEncodeSubmit_UserConcatInOneSegment keeps a caller's own
// concatenation IE, as Kannel clients that cut their parts send it.
func TestEncodeSubmit_UserConcatInOneSegment(t *testing.T) {
	udh := []byte{5, 0x00, 3, 0x2A, 2, 1}
	sub, err := EncodeSubmit("+447700900123", "part one", SubmitOptions{Layout: Layout{UDH: udh}})
	if err != nil {
		t.Fatal(err)
	}
	m := mustDecode(t, sub.Segments[0].PDU)
	if m.Concat == nil || *m.Concat != (Concat{Ref: 0x2A, Part: 1, Total: 2, Bits: 8}) || m.Text != "part one" {
		t.Errorf("decoded concat %+v text %q", m.Concat, m.Text)
	}
}

func TestDecode_Ports8Bit(t *testing.T) {
	// A deliver with the 8-bit port IE (04 02 dest src): 8-bit data "hi".
	m := mustDecode(t, "00440B914477009001F3000442305141035000070404020F0A6869")
	if m.Ports == nil || *m.Ports != (Ports{Dest: 15, Source: 10, Bits: 8}) {
		t.Errorf("ports = %+v", m.Ports)
	}
	if string(m.Data) != "hi" || m.Encoding != Octet {
		t.Errorf("data = %q (%s)", m.Data, m.Encoding)
	}
}

// FuzzEncodeSubmitData: any data with any caller UDH and ports either is
// refused with a layout error or encodes to segments that decode and join
// back to the data, each within one TPDU, and Plan agrees on the count.
func FuzzEncodeSubmitData(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{}, -1, false)
	f.Add(bytes.Repeat([]byte{0xAB}, 300), []byte{6, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0}, -1, true)
	f.Add(bytes.Repeat([]byte{0}, 140), []byte{}, 8080, false)
	f.Add([]byte("x"), []byte{5, 0, 3, 1, 2, 1}, 1, true)
	f.Add([]byte("x"), []byte{3, 0x70, 9}, 0, false)
	f.Fuzz(func(t *testing.T, data, udh []byte, port int, flash bool) {
		if len(data) > 3000 || len(udh) > 200 {
			return
		}
		l := Layout{Flash: flash, UDH: udh}
		if port >= 0 {
			l.Ports = &Ports{Dest: port}
		}
		s, err := EncodeSubmitData("+447700900123", data, SubmitOptions{ConcatRef: 42, Layout: l})
		switch {
		case errors.Is(err, ErrEmptyText) && len(data) == 0,
			errors.Is(err, ErrInvalidUDH), errors.Is(err, ErrInvalidPort) && port > 0xFFFF, errors.Is(err, ErrTooLong):
			return
		case err != nil:
			t.Fatalf("EncodeSubmitData(%X, udh %X, port %d): %v", data, udh, port, err)
		}
		if p, err := Plan("", data, l); err != nil || p.Segments != len(s.Segments) {
			t.Fatalf("Plan = %+v, %v; encoded %d segments", p, err, len(s.Segments))
		}
		r := NewReassembler(time.Hour)
		var whole *Message
		for i, seg := range s.Segments {
			if seg.TPDULength > 164 {
				t.Fatalf("segment %d: %d octets", i, seg.TPDULength)
			}
			m, err := Decode(seg.PDU)
			if err != nil {
				t.Fatalf("Decode(%s): %v", seg.PDU, err)
			}
			if m.Flash != flash || (port >= 0) != (m.Ports != nil && m.Ports.Dest == port) && !hasIE(udh[min(1, len(udh)):], ieiPorts8, ieiPorts16) {
				t.Fatalf("segment %d: flash %t ports %+v", i, m.Flash, m.Ports)
			}
			if whole, err = r.Add("", m, time.Unix(0, 0)); err != nil {
				// A caller's own concatenation IE: its set is not complete.
				if hasIE(udh[min(1, len(udh)):], ieiConcat8, ieiConcat16) {
					return
				}
				t.Fatal(err)
			}
		}
		if whole == nil {
			if hasIE(udh[min(1, len(udh)):], ieiConcat8, ieiConcat16) {
				return // the caller's concatenation IE says more parts follow
			}
			t.Fatal("never complete")
		}
		if !bytes.Equal(whole.Data, data) {
			t.Fatalf("joined %X, want %X", whole.Data, data)
		}
	})
}
