package pdu

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

func TestEncodeSubmit_ValidityPeriod(t *testing.T) {
	tests := []struct {
		validity time.Duration
		want     string // TP-VP octet
	}{
		{time.Second, "00"},
		{5 * time.Minute, "00"}, // the library writes 0x01 (10 min)
		{5*time.Minute + 1, "01"},
		{10 * time.Minute, "01"},
		{time.Hour, "0B"},
		{12 * time.Hour, "8F"},
		{12*time.Hour + time.Minute, "90"},
		{24 * time.Hour, "A7"},
		{24*time.Hour + time.Second, "A8"},
		{48 * time.Hour, "A8"},
		{7 * 24 * time.Hour, "AD"},
		{30 * 24 * time.Hour, "C4"},
		{31 * 24 * time.Hour, "C5"}, // 5 weeks
		{63 * 7 * 24 * time.Hour, "FF"},
		{1000 * 24 * time.Hour, "FF"},
	}
	for _, tt := range tests {
		t.Run(tt.validity.String(), func(t *testing.T) {
			s, err := EncodeSubmit("+447700900123", "vp", SubmitOptions{Validity: tt.validity})
			if err != nil {
				t.Fatal(err)
			}
			// 00 | FO | MR | DA (0C 91 + 6 octets) | PID | DCS | VP
			p := s.Segments[0].PDU
			if fo := p[2:4]; fo != "11" {
				t.Errorf("first octet = %s, want 11 (submit, relative VP)", fo)
			}
			if vp := p[26:28]; vp != tt.want {
				t.Errorf("VP = %s, want %s (%s)", vp, tt.want, p)
			}
			m := mustDecode(t, p)
			if m.Validity < tt.validity && tt.validity <= 63*7*24*time.Hour {
				t.Errorf("decoded validity %s is shorter than asked %s", m.Validity, tt.validity)
			}
		})
	}
}

