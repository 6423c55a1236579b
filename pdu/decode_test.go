package pdu

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/warthog618/sms/encoding/tpdu"
)

func TestDecode(t *testing.T) {
	zone := func(h int) *time.Location { return time.FixedZone("", h*3600) }
	halfHour := time.FixedZone("", 1800) // zone octet 0x20: two quarter hours
	tests := []struct {
		name string
		pdu  string
		want Message
	}{
		{
			// Real Turkish phones send IEI 0x24 (single shift, TS 23.040
			// §9.2.3.24.15); the library looks for 0x18 and would print
			// "Sisli ig".
			name: "turkish national single shift",
			pdu:  "00440C910972504390920000423051410350201103240101D84CD39B393B0DDAA43767",
			want: Message{
				Type: TypeDeliver, From: Address{"+902705340929", 0x91}, Text: "Şişli ığ",
				Encoding: GSM7, SingleShift: 1, SCTS: time.Date(2024, 3, 15, 14, 30, 5, 0, halfHour),
			},
		},
		{
			name: "turkish national locking shift (IEI 0x25)",
			pdu:  "00440C910972504390920000423051410350200D032501013830C80739880306",
			want: Message{
				Type: TypeDeliver, From: Address{"+902705340929", 0x91}, Text: "ığdır Şç",
				Encoding: GSM7, LockingShift: 1, SCTS: time.Date(2024, 3, 15, 14, 30, 5, 0, halfHour),
			},
		},
		{
			name: "turkish locking and single shift together",
			pdu:  "00440C91097250439092000042305141035020100624010125010107066853E66CE6",
			want: Message{
				Type: TypeDeliver, From: Address{"+902705340929", 0x91}, Text: "ığ €Şş",
				Encoding: GSM7, LockingShift: 1, SingleShift: 1, SCTS: time.Date(2024, 3, 15, 14, 30, 5, 0, halfHour),
			},
		},
		{
			// 7 septets: the spare 7 bits of the last octet hold CR
			// (TS 23.038 §6.1.2.1.1); the library wants zeros.
			name: "CR padding 8n-1 with n=1",
			pdu:  "00040C910972504390920000423051410350200731D98C56B3DD1A",
			want: Message{
				Type: TypeDeliver, From: Address{"+902705340929", 0x91}, Text: "1234567",
				Encoding: GSM7, SCTS: time.Date(2024, 3, 15, 14, 30, 5, 0, halfHour),
			},
		},
		{
			name: "CR padding 8n-1 with n=2",
			pdu:  "00040C910972504390920000423051410350200FC8329BFD6681EE6F399B1C0A851A",
			want: Message{
				Type: TypeDeliver, From: Address{"+902705340929", 0x91}, Text: "Hello, world!!!",
				Encoding: GSM7, SCTS: time.Date(2024, 3, 15, 14, 30, 5, 0, halfHour),
			},
		},
		{
			name: "alphanumeric sender with an extension character",
			pdu:  "00040BD053F41BBE290300004230514103502002C834",
			want: Message{
				Type: TypeDeliver, From: Address{"Shop€", 0xD0}, Text: "Hi",
				Encoding: GSM7, SCTS: time.Date(2024, 3, 15, 14, 30, 5, 0, halfHour),
			},
		},
		{
			// gammu writes 8 semi-octets for 4 characters where the
			// spec says 7; both must read "Bank".
			name: "alphanumeric sender, gammu length",
			pdu:  "07914487200030230008D0C2B07B0D0000423051410350000EC2303BEC1E9775A098CC35A301",
			want: Message{
				Type: TypeDeliver, SMSC: Address{"+447802000332", 0x91}, From: Address{"Bank", 0xD0},
				Text: "Balance: 12.34", Encoding: GSM7, SCTS: time.Date(2024, 3, 15, 14, 30, 5, 0, time.UTC),
			},
		},
		{
			name: "negative time zone",
			pdu:  "00040B914477009001F300004230512141500A05C8329BFD06",
			want: Message{
				Type: TypeDeliver, From: Address{"+44770009103", 0x91}, Text: "Hello",
				Encoding: GSM7, SCTS: time.Date(2024, 3, 15, 12, 14, 5, 0, zone(-5)),
			},
		},
		{
			name: "hellohello, TOA 0xC8 and +02:00",
			pdu:  "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
			want: Message{
				Type: TypeDeliver, SMSC: Address{"+27381000015", 0x91}, From: Address{"27838890001", 0xC8},
				Text: "hellohello", Encoding: GSM7, SCTS: time.Date(1999, 3, 29, 15, 16, 59, 0, zone(2)),
			},
		},
		{
			name: "short code sender",
			pdu:  "07914487200030230005810888F800004230514103500013D9775D0E1ABFC965507A0E8AC966B49A0D",
			want: Message{
				Type: TypeDeliver, SMSC: Address{"+447802000332", 0x91}, From: Address{"80888", 0x81},
				Text: "Your code is 123456", Encoding: GSM7, SCTS: time.Date(2024, 3, 15, 14, 30, 5, 0, time.UTC),
			},
		},
		{
			name: "flash message class 0",
			pdu:  "00040B914477009001F300104230512141500005C8329BFD06",
			want: Message{
				Type: TypeDeliver, From: Address{"+44770009103", 0x91}, Text: "Hello", DCS: 0x10,
				Encoding: GSM7, SCTS: time.Date(2024, 3, 15, 12, 14, 5, 0, time.UTC),
			},
		},
		{
			name: "8-bit data with a port header",
			pdu:  "00440B914477009001F30004423051214150000B0605040B8423F0DEADBEEF",
			want: Message{
				Type: TypeDeliver, From: Address{"+44770009103", 0x91}, Data: []byte{0xDE, 0xAD, 0xBE, 0xEF},
				Encoding: Octet, DCS: 0x04, SCTS: time.Date(2024, 3, 15, 12, 14, 5, 0, time.UTC),
			},
		},
		{
			name: "gsm7 part 2 of 3 with an 8-bit reference",
			pdu:  "00440B914477009001F3000042305121415000090500037F03029069",
			want: Message{
				Type: TypeDeliver, From: Address{"+44770009103", 0x91}, Text: "Hi", Encoding: GSM7,
				Concat: &Concat{Ref: 0x7F, Part: 2, Total: 3, Bits: 8}, SCTS: time.Date(2024, 3, 15, 12, 14, 5, 0, time.UTC),
			},
		},
		{
			name: "ucs2 part 1 of 2 with a 16-bit reference",
			pdu:  "00440B914477009001F30008423051214150000B060804BEEF020100410042",
			want: Message{
				Type: TypeDeliver, From: Address{"+44770009103", 0x91}, Text: "AB", Encoding: UCS2, DCS: 0x08,
				Concat: &Concat{Ref: 0xBEEF, Part: 1, Total: 2, Bits: 16}, SCTS: time.Date(2024, 3, 15, 12, 14, 5, 0, time.UTC),
			},
		},
		{
			name: "submit read back from the SIM: SRR, relative VP 7 days, national",
			pdu:  "00312A0B817007900021F30000AD02C834",
			want: Message{
				Type: TypeSubmit, To: Address{"07700900123", 0x81}, Text: "Hi", Encoding: GSM7,
				MR: 42, StatusReportRequest: true, Validity: 7 * 24 * time.Hour,
			},
		},
		{
			name: "submit without VP",
			pdu:  "0001000C9144770009103200000BC8329BFD06DDDF723619",
			want: Message{
				Type: TypeSubmit, To: Address{"+447700900123", 0x91}, Text: "Hello world", Encoding: GSM7,
			},
		},
		{
			// gammu reads TP-UDL worth of user data and ignores the rest:
			// the "negative time zone" vector with 3 octets appended.
			name: "gsm7 user data longer than UDL",
			pdu:  "00040B914477009001F300004230512141500A05C8329BFD060000FF",
			want: Message{
				Type: TypeDeliver, From: Address{"+44770009103", 0x91}, Text: "Hello",
				Encoding: GSM7, SCTS: time.Date(2024, 3, 15, 12, 14, 5, 0, zone(-5)),
			},
		},
		{
			name: "gsm7 UDL 2 over 5 octets of user data",
			pdu:  "00040B914477009001F300004230512141500A02C8329BFD06",
			want: Message{
				Type: TypeDeliver, From: Address{"+44770009103", 0x91}, Text: "He",
				Encoding: GSM7, SCTS: time.Date(2024, 3, 15, 12, 14, 5, 0, zone(-5)),
			},
		},
		{
			name: "ucs2 user data longer than UDL, with a 16-bit concat header",
			pdu:  "00440B914477009001F30008423051214150000B060804BEEF0201004100420043FFFF",
			want: Message{
				Type: TypeDeliver, From: Address{"+44770009103", 0x91}, Text: "AB", Encoding: UCS2, DCS: 0x08,
				Concat: &Concat{Ref: 0xBEEF, Part: 1, Total: 2, Bits: 16}, SCTS: time.Date(2024, 3, 15, 12, 14, 5, 0, time.UTC),
			},
		},
		{
			// CR padding and surplus together: the "CR padding n=1"
			// vector with 2 octets appended.
			name: "CR padding and surplus user data",
			pdu:  "00040C910972504390920000423051410350200731D98C56B3DD1A0D0D",
			want: Message{
				Type: TypeDeliver, From: Address{"+902705340929", 0x91}, Text: "1234567",
				Encoding: GSM7, SCTS: time.Date(2024, 3, 15, 14, 30, 5, 0, halfHour),
			},
		},
		{
			name: "status report delivered",
			pdu:  "0006D60B911326880736F4111011719551401110117195714000",
			want: Message{
				Type: TypeStatusReport, Recipient: Address{"+31628870634", 0x91}, MR: 0xD6,
				SCTS:          time.Date(2011, 1, 11, 17, 59, 15, 0, zone(1)),
				DischargeTime: time.Date(2011, 1, 11, 17, 59, 17, 0, zone(1)),
				Status:        &Status{0x00, StatusDelivered},
			},
		},
		{
			// libgammu: "We ignore 0xff, because some buggy phones pad
			// SMS with it"; the library reads it as TP-PI.
			name: "status report padded with 0xFF",
			pdu:  "0006D60B911326880736F4111011719551401110117195714000FFFFFFFF",
			want: Message{
				Type: TypeStatusReport, Recipient: Address{"+31628870634", 0x91}, MR: 0xD6,
				SCTS:          time.Date(2011, 1, 11, 17, 59, 15, 0, zone(1)),
				DischargeTime: time.Date(2011, 1, 11, 17, 59, 17, 0, zone(1)),
				Status:        &Status{0x00, StatusDelivered},
			},
		},
		{
			name: "status report with SMSC, pending",
			pdu:  "079144872000302306D60B911326880736F4111011719551401110117195714020",
			want: Message{
				Type: TypeStatusReport, SMSC: Address{"+447802000332", 0x91}, Recipient: Address{"+31628870634", 0x91}, MR: 0xD6,
				SCTS:          time.Date(2011, 1, 11, 17, 59, 15, 0, zone(1)),
				DischargeTime: time.Date(2011, 1, 11, 17, 59, 17, 0, zone(1)),
				Status:        &Status{0x20, StatusPending},
			},
		},
		{
			name: "status report with PI, PID, DCS and text",
			pdu:  "0006D60B911326880736F411101171955140111011719571404607000005C8329BFD06",
			want: Message{
				Type: TypeStatusReport, Recipient: Address{"+31628870634", 0x91}, MR: 0xD6,
				SCTS:          time.Date(2011, 1, 11, 17, 59, 15, 0, zone(1)),
				DischargeTime: time.Date(2011, 1, 11, 17, 59, 17, 0, zone(1)),
				Status:        &Status{0x46, StatusFailed}, Text: "Hello", Encoding: GSM7,
			},
		},
		{
			name: "status report national recipient, reserved status",
			pdu:  "0006010B817007900021F3111011719551401110117195714080",
			want: Message{
				Type: TypeStatusReport, Recipient: Address{"07700900123", 0x81}, MR: 1,
				SCTS:          time.Date(2011, 1, 11, 17, 59, 15, 0, zone(1)),
				DischargeTime: time.Date(2011, 1, 11, 17, 59, 17, 0, zone(1)),
				Status:        &Status{0x80, StatusFailed},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustDecode(t, tt.pdu)
			assertMessage(t, got, &tt.want)
		})
	}
}

