package spool

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseOutgoing(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name string
		in   string
		want Outgoing
		err  string // substring of the error; "" for none
	}{
		{"smstools' easy example", "To: 491721234567\n\nHello, this is the sms.\n", Outgoing{To: "+491721234567", Text: "Hello, this is the sms."}, ""},
		{"grouped number, CRLF, headers in any case", "to: 358 12 345 6789\r\nREPORT: yes\r\n\r\nHi\r\n",
			Outgoing{To: "+358123456789", Text: "Hi", Report: &yes}, ""},
		{"plus kept", "To: +14155550101\n\nx", Outgoing{To: "+14155550101", Text: "x"}, ""},
		{"short number", "To: s12345\n\nx", Outgoing{To: "12345", Text: "x"}, ""},
		{"priority, report no, validity code", "To: 1\nPriority: high\nReport: no\nValidity: 167\n\nx",
			Outgoing{To: "+1", Text: "x", Priority: "high", Report: &no, Validity: 24 * time.Hour}, ""},
		{"validity with unit", "To: 1\nValidity: 3 days\n\nx", Outgoing{To: "+1", Text: "x", Validity: 72 * time.Hour}, ""},
		{"validity code 0", "To: 1\nValidity: 0\n\nx", Outgoing{To: "+1", Text: "x", Validity: 5 * time.Minute}, ""},
		{"validity weeks", "To: 1\nValidity: 197\n\nx", Outgoing{To: "+1", Text: "x", Validity: 5 * 7 * 24 * time.Hour}, ""},
		{"unknown headers ignored, body lines kept", "From: me\nTo: 1\nQueue: x\n\nline 1\n\nline 3\n\n",
			Outgoing{To: "+1", Text: "line 1\n\nline 3"}, ""},
		{"ISO-8859-15", "To: 1\nAlphabet: ISO-8859-15\n\n\xa4 \xe4", Outgoing{To: "+1", Text: "€ ä"}, ""},
		{"no alphabet, not UTF-8: ISO", "To: 1\n\n\xe4", Outgoing{To: "+1", Text: "ä"}, ""},
		{"no alphabet, UTF-8", "To: 1\n\nä€", Outgoing{To: "+1", Text: "ä€"}, ""},
		{"UCS2", "To: 1\nAlphabet: UCS2\n\n\x04\x1f\x00!", Outgoing{To: "+1", Text: "П!"}, ""},
		{"GSM", "To: 1\nAlphabet: GSM\n\n\x00A", Outgoing{To: "+1", Text: "@A"}, ""},
		{"flash no is text", "To: 1\nFlash: no\n\nx", Outgoing{To: "+1", Text: "x"}, ""},
		{"no To", "Flash: no\n\nx", Outgoing{}, "no To: header"},
		{"no empty line", "To: 1\nhello", Outgoing{}, "no empty line"},
		{"not a header", "To: 1\nhello there\n\nx", Outgoing{}, "line 2 is not a header"},
		{"letters in To", "To: 12ab\n\nx", Outgoing{}, "not a phone number"},
		{"empty text", "To: 1\n\n\n", Outgoing{}, "text is empty"},
		{"bad report", "To: 1\nReport: maybe\n\nx", Outgoing{}, "neither yes nor no"},
		{"bad validity", "To: 1\nValidity: 300\n\nx", Outgoing{}, "not within 0–255"},
		{"bad validity unit", "To: 1\nValidity: 3 fortnights\n\nx", Outgoing{}, "unknown unit"},
		{"bad UTF-8", "To: 1\nAlphabet: UTF-8\n\n\xff", Outgoing{}, "not valid UTF-8"},
		{"odd UCS2", "To: 1\nAlphabet: UCS\n\n\x00", Outgoing{}, "odd number"},
		{"flash", "To: 1\nFlash: yes\n\nx", Outgoing{To: "+1", Text: "x", Flash: true}, ""},
		{"binary, UDH first by default", "To: 1\nAlphabet: binary\n\n\x06\x05\x04\x23\xf4\x00\x00\x01\n\x00",
			Outgoing{To: "+1", UDH: []byte{6, 5, 4, 0x23, 0xf4, 0, 0}, Data: []byte{1, '\n', 0}}, ""},
		{"binary without UDH, in hex", "To: 1\nAlphabet: binary\nUDH: no\nHex: yes\n\n01 02\nff\n",
			Outgoing{To: "+1", Data: []byte{1, 2, 0xff}}, ""},
		{"text with UDH-DATA", "To: 1\nUDH-DATA: 05 00 03 07 02 01\n\nx", Outgoing{To: "+1", Text: "x", UDH: []byte{5, 0, 3, 7, 2, 1}}, ""},
		{"UDH longer than the data", "To: 1\nAlphabet: binary\n\n\x09\x00", Outgoing{}, "user data header says 9 bytes"},
		{"bad hex", "To: 1\nAlphabet: binary\nHex: yes\n\nzz", Outgoing{}, "not hex"},
		{"bad UDH-DATA", "To: 1\nUDH-DATA: 09 00\n\nx", Outgoing{}, "starting with its length"},
		{"unknown alphabet", "To: 1\nAlphabet: EBCDIC\n\nx", Outgoing{}, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOutgoing([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.To != tt.want.To || got.Text != tt.want.Text || got.Priority != tt.want.Priority || got.Validity != tt.want.Validity ||
				(got.Report == nil) != (tt.want.Report == nil) || got.Report != nil && *got.Report != *tt.want.Report ||
				got.Flash != tt.want.Flash || !bytes.Equal(got.Data, tt.want.Data) || !bytes.Equal(got.UDH, tt.want.UDH) {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestWithHeaders(t *testing.T) {
	tests := []struct{ in, want string }{
		{"To: 1\n\nhi\n", "To: 1\nA: 1\nB: 2\n\nhi\n"},
		{"To: 1\r\n\r\nhi\r\n", "To: 1\r\nA: 1\r\nB: 2\r\n\r\nhi\r\n"},
		{"\nhi", "A: 1\nB: 2\n\nhi"},
		{"no headers at all", "no headers at all\nA: 1\nB: 2\n"},
		{"", "A: 1\nB: 2\n"},
	}
	for _, tt := range tests {
		if got := string(withHeaders([]byte(tt.in), []string{"A: 1", "B: 2"})); got != tt.want {
			t.Errorf("withHeaders(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParseOutgoing: any file parses or is refused without a panic, and
// one with added headers keeps its text.
func FuzzParseOutgoing(f *testing.F) {
	for _, s := range []string{"To: 1\n\nhi", "To: 1\r\nAlphabet: UCS\r\n\r\n\x00a", "To: s1\nValidity: 2w\n\n\xe4", "\n", "To:\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseOutgoing(b)
		if err != nil {
			return
		}
		again, err := ParseOutgoing(withHeaders(b, []string{"Sent: 26-01-02 03:04:05", "Message_id: 7"}))
		if err != nil || again.Text != o.Text || again.To != o.To || !bytes.Equal(again.Data, o.Data) {
			t.Fatalf("with added headers: %+v, %v; before: %+v", again, err, o)
		}
	})
}