func TestEncodeSubmit_Destination(t *testing.T) {
	tests := []struct {
		to      string
		wantDA  string
		wantTOA byte
	}{
		{"+447700900123", "0C914477000910320000", 0x91},
		{"07700900123", "0B817007900021F30000", 0x81},
		{"12345", "05812143F50000", 0x81},
		{"1", "0181F10000", 0x81},
		{"+12345678901234567890", "1491214365870921436587090000", 0x91},
	}
	for _, tt := range tests {
		t.Run(tt.to, func(t *testing.T) {
			s, err := EncodeSubmit(tt.to, "x", SubmitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p := s.Segments[0].PDU
			if !strings.HasPrefix(p[6:], tt.wantDA) {
				t.Errorf("PDU %s: DA should start %s", p, tt.wantDA)
			}
			m := mustDecode(t, p)
			if m.To != (Address{tt.to, tt.wantTOA}) {
				t.Errorf("decoded to = %+v", m.To)
			}
		})
	}
}

func TestEncodeSubmit_Options(t *testing.T) {
	tests := []struct {
		name   string
		opts   SubmitOptions
		wantFO string
		wantMR int
	}{
		{"defaults", SubmitOptions{}, "01", 0},
		{"status report", SubmitOptions{StatusReport: true}, "21", 0},
		{"status report and VP", SubmitOptions{StatusReport: true, Validity: time.Hour}, "31", 0},
		{"MR", SubmitOptions{MR: 200}, "01", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := EncodeSubmit("+447700900123", "Hello", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			p := s.Segments[0].PDU
			if p[2:4] != tt.wantFO {
				t.Errorf("first octet = %s, want %s", p[2:4], tt.wantFO)
			}
			m := mustDecode(t, p)
			if m.StatusReportRequest != tt.opts.StatusReport || m.MR != tt.wantMR || m.Text != "Hello" {
				t.Errorf("decoded %+v", m)
			}
		})
	}
}

func TestEncodeSubmit_Errors(t *testing.T) {
	tests := []struct {
		name string
		to   string
		text string
		opts SubmitOptions
		is   error
	}{
		{"empty text", "+447700900123", "", SubmitOptions{}, ErrEmptyText},
		{"invalid UTF-8", "+447700900123", "ab\xffcd", SubmitOptions{}, ErrInvalidText},
		{"empty destination", "", "x", SubmitOptions{}, ErrInvalidAddress},
		{"plus only", "+", "x", SubmitOptions{}, ErrInvalidAddress},
		{"21 digits", "+123456789012345678901", "x", SubmitOptions{}, ErrInvalidAddress},
		{"letters", "+44abc", "x", SubmitOptions{}, ErrInvalidAddress},
		{"spaces", "+44 7700 900123", "x", SubmitOptions{}, ErrInvalidAddress},
		{"two plus", "++44", "x", SubmitOptions{}, ErrInvalidAddress},
		{"too long", "+447700900123", strings.Repeat("x", 153*255+1), SubmitOptions{}, ErrTooLong},
		{"8-bit ref out of range", "+447700900123", strings.Repeat("x", 200), SubmitOptions{ConcatRef: 256}, nil},
		{"16-bit ref out of range", "+447700900123", strings.Repeat("x", 200), SubmitOptions{ConcatRef: 65536, Concat16: true}, nil},
		{"negative ref", "+447700900123", strings.Repeat("x", 200), SubmitOptions{ConcatRef: -1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := EncodeSubmit(tt.to, tt.text, tt.opts)
			if err == nil {
				t.Fatalf("EncodeSubmit = %+v, want an error", s)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
	// A reference that is only out of range for 8 bits is fine with 16.
	if _, err := EncodeSubmit("+447700900123", strings.Repeat("x", 200), SubmitOptions{ConcatRef: 65535, Concat16: true}); err != nil {
		t.Errorf("16-bit ref 65535: %v", err)
	}
	// A single segment carries no reference, so any value is accepted.
	if _, err := EncodeSubmit("+447700900123", "x", SubmitOptions{ConcatRef: 1000}); err != nil {
		t.Errorf("single segment with ref 1000: %v", err)
	}
}

// TestEncodeSubmit_Segments decodes every segment back and checks the
// boundaries: sizes, encoding, references and the joined text.
func TestEncodeSubmit_Segments(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		opts      SubmitOptions
		wantEnc   Encoding
		wantUnits []int // septets or UTF-16 units per segment
	}{
		{"gsm7 160", strings.Repeat("a", 160), SubmitOptions{}, GSM7, []int{160}},
		{"gsm7 161", strings.Repeat("a", 161), SubmitOptions{ConcatRef: 7}, GSM7, []int{153, 8}},
		{"gsm7 306", strings.Repeat("a", 306), SubmitOptions{ConcatRef: 7}, GSM7, []int{153, 153}},
		{"gsm7 euro at edge", strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10), SubmitOptions{ConcatRef: 7}, GSM7, []int{152, 12}},
		{"gsm7 euro just fits", strings.Repeat("a", 151) + "€" + strings.Repeat("b", 10), SubmitOptions{ConcatRef: 7}, GSM7, []int{153, 10}},
		{"gsm7 ext counts two", strings.Repeat("a", 158) + "€", SubmitOptions{}, GSM7, []int{160}},
		{"gsm7 ext makes 161", strings.Repeat("a", 159) + "€", SubmitOptions{ConcatRef: 7}, GSM7, []int{153, 8}},
		{"gsm7 16-bit ref", strings.Repeat("a", 161), SubmitOptions{ConcatRef: 0x1234, Concat16: true}, GSM7, []int{152, 9}},
		{"gsm7 16-bit ref, caret fits", strings.Repeat("a", 150) + "^" + strings.Repeat("b", 10), SubmitOptions{ConcatRef: 0x1234, Concat16: true}, GSM7, []int{152, 10}},
		{"gsm7 16-bit ref, brace at edge", strings.Repeat("a", 151) + "{" + strings.Repeat("b", 10), SubmitOptions{ConcatRef: 0x1234, Concat16: true}, GSM7, []int{151, 12}},
		{"ucs2 70", strings.Repeat("ж", 70), SubmitOptions{}, UCS2, []int{70}},
		{"ucs2 71", strings.Repeat("ж", 71), SubmitOptions{ConcatRef: 9}, UCS2, []int{67, 4}},
		{"ucs2 emoji at edge", strings.Repeat("ж", 66) + "😀" + strings.Repeat("ж", 5), SubmitOptions{ConcatRef: 9}, UCS2, []int{66, 7}},
		{"ucs2 emoji fits", strings.Repeat("ж", 65) + "😀" + strings.Repeat("ж", 5), SubmitOptions{ConcatRef: 9}, UCS2, []int{67, 5}},
		{"ucs2 emoji only", strings.Repeat("😀", 36), SubmitOptions{ConcatRef: 9}, UCS2, []int{66, 6}},
		{"ucs2 16-bit ref", strings.Repeat("ж", 71), SubmitOptions{ConcatRef: 0xFFFF, Concat16: true}, UCS2, []int{66, 5}},
		{"ESC in text is not GSM-7", "a\x1bb", SubmitOptions{}, UCS2, []int{3}},
		{"one char outside GSM-7 switches all", "Hello ъ", SubmitOptions{}, UCS2, []int{7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := EncodeSubmit("+447700900123", tt.text, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if s.Encoding != tt.wantEnc {
				t.Errorf("encoding = %s, want %s", s.Encoding, tt.wantEnc)
			}
			if len(s.Segments) != len(tt.wantUnits) {
				t.Fatalf("%d segments, want %d", len(s.Segments), len(tt.wantUnits))
			}
			r := NewReassembler(time.Hour)
			var whole *Message
			for i, seg := range s.Segments {
				if seg.TPDULength != len(seg.PDU)/2-1 || seg.TPDULength > 164 {
					t.Errorf("segment %d: TPDULength %d for %d hex digits", i+1, seg.TPDULength, len(seg.PDU))
				}
				if seg.PDU != strings.ToUpper(seg.PDU) || seg.PDU[:2] != "00" {
					t.Errorf("segment %d: want upper case with SMSC 00, got %s", i+1, seg.PDU)
				}
				m := mustDecode(t, seg.PDU)
				units := len(m.UD)
				if m.Encoding == UCS2 {
					units /= 2
				}
				if units != tt.wantUnits[i] {
					t.Errorf("segment %d: %d units, want %d", i+1, units, tt.wantUnits[i])
				}
				if len(s.Segments) > 1 {
					bits := 8
					if tt.opts.Concat16 {
						bits = 16
					}
					want := Concat{Ref: tt.opts.ConcatRef, Part: i + 1, Total: len(s.Segments), Bits: bits}
					if m.Concat == nil || *m.Concat != want {
						t.Errorf("segment %d: concat = %+v, want %+v", i+1, m.Concat, want)
					}
				}
				if got, err := r.Add("", m, time.Unix(0, 0)); err != nil {
					t.Fatal(err)
				} else if got != nil {
					whole = got
				}
			}
			if whole == nil || whole.Text != tt.text {
				t.Errorf("joined text = %+v, want %q", whole, tt.text)
			}
		})
	}
}

func TestPreview(t *testing.T) {
	tests := []struct {
		text string
		want Estimate
	}{
		{"", Estimate{GSM7, 0, 160, 0}},
		{"hello", Estimate{GSM7, 1, 155, 5}},
		{"€", Estimate{GSM7, 1, 158, 2}},
		{strings.Repeat("a", 160), Estimate{GSM7, 1, 0, 160}},
		{strings.Repeat("a", 161), Estimate{GSM7, 2, 145, 161}},
		{strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10), Estimate{GSM7, 2, 141, 164}},
		{strings.Repeat("a", 306), Estimate{GSM7, 2, 0, 306}},
		{"привет", Estimate{UCS2, 1, 64, 6}},
		{"😀", Estimate{UCS2, 1, 68, 2}},
		{strings.Repeat("ж", 70), Estimate{UCS2, 1, 0, 70}},
		{strings.Repeat("ж", 71), Estimate{UCS2, 2, 63, 71}},
		{strings.Repeat("ж", 66) + "😀" + strings.Repeat("ж", 5), Estimate{UCS2, 2, 60, 73}},
		{"bad \xff", Estimate{UCS2, 1, 65, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := Preview(tt.text); got != tt.want {
				t.Errorf("Preview = %+v, want %+v", got, tt.want)
			}
			// The segment count must match what EncodeSubmit produces.
			if tt.text == "" || tt.want.Segments == 0 {
				return
			}
			if s, err := EncodeSubmit("1", tt.text, SubmitOptions{}); err == nil && len(s.Segments) != tt.want.Segments {
				t.Errorf("EncodeSubmit made %d segments, Preview says %d", len(s.Segments), tt.want.Segments)
			}
		})
	}
}

func TestEncodeDeliver_RoundTrip(t *testing.T) {
	scts := time.Date(2025, 12, 31, 23, 59, 58, 0, time.FixedZone("", -(3*3600+30*60)))
	tests := []struct {
		name     string
		from     Address
		text     string
		opts     DeliverOptions
		wantFrom Address
		wantEnc  Encoding
		parts    int
	}{
		{"international", Address{Number: "+447700900123"}, "Hello", DeliverOptions{SCTS: scts}, Address{"+447700900123", 0x91}, GSM7, 1},
		{"national TOA kept", Address{Number: "07700900123", TOA: TOANational}, "Hello", DeliverOptions{SCTS: scts}, Address{"07700900123", 0xA1}, GSM7, 1},
		{"short code", Address{Number: "80888"}, "Code 123", DeliverOptions{SCTS: scts}, Address{"80888", 0x81}, GSM7, 1},
		{"alphanumeric", Address{Number: "SimGate"}, "Your code", DeliverOptions{SCTS: scts}, Address{"SimGate", 0xD0}, GSM7, 1},
		{"alphanumeric 11 with extension", Address{Number: "Shop€Deals"}, "x", DeliverOptions{SCTS: scts}, Address{"Shop€Deals", 0xD0}, GSM7, 1},
		{"with SMSC", Address{Number: "+447700900123"}, "Hi", DeliverOptions{SCTS: scts, SMSC: Address{Number: "+447802000332"}}, Address{"+447700900123", 0x91}, GSM7, 1},
		{"ucs2", Address{Number: "+447700900123"}, "Привет 😀", DeliverOptions{SCTS: scts}, Address{"+447700900123", 0x91}, UCS2, 1},
		{"gsm7 multipart", Address{Number: "+447700900123"}, strings.Repeat("{x}", 120), DeliverOptions{SCTS: scts, ConcatRef: 200}, Address{"+447700900123", 0x91}, GSM7, 4},
		{"ucs2 multipart 16-bit", Address{Number: "+447700900123"}, strings.Repeat("ж😀", 50), DeliverOptions{SCTS: scts, ConcatRef: 60000, Concat16: true}, Address{"+447700900123", 0x91}, UCS2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdus, err := EncodeDeliver(tt.from, tt.text, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(pdus) != tt.parts {
				t.Fatalf("%d PDUs, want %d", len(pdus), tt.parts)
			}
			r := NewReassembler(time.Hour)
			var whole *Message
			for _, p := range pdus {
				m := mustDecode(t, p)
				if m.Type != TypeDeliver || m.From != tt.wantFrom || m.Encoding != tt.wantEnc {
					t.Errorf("decoded %s from %+v in %s", m.Type, m.From, m.Encoding)
				}
				if m.SMSC.Number != tt.opts.SMSC.Number {
					t.Errorf("SMSC = %+v, want %q", m.SMSC, tt.opts.SMSC.Number)
				}
				assertTime(t, "scts", m.SCTS, tt.opts.SCTS)
				if whole, err = r.Add("sim", m, time.Unix(0, 0)); err != nil {
					t.Fatal(err)
				}
			}
			if whole == nil || whole.Text != tt.text {
				t.Errorf("text = %+v, want %q", whole, tt.text)
			}
		})
	}
}

func TestEncodeDeliver_Errors(t *testing.T) {
	tests := []struct {
		name string
		from Address
		text string
		opts DeliverOptions
	}{
		{"empty text", Address{Number: "+1"}, "", DeliverOptions{}},
		{"no originator", Address{}, "x", DeliverOptions{}},
		{"alphanumeric too long", Address{Number: "ABCDEFGHIJKL"}, "x", DeliverOptions{}},
		{"alphanumeric not GSM-7", Address{Number: "Банк"}, "x", DeliverOptions{}},
		{"plus on a national TOA", Address{Number: "+44", TOA: TOANational}, "x", DeliverOptions{}},
		{"bad SMSC", Address{Number: "+1"}, "x", DeliverOptions{SMSC: Address{Number: "+44x"}}},
		{"zone beyond 19h45", Address{Number: "+1"}, "x", DeliverOptions{SCTS: time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("", 20*3600))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := EncodeDeliver(tt.from, tt.text, tt.opts); err == nil {
				t.Errorf("EncodeDeliver = %v, want an error", p)
			}
		})
	}
}

func TestEncodeStatusReport_RoundTrip(t *testing.T) {
	scts := time.Date(2024, 2, 29, 10, 0, 0, 0, time.FixedZone("", 5*3600+45*60))
	dt := scts.Add(90 * time.Second)
	tests := []struct {
		name string
		r    StatusReport
		want string
	}{
		{"international", StatusReport{MR: 42, Recipient: Address{Number: "+447700900123"}, SCTS: scts, DischargeTime: dt, Status: 0},
			"00062A0C91447700091032"},
		{"national with SMSC", StatusReport{SMSC: Address{Number: "+447802000332"}, MR: 255, Recipient: Address{Number: "07700900123"}, SCTS: scts, DischargeTime: dt, Status: 0x46},
			"079144872000302306FF0B817007900021F3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := EncodeStatusReport(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(h, tt.want) {
				t.Errorf("PDU %s should start %s", h, tt.want)
			}
			m := mustDecode(t, h)
			if m.Type != TypeStatusReport || m.MR != tt.r.MR || m.Recipient.Number != tt.r.Recipient.Number ||
				m.Status.Code != tt.r.Status || m.SMSC.Number != tt.r.SMSC.Number || m.Encoding != "" {
				t.Errorf("decoded %+v", m)
			}
			assertTime(t, "scts", m.SCTS, tt.r.SCTS)
			assertTime(t, "discharge time", m.DischargeTime, tt.r.DischargeTime)
		})
	}
	if _, err := EncodeStatusReport(StatusReport{MR: 256, Recipient: Address{Number: "+1"}}); err == nil {
		t.Error("MR 256 accepted")
	}
	if _, err := EncodeStatusReport(StatusReport{MR: 1}); !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("no recipient: %v, want ErrInvalidAddress", err)
	}
}

func TestSplitUTF16_NeverSplitsPairs(t *testing.T) {
	u := utf16.Encode([]rune(strings.Repeat("a😀", 100)))
	for size := 2; size < 70; size++ {
		for i, c := range splitUTF16(u, size) {
			if len(c) > size || len(c) == 0 {
				t.Fatalf("size %d chunk %d has %d units", size, i, len(c))
			}
			if isHighSurrogate(c[len(c)-1]) {
				t.Fatalf("size %d chunk %d ends in a high surrogate", size, i)
			}
		}
	}
}