// assertMessage compares the fields a test states; UD is checked against
// Text or Data by the round-trip tests instead.
func assertMessage(t *testing.T, got, want *Message) {
	t.Helper()
	if got.Type != want.Type {
		t.Errorf("type = %s, want %s", got.Type, want.Type)
	}
	for _, a := range []struct {
		name      string
		got, want Address
	}{{"smsc", got.SMSC, want.SMSC}, {"to", got.To, want.To}, {"from", got.From, want.From}, {"recipient", got.Recipient, want.Recipient}} {
		if a.got != a.want {
			t.Errorf("%s = %+v, want %+v", a.name, a.got, a.want)
		}
	}
	if got.Text != want.Text {
		t.Errorf("text = %q, want %q", got.Text, want.Text)
	}
	if !bytes.Equal(got.Data, want.Data) {
		t.Errorf("data = %X, want %X", got.Data, want.Data)
	}
	if got.Encoding != want.Encoding {
		t.Errorf("encoding = %q, want %q", got.Encoding, want.Encoding)
	}
	if (got.Concat == nil) != (want.Concat == nil) || got.Concat != nil && *got.Concat != *want.Concat {
		t.Errorf("concat = %+v, want %+v", got.Concat, want.Concat)
	}
	if got.LockingShift != want.LockingShift || got.SingleShift != want.SingleShift {
		t.Errorf("national tables = %d/%d, want %d/%d", got.LockingShift, got.SingleShift, want.LockingShift, want.SingleShift)
	}
	if got.MR != want.MR || got.StatusReportRequest != want.StatusReportRequest || got.Validity != want.Validity {
		t.Errorf("MR, SRR, VP = %d, %t, %s; want %d, %t, %s", got.MR, got.StatusReportRequest, got.Validity, want.MR, want.StatusReportRequest, want.Validity)
	}
	assertTime(t, "scts", got.SCTS, want.SCTS)
	assertTime(t, "discharge time", got.DischargeTime, want.DischargeTime)
	if (got.Status == nil) != (want.Status == nil) || got.Status != nil && *got.Status != *want.Status {
		t.Errorf("status = %+v, want %+v", got.Status, want.Status)
	}
	if got.DCS != want.DCS || got.PID != want.PID {
		t.Errorf("DCS, PID = %#x, %#x; want %#x, %#x", got.DCS, got.PID, want.DCS, want.PID)
	}
}

