package modem

import (
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"
)

// FuzzEngine feeds arbitrary bytes into the answer of a command: the
// command must end (with any result but a timeout, since the real OK
// follows), nothing may panic, and the reader must stay in step, which a
// URC sent afterwards proves.
func FuzzEngine(f *testing.F) {
	for _, s := range []string{
		"", "\r\n+CSQ: 1,2\r\n", "AT+C\r\n+CMTI: \"SM\",1\r\nSQ\r", "\r\n+CMT: ,5\r\n", "\r\n> 00\x1a",
		"\r\n+CDS: 6\r\nZZ\r\n", "RDY\r\nSMS Ready\r\n", ">>>", "\r\n+CREG: 1,\"00C3\"\r\n", "\x00\xff\x1b",
		"\r\n+CUSD: 0,\"x\",15\r\n", "\r\n+CMS ERROR: 500\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) {
			fm := newFake(t).on("AT+CSQ\r\n", string(data), "\r\nOK\r\n")
			m := New(fm, Config{CommandTimeout: 10 * time.Second})
			defer m.Close()
			if _, err := m.Command(t.Context(), "AT+CSQ"); errors.Is(err, ErrTimeout) {
				t.Fatalf("command timed out on %q", data)
			}
			fm.inject("\r\n+SENTINEL: 1\r\n")
			for e := range m.Events() {
				if e.Line == "+SENTINEL: 1" {
					return
				}
			}
			t.Fatal("events closed before the sentinel")
		})
	})
}

// FuzzParsers runs every answer parser on arbitrary text and checks the
// invariants of what they accept.
func FuzzParsers(f *testing.F) {
	for _, s := range []string{
		"20,99", "99,99", `2,1,"00C3","0000A1B2",7`, `1,"1A2B","01C3D4E5",7`, `0,0,"EE",7`,
		"+CCID: 89441000300000000001", "^ICCID: 98441000030000000010", `"SM",0,30,"SM",0,30`,
		`1,,"x,y",23`, "SIM not inserted", "42",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if sig, ok := parseCSQ(s); ok && sig.Known {
			if sig.DBM < -113 || sig.DBM > -51 || sig.Bars < 0 || sig.Bars > 4 {
				t.Errorf("parseCSQ(%q) = %+v", s, sig)
			}
		}
		for _, q := range []bool{true, false} {
			if r, ok := parseRegLine(s, q); ok && r.state != regStateOf(r.stat) {
				t.Errorf("parseRegLine(%q) = %+v", s, r)
			}
		}
		parseCOPS(s)
		if iccid, ok := parseICCID(strings.Split(s, "\n")); ok && (!isDigits(iccid) || len(iccid) < 18 || len(iccid) > 22) {
			t.Errorf("parseICCID(%q) = %q", s, iccid)
		}
		if mems := parseCPMSMems(s); mems[0] != parseCPMSMem(s) {
			t.Errorf("parseCPMSMems(%q) = %q, parseCPMSMem = %q", s, mems, parseCPMSMem(s))
		}
		parseCMGL(strings.Split(s, "\n"), "SM")
		parseCUSD(s, true)
		parseCUSD(s, false)
		pduLength(s, true)
		pduMatchesLength(s, len(s))
		arg := strings.Trim(strings.TrimSpace(s), `"`)
		if _, err := strconv.Atoi(arg); err != nil && arg != "" {
			if _, text := parseErrorCode(s, cmsTexts); text == "" {
				t.Errorf("parseErrorCode(%q) lost the text", s)
			}
		}
		if d, ok := decodeUCS2Hex(s); ok && !utf8.ValidString(d) {
			t.Errorf("decodeUCS2Hex(%q) = invalid UTF-8", s)
		}
	})
}

// FuzzUSSDPacking checks that packed USSD text decodes back to itself.
func FuzzUSSDPacking(f *testing.F) {
	for _, s := range []string{"*100#", "1234567", "12345678", "abc\r", "1234567\r", "€[]", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		packed, err := packUSSD(s)
		if err != nil {
			return
		}
		b, err := hex.DecodeString(packed)
		if err != nil {
			t.Fatal(err)
		}
		got := unpackGSM7(b)
		// A CR ending the text on an octet boundary is doubled on purpose
		// (TS 23.038 §6.1.2.3.1: <CR><CR> means the same as <CR>).
		if got != s && !(strings.HasSuffix(s, "\r") && got == s+"\r") {
			t.Errorf("unpack(pack(%q)) = %q", s, got)
		}
	})
}

// FuzzDecodeUSSD checks that any <str> under any <dcs> decodes to valid
// UTF-8 without junk at its ends, and that UCS-2 under dcs 72 comes back.
func FuzzDecodeUSSD(f *testing.F) {
	f.Add("CF2135487D2E4131DCCD25A381E02E", 15, true)
	f.Add("0041004200430020041F", 72, false)
	f.Add("653700480069", 17, false)
	f.Add("Ihr Guthaben betr{gt", 15, false)
	f.Add("Cr\xe9dit", 0, false)
	f.Fuzz(func(t *testing.T, s string, dcs int, packed bool) {
		got := decodeUSSD(s, dcs, packed)
		if !utf8.ValidString(got) {
			t.Errorf("decodeUSSD(%q, %d) = %q: invalid UTF-8", s, dcs, got)
		}
		if strings.Trim(got, junk) != got {
			t.Errorf("decodeUSSD(%q, %d) = %q: junk left at an end", s, dcs, got)
		}
	})
}
