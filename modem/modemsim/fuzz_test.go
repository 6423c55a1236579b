package modemsim

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func FuzzExecLine(f *testing.F) {
	for _, seed := range []string{
		"AT", "ATE0V1", "AT+CMGF=0;+CNMI=2,1,0,2,0", `AT+CPMS="SR","ME","ME"`, "AT+CMGS=24",
		`AT+CUSD=1,"*100#",15`, "ATS3=13", "AT&F", "AT+CMGD=1,4", `AT+CSCA="+15559999999",145`,
		`AT+CPIN="1234","5678"`, "AT+COPS=3,0;+COPS?", "AT+CFUN=1,1", `AT+X="a;b"`, "AT+CMGL=\"ALL\"",
	} {
		f.Add(seed)
	}
	n := NewNetwork()
	f.Cleanup(func() { n.Close() })
	m := n.AddModem(Config{PIN: "1234"})
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\r\n") {
			t.Skip("a line ends at CR or LF")
		}
		steps, prompt := m.execLine(line, '\r')
		if len(steps) != 1 || steps[0].call != nil {
			t.Fatalf("steps %+v", steps)
		}
		out := steps[0].out
		switch {
		case prompt > 0:
			if !bytes.HasSuffix(out, []byte("\r\n> ")) {
				t.Errorf("prompt %d without \"> \": %q", prompt, out)
			}
		case prompt < 0:
		default:
			final := out[bytes.LastIndex(out[:len(out)-2], []byte("\r\n"))+2 : len(out)-2]
			if !isFinal(string(final)) {
				t.Errorf("%q: no final result in %q", line, out)
			}
		}
	})
}

func FuzzSubmitPDU(f *testing.F) {
	f.Add("07915155999999F911000B915155000000F20000FF10E8329BFD0699E5EF36E81C6EB7EB", 28)
	f.Add("0001000B914477009021F3000005E8329BFD06", 18)
	f.Add("00", 7)
	n := NewNetwork()
	f.Cleanup(func() { n.Close() })
	m := n.AddModem(Config{})
	f.Fuzz(func(t *testing.T, hexPDU string, length int) {
		steps := m.submitPDU(hexPDU, length, time.Now())
		// Either a +CMS ERROR right away, or the echo and the deferred send.
		if len(steps) == 1 && !bytes.Contains(steps[0].out, []byte("ERROR")) {
			t.Errorf("single step without an error: %q", steps[0].out)
		}
		if len(steps) == 2 && steps[1].call == nil {
			t.Error("accepted PDU without a send")
		}
	})
}