// assertTime wants the same instant and the same zone offset.
func assertTime(t *testing.T, name string, got, want time.Time) {
	t.Helper()
	_, gotOff := got.Zone()
	_, wantOff := want.Zone()
	if !got.Equal(want) || gotOff != wantOff {
		t.Errorf("%s = %s, want %s", name, got, want)
	}
}

func TestDecode_Errors(t *testing.T) {
	tests := []struct {
		name   string
		pdu    string
		field  string
		offset int
		is     error
	}{
		{"empty", "", "smsc.length", 0, tpdu.ErrUnderflow},
		{"odd length", "0004A", "hex", 2, ErrOddLength},
		{"not hex", "0004ZZ", "hex", 2, nil},
		{"SMSC only", "00", "tpdu", 1, ErrTruncated},
		{"SMSC truncated", "0791447802", "smsc.addr", 2, tpdu.ErrUnderflow},
		{"reserved MTI", "0003", "mti", 1, ErrUnsupportedType},
		{"reserved MTI after SMSC", "079144872000302303", "mti", 8, ErrUnsupportedType},
		{"originator truncated", "00040B914477", "oa.addr", 4, tpdu.ErrUnderflow},
		{"timestamp not BCD", "00040B914477009001F30000FF30512141500A05C8329BFD06", "scts", 12, nil},
		{"user data shorter than UDL", "00040B914477009001F300004230512141500A0AC8329BFD06", "ud.sm", 20, tpdu.ErrUnderflow},
		{"ucs2 shorter than UDL", "00440B914477009001F30008423051214150000B060804BEEF0201004100", "ud.sm", 20, tpdu.ErrUnderflow},
		{"part 3 of 2", "00440B914477009001F3000042305121415000090500037F0203C834", "udh.concat", 21, ErrInvalidConcat},
		{"part 0", "00440B914477009001F3000042305121415000090500037F0300C834", "udh.concat", 21, ErrInvalidConcat},
		{"status report truncated", "0006D60B911326880736F41110117195514011101171", "dt", 18, tpdu.ErrUnderflow},
		{"odd UCS-2", "00040B914477009001F3000842305121415000030041FF", "ud.sm", 20, tpdu.ErrOddUCS2Length},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(tt.pdu)
			if err == nil {
				t.Fatalf("Decode = %+v, want an error", m)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
			}
			if de.Field != tt.field || de.Offset != tt.offset {
				t.Errorf("error at %s offset %d, want %s offset %d (%v)", de.Field, de.Offset, tt.field, tt.offset, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
}

func TestDecodeError_Error(t *testing.T) {
	err := &DecodeError{Field: "oa", Offset: 3, Err: tpdu.ErrUnderflow}
	if got, want := err.Error(), "oa at offset 3: underflow"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, tpdu.ErrUnderflow) {
		t.Error("Unwrap does not reach the cause")
	}
}

func TestDecode_StatusClasses(t *testing.T) {
	tests := []struct {
		code byte
		want StatusClass
	}{
		{0x00, StatusDelivered}, {0x01, StatusDelivered}, {0x02, StatusDelivered}, {0x1F, StatusDelivered},
		{0x20, StatusPending}, {0x25, StatusPending}, {0x3F, StatusPending},
		{0x40, StatusFailed}, {0x46, StatusFailed}, {0x5F, StatusFailed},
		{0x60, StatusFailed}, {0x65, StatusFailed}, {0x7F, StatusFailed},
		{0x80, StatusFailed}, {0xFF, StatusFailed},
	}
	for _, tt := range tests {
		t.Run(string(tt.want)+"_"+upperHex([]byte{tt.code}), func(t *testing.T) {
			h, err := EncodeStatusReport(StatusReport{MR: 7, Recipient: Address{Number: "+447700900123"}, Status: tt.code})
			if err != nil {
				t.Fatal(err)
			}
			m := mustDecode(t, h)
			if m.Status == nil || m.Status.Code != tt.code || m.Status.Class != tt.want {
				t.Errorf("status = %+v, want {%#x %s}", m.Status, tt.code, tt.want)
			}
		})
	}
}

func TestDecode_LowerCaseAndSpaces(t *testing.T) {
	m := mustDecode(t, " 07911326040000f0040b911346610089f60000208062917314080cc8f71d14969741f977fd07\r\n")
	if m.Text != "How are you?" {
		t.Errorf("text = %q", m.Text)
	}
}
