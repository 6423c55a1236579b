package modemsim

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/pdu"
)

// mustNetwork returns a network of count modems, closed when the test ends.
func mustNetwork(t testing.TB, count int, opts ...Option) (*Network, []*Modem) {
	t.Helper()
	n := NewNetwork(opts...)
	t.Cleanup(func() { n.Close() })
	var ms []*Modem
	for range count {
		ms = append(ms, n.AddModem(Config{}))
	}
	return n, ms
}

// mustClient connects a test client to m over a pipe, with echo off and
// numeric errors, as a driver sets a modem up.
func mustClient(t testing.TB, m *Modem) *client {
	t.Helper()
	c := newClient(t, m.Pipe(t.Context()))
	c.mustOK("ATE0")
	c.mustOK("AT+CMEE=1")
	return c
}

// mustSubmit encodes text to to as SUBMIT segments.
func mustSubmit(t testing.TB, to, text string, opts pdu.SubmitOptions) []pdu.Segment {
	t.Helper()
	s, err := pdu.EncodeSubmit(to, text, opts)
	if err != nil {
		t.Fatalf("encode submit: %v", err)
	}
	return s.Segments
}

func mustDecode(t testing.TB, hexPDU string) *pdu.Message {
	t.Helper()
	m, err := pdu.Decode(hexPDU)
	if err != nil {
		t.Fatalf("decode %s: %v", hexPDU, err)
	}
	return m
}

// mustSend sends every segment and returns the <mr> of each.
func mustSend(t testing.TB, c *client, segs []pdu.Segment) []int {
	t.Helper()
	var mrs []int
	for _, s := range segs {
		info, final := c.sendPDU(s.PDU, s.TPDULength)
		if final != "OK" || len(info) != 1 || !strings.HasPrefix(info[0], "+CMGS: ") {
			t.Fatalf("send: got %q then %q", info, final)
		}
		mr, err := strconv.Atoi(strings.TrimPrefix(info[0], "+CMGS: "))
		if err != nil {
			t.Fatalf("bad +CMGS line %q", info[0])
		}
		mrs = append(mrs, mr)
	}
	return mrs
}

// readPDU reads the PDU line that follows a +CMT/+CDS/+CMGR header and
// checks the header's <length> against it.
func readPDU(t testing.TB, c *client, header string) *pdu.Message {
	t.Helper()
	hexPDU := c.next()
	f := strings.Split(header, ",")
	length, err := strconv.Atoi(strings.TrimSpace(f[len(f)-1][strings.LastIndex(f[len(f)-1], " ")+1:]))
	if err != nil {
		t.Fatalf("no length in %q", header)
	}
	if got := tpduLen(hexPDU); got != length {
		t.Errorf("%q announces %d octets, pdu has %d", header, length, got)
	}
	return mustDecode(t, hexPDU)
}

func TestIdentity(t *testing.T) {
	_, ms := mustNetwork(t, 2)
	m := ms[0]
	c := mustClient(t, m)
	cfg := m.Config()
	tests := []struct {
		cmd  string
		want []string
	}{
		{"ATI", []string{DefaultManufacturer, DefaultModel, "Revision: " + DefaultRevision}},
		{"AT+CGMI", []string{DefaultManufacturer}},
		{"AT+GMI", []string{DefaultManufacturer}},
		{"AT+CGMM", []string{DefaultModel}},
		{"AT+CGMR", []string{DefaultRevision}},
		{"AT+CGSN", []string{cfg.IMEI}},
		{"AT+GSN", []string{cfg.IMEI}},
		{"AT+CIMI", []string{cfg.IMSI}},
		{"AT+CCID", []string{"+CCID: " + cfg.ICCID}},
		{"AT+ICCID", []string{"+ICCID: " + cfg.ICCID}},
		{"AT+CNUM", []string{`+CNUM: "","+12025550101",145`}},
		{"AT+GCAP", []string{"+GCAP: +CGSM"}},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			got := c.mustOK(tt.cmd)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("defaults", func(t *testing.T) {
		a, b := ms[0].Config(), ms[1].Config()
		if a.Number != "+12025550101" || b.Number != "+12025550102" {
			t.Errorf("numbers %q, %q", a.Number, b.Number)
		}
		for _, cfg := range []Config{a, b} {
			if len(cfg.IMEI) != 15 || !luhnValid(cfg.IMEI) {
				t.Errorf("IMEI %q: not 15 digits with a Luhn check", cfg.IMEI)
			}
			if !luhnValid(cfg.ICCID) {
				t.Errorf("ICCID %q: bad Luhn check", cfg.ICCID)
			}
			if len(cfg.IMSI) != 15 || !strings.HasPrefix(cfg.IMSI, DefaultPLMN) {
				t.Errorf("IMSI %q", cfg.IMSI)
			}
		}
		if a.IMEI == b.IMEI || a.IMSI == b.IMSI || a.ICCID == b.ICCID {
			t.Errorf("identities not distinct: %+v %+v", a, b)
		}
	})
}

func TestLuhn(t *testing.T) {
	// 490154203237518 is the IMEI example of TS 23.003 Annex B.
	if got := luhn("49015420323751"); got != "490154203237518" {
		t.Errorf("luhn = %s, want 490154203237518", got)
	}
	if luhnValid("490154203237519") {
		t.Error("wrong check digit accepted")
	}
}

func TestEchoAndReset(t *testing.T) {
	_, ms := mustNetwork(t, 1)
	c := newClient(t, ms[0].Pipe(t.Context()))

	c.write("AT\r")
	c.expect("AT") // echo is on at power-on
	c.expect("OK")
	c.write("ATE0\r")
	c.expect("ATE0") // echoed before it takes effect
	c.expect("OK")
	c.write("AT\r\n") // CR LF terminated
	c.expect("OK")
	c.write("ATZ\r")
	c.expect("OK")
	c.write("at\r")
	c.expect("at")
	c.expect("OK")
}

func TestCommandLine(t *testing.T) {
	_, ms := mustNetwork(t, 1)
	c := mustClient(t, ms[0])
	tests := []struct {
		line  string
		info  []string
		final string
	}{
		{"AT", nil, "OK"},
		{"AT+CMGF=0;+CSMS=0", []string{"+CSMS: 1,1,1"}, "OK"},
		{"AT+CMGF?;+CSQ", []string{"+CMGF: 0", "+CSQ: 20,99"}, "OK"},
		{"ATE0V1Q0", nil, "OK"},
		{"at+cmgf?", []string{"+CMGF: 0"}, "OK"},
		{"AT+FOO", nil, "ERROR"},
		{"AT^CURC=0", nil, "ERROR"},
		{"AT+CSQ;+FOO;+CMGF?", []string{"+CSQ: 20,99"}, "ERROR"},
		{"HELLO", nil, "ERROR"},
		{"ATS3?", []string{"013"}, "OK"},
		{"AT+CMGF=?", []string{"+CMGF: (0,1)"}, "OK"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			info, final := c.cmd(tt.line)
			if strings.Join(info, "|") != strings.Join(tt.info, "|") || final != tt.final {
				t.Errorf("got %q %q, want %q %q", info, final, tt.info, tt.final)
			}
		})
	}

	t.Run("ESC abandons a half-typed line", func(t *testing.T) {
		c.write("AT+FOO\x1b")
		if got := c.mustInfo("AT+CSQ"); got != "+CSQ: 20,99" {
			t.Errorf("got %q", got)
		}
	})
}

func TestErrorFormats(t *testing.T) {
	_, ms := mustNetwork(t, 1)
	c := newClient(t, ms[0].Pipe(t.Context()))
	c.mustOK("ATE0")
	tests := []struct {
		cmee, cmd, want string
	}{
		{"0", "AT+CMGR=99", "ERROR"},
		{"1", "AT+CMGR=99", "+CMS ERROR: 321"},
		{"2", "AT+CMGR=99", "+CMS ERROR: invalid memory index"},
		{"0", "AT+CPIN=\"1111\"", "ERROR"},
		{"1", "AT+CPIN=\"1111\"", "+CME ERROR: 3"},
		{"2", "AT+CPIN=\"1111\"", "+CME ERROR: operation not allowed"},
		{"2", "AT+BOGUS", "ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.cmee+" "+tt.cmd, func(t *testing.T) {
			c.mustOK("AT+CMEE=" + tt.cmee)
			if _, got := c.cmd(tt.cmd); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPIN(t *testing.T) {
	n := NewNetwork()
	t.Cleanup(func() { n.Close() })
	m := n.AddModem(Config{PIN: "1234"})
	c := mustClient(t, m)

	if got := c.mustInfo("AT+CPIN?"); got != "+CPIN: SIM PIN" {
		t.Fatalf("locked SIM: %q", got)
	}
	for _, cmd := range []string{"AT+CIMI", "AT+CNUM", "AT+CPMS?", "AT+CMGL=4", "AT+CSCA?"} {
		if _, got := c.cmd(cmd); got != "+CME ERROR: 11" {
			t.Errorf("%s while locked: %q, want +CME ERROR: 11", cmd, got)
		}
	}
	if got := c.mustInfo("AT+CREG?"); got != "+CREG: 0,0" {
		t.Errorf("registration while locked: %q", got)
	}
	if _, got := c.cmd(`AT+CPIN="0000"`); got != "+CME ERROR: 16" {
		t.Errorf("wrong PIN: %q", got)
	}
	c.mustOK(`AT+CPIN="1234"`)
	if got := c.mustInfo("AT+CPIN?"); got != "+CPIN: READY" {
		t.Errorf("after PIN: %q", got)
	}
	if got := c.mustInfo("AT+CIMI"); got != m.Config().IMSI {
		t.Errorf("IMSI after PIN: %q", got)
	}
	if got := c.mustInfo("AT+CREG?"); got != "+CREG: 0,1" {
		t.Errorf("registration after PIN: %q", got)
	}

	t.Run("three wrong PINs block the SIM", func(t *testing.T) {
		m.Reset()
		c.readUntil("+CPIN: SIM PIN") // boot announcement
		c.mustOK("ATE0")
		c.mustOK("AT+CMEE=1")
		for range 3 {
			if _, got := c.cmd(`AT+CPIN="9999"`); got != "+CME ERROR: 16" {
				t.Fatalf("wrong PIN: %q", got)
			}
		}
		if got := c.mustInfo("AT+CPIN?"); got != "+CPIN: SIM PUK" {
			t.Fatalf("after 3 wrong PINs: %q", got)
		}
		if _, got := c.cmd("AT+CIMI"); got != "+CME ERROR: 12" {
			t.Errorf("blocked SIM: %q", got)
		}
		c.mustOK(`AT+CPIN="12345678","4321"`)
		if got := c.mustInfo("AT+CPIN?"); got != "+CPIN: READY" {
			t.Errorf("after PUK: %q", got)
		}
	})
}

func TestNetworkStatus(t *testing.T) {
	_, ms := mustNetwork(t, 1)
	m := ms[0]
	c := mustClient(t, m)

	steps := []struct {
		name string
		knob func()
		cmd  string
		want string
		urcs []string // lines expected before the command's answer
	}{
		{"signal", nil, "AT+CSQ", "+CSQ: 20,99", nil},
		{"signal change", func() { m.SetSignal(7, 0) }, "AT+CSQ", "+CSQ: 7,0", nil},
		{"creg default", nil, "AT+CREG?", "+CREG: 0,1", nil},
		{"cops long name", nil, "AT+COPS?", `+COPS: 0,0,"simgate virtual",7`, nil},
		{"cops numeric", func() { c.mustOK("AT+COPS=3,2") }, "AT+COPS?", `+COPS: 0,2,"00101",7`, nil},
		{"creg=2", func() { c.mustOK("AT+CREG=2") }, "AT+CREG?", `+CREG: 2,1,"1A2B","01C2D3E4",7`, nil},
		{"cereg=2", func() { c.mustOK("AT+CEREG=2") }, "AT+CEREG?", `+CEREG: 2,1,"1A2B","01C2D3E4",7`, nil},
		{"roaming", func() { m.SetRegistration(RegRoaming) }, "AT+CREG?", `+CREG: 2,5,"1A2B","01C2D3E4",7`,
			[]string{`+CREG: 5,"1A2B","01C2D3E4",7`, `+CEREG: 5,"1A2B","01C2D3E4",7`}},
		{"cgreg=1", func() { c.mustOK("AT+CGREG=1") }, "AT+CGREG?", "+CGREG: 1,5", nil},
		{"searching", func() { m.SetRegistration(RegSearching) }, "AT+COPS?", "+COPS: 0",
			[]string{`+CREG: 2,"1A2B","01C2D3E4",7`, "+CGREG: 2", `+CEREG: 2,"1A2B","01C2D3E4",7`}},
		{"radio off", func() { m.SetRegistration(RegHome); c.readUntil("+CEREG: 1"); c.mustOK("AT+CFUN=0") }, "AT+CSQ", "+CSQ: 99,99",
			[]string{`+CREG: 0,"1A2B","01C2D3E4",7`, "+CGREG: 0", `+CEREG: 0,"1A2B","01C2D3E4",7`}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.knob != nil {
				st.knob()
			}
			for _, u := range st.urcs {
				c.expect(u)
			}
			if got := c.mustInfo(st.cmd); got != st.want {
				t.Errorf("%s: got %q, want %q", st.cmd, got, st.want)
			}
		})
	}
}

func TestSend(t *testing.T) {
	n, ms := mustNetwork(t, 2)
	c := mustClient(t, ms[0])
	c.mustOK("AT+CMGF=0")

	t.Run("single", func(t *testing.T) {
		segs := mustSubmit(t, "+12025550102", "hello there", pdu.SubmitOptions{})
		mrs := mustSend(t, c, segs)
		recs := n.Records()
		if len(recs) != 1 {
			t.Fatalf("got %d records, want 1", len(recs))
		}
		r := recs[0]
		want := Record{From: "+12025550101", FromIMEI: ms[0].IMEI(), To: "+12025550102", Text: "hello there",
			PDU: segs[0].PDU, MR: mrs[0], Part: 1, Total: 1, Encoding: "gsm7", Local: true}
		r.At = time.Time{}
		if fmt.Sprint(r) != fmt.Sprint(want) {
			t.Errorf("record\n got %+v\nwant %+v", r, want)
		}
	})

	t.Run("multipart", func(t *testing.T) {
		text := strings.Repeat("Multipart messages need a header. ", 12) // 408 septets: 3 parts
		segs := mustSubmit(t, "+447700900123", text, pdu.SubmitOptions{ConcatRef: 77, StatusReport: true, Validity: time.Hour})
		if len(segs) != 3 {
			t.Fatalf("encoded %d segments, want 3", len(segs))
		}
		mrs := mustSend(t, c, segs)
		recs := n.Records()[1:]
		if len(recs) != 3 {
			t.Fatalf("got %d records, want 3", len(recs))
		}
		var joined string
		for i, r := range recs {
			if r.MR != mrs[i] || r.Part != i+1 || r.Total != 3 || r.Ref != 77 || !r.SRR || r.Validity != time.Hour || r.Local {
				t.Errorf("part %d: %+v", i+1, r)
			}
			joined += r.Text
		}
		if joined != text {
			t.Errorf("joined text %q, want %q", joined, text)
		}
		// +CMGS answers a per-modem counter: 1 for the single message, then 2, 3, 4.
		if fmt.Sprint(mrs) != "[2 3 4]" {
			t.Errorf("MRs %v, want [2 3 4]", mrs)
		}
	})

	t.Run("mr wraps at 256", func(t *testing.T) {
		ms[0].SetNextMR(255)
		mrs := mustSend(t, c, mustSubmit(t, "+447700900123", "a", pdu.SubmitOptions{}))
		mrs = append(mrs, mustSend(t, c, mustSubmit(t, "+447700900123", "b", pdu.SubmitOptions{}))...)
		if fmt.Sprint(mrs) != "[255 0]" {
			t.Errorf("MRs %v, want [255 0]", mrs)
		}
	})

	t.Run("bad pdu", func(t *testing.T) {
		seg := mustSubmit(t, "+447700900123", "x", pdu.SubmitOptions{})[0]
		before := len(n.Records())
		for _, tt := range []struct {
			name   string
			hex    string
			length int
		}{
			{"length mismatch", seg.PDU, seg.TPDULength + 1},
			{"not hex", "00ZZ", 7},
			{"truncated", seg.PDU[:len(seg.PDU)-4], seg.TPDULength - 2},
		} {
			if _, got := c.sendPDU(tt.hex, tt.length); got != "+CMS ERROR: 304" {
				t.Errorf("%s: got %q, want +CMS ERROR: 304", tt.name, got)
			}
		}
		if got := len(n.Records()); got != before {
			t.Errorf("records grew from %d to %d", before, got)
		}
	})

	t.Run("text mode refuses", func(t *testing.T) {
		c.mustOK("AT+CMGF=1")
		if _, got := c.cmd("AT+CMGS=20"); got != "+CMS ERROR: 302" {
			t.Errorf("got %q", got)
		}
		c.mustOK("AT+CMGF=0")
	})
}

func TestSendFailures(t *testing.T) {
	n, ms := mustNetwork(t, 1)
	c := mustClient(t, ms[0])
	n.SetFailure("+447700900999", 21)
	ms[0].SetFailure("+447700900888", 38)
	tests := []struct {
		to   string
		want string
	}{
		{"+447700900999", "+CMS ERROR: 21"},
		{"+447700900888", "+CMS ERROR: 38"},
		{"+447700900123", "OK"},
	}
	for _, tt := range tests {
		t.Run(tt.to, func(t *testing.T) {
			seg := mustSubmit(t, tt.to, "hi", pdu.SubmitOptions{})[0]
			if _, got := c.sendPDU(seg.PDU, seg.TPDULength); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if recs := n.Records(); len(recs) != 1 || recs[0].To != "+447700900123" {
		t.Errorf("records %+v, want only the one that went through", recs)
	}

	t.Run("unregistered", func(t *testing.T) {
		ms[0].SetRegistration(RegDenied)
		seg := mustSubmit(t, "+447700900123", "hi", pdu.SubmitOptions{})[0]
		if _, got := c.sendPDU(seg.PDU, seg.TPDULength); got != "+CMS ERROR: 331" {
			t.Errorf("got %q, want +CMS ERROR: 331", got)
		}
	})
}

func TestCancelAndNoPrompt(t *testing.T) {
	n, ms := mustNetwork(t, 1)
	c := mustClient(t, ms[0])
	seg := mustSubmit(t, "+447700900123", "never sent", pdu.SubmitOptions{})[0]

	t.Run("ESC at the prompt", func(t *testing.T) {
		c.write(fmt.Sprintf("AT+CMGS=%d\r", seg.TPDULength))
		c.expect("> ")
		c.write(seg.PDU[:10] + "\x1b")
		c.expect("OK")
	})
	t.Run("prompt never comes", func(t *testing.T) {
		ms[0].SetNoPrompt(true)
		c.write(fmt.Sprintf("AT+CMGS=%d\r", seg.TPDULength))
		c.write(seg.PDU + "\x1a") // a driver that does not wait for the prompt
		c.write("\x1b")
		// Had the prompt been shown, "> " would come before this OK.
		c.expect("OK")
		ms[0].SetNoPrompt(false)
		c.mustOK("AT")
	})
	if recs := n.Records(); len(recs) != 0 {
		t.Errorf("cancelled sends recorded: %+v", recs)
	}
}

func TestNoise(t *testing.T) {
	_, ms := mustNetwork(t, 1)
	c := mustClient(t, ms[0])
	ms[0].SetNoise(DefaultNoise...)

	info, final := c.cmd("AT+CSQ")
	if final != "OK" || strings.Join(info, "|") != "+CSQ: 20,99|RING|^RSSI:12|+CIEV: 2,3" {
		t.Errorf("AT+CSQ: %q %q", info, final)
	}
	seg := mustSubmit(t, "+447700900123", "noisy", pdu.SubmitOptions{})[0]
	info, final = c.sendPDU(seg.PDU, seg.TPDULength)
	if final != "OK" || strings.Join(info, "|") != "+CMGS: 1|RING|^RSSI:12|+CIEV: 2,3" {
		t.Errorf("AT+CMGS: %q %q", info, final)
	}
	ms[0].SetNoise()
	if info := c.mustOK("AT+CSQ"); len(info) != 1 {
		t.Errorf("noise off: %q", info)
	}
}

func TestInbound(t *testing.T) {
	n, ms := mustNetwork(t, 2)
	a, b := mustClient(t, ms[0]), mustClient(t, ms[1])

	t.Run("mt=1 stores and indicates", func(t *testing.T) {
		b.mustOK("AT+CNMI=2,1,0,0,0")
		mustSend(t, a, mustSubmit(t, ms[1].Number(), "stored for you", pdu.SubmitOptions{}))
		b.expect(`+CMTI: "SM",1`)
		info := b.mustOK("AT+CMGR=1")
		if len(info) != 2 || !strings.HasPrefix(info[0], "+CMGR: 0,,") {
			t.Fatalf("CMGR: %q", info)
		}
		msg := mustDecode(t, info[1])
		if msg.Type != pdu.TypeDeliver || msg.From.Number != ms[0].Number() || msg.Text != "stored for you" {
			t.Errorf("delivered %+v", msg)
		}
		if got := b.mustOK("AT+CMGR=1"); !strings.HasPrefix(got[0], "+CMGR: 1,,") {
			t.Errorf("read message not marked read: %q", got[0])
		}
		b.mustOK("AT+CMGD=1")
		if _, got := b.cmd("AT+CMGR=1"); got != "+CMS ERROR: 321" {
			t.Errorf("deleted slot: %q", got)
		}
	})

	t.Run("multipart keeps its header", func(t *testing.T) {
		text := strings.Repeat("ünïcödé ✓ ", 20) // UCS-2, 200 units: 4 parts of 66
		segs := mustSubmit(t, ms[1].Number(), text, pdu.SubmitOptions{ConcatRef: 300, Concat16: true})
		if len(segs) != 4 {
			t.Fatalf("encoded %d segments, want 4", len(segs))
		}
		mustSend(t, a, segs)
		for i := range segs {
			b.expect(fmt.Sprintf(`+CMTI: "SM",%d`, i+1))
		}
		info := b.mustOK("AT+CMGL=4")
		if len(info) != 2*len(segs) {
			t.Fatalf("CMGL: %q", info)
		}
		var joined string
		for i := range segs {
			if want := fmt.Sprintf("+CMGL: %d,0,,", i+1); !strings.HasPrefix(info[2*i], want) {
				t.Errorf("CMGL line %q, want prefix %q", info[2*i], want)
			}
			msg := mustDecode(t, info[2*i+1])
			if msg.Concat == nil || *msg.Concat != (pdu.Concat{Ref: 300, Part: i + 1, Total: 4, Bits: 16}) {
				t.Errorf("part %d concat %+v", i+1, msg.Concat)
			}
			if msg.Encoding != pdu.UCS2 {
				t.Errorf("part %d encoding %s", i+1, msg.Encoding)
			}
			joined += msg.Text
		}
		if joined != text {
			t.Errorf("text %q, want %q", joined, text)
		}
		if info := b.mustOK("AT+CMGL=0"); len(info) != 0 {
			t.Errorf("listing did not mark read: %q", info)
		}
		b.mustOK("AT+CMGD=1,4")
		if got := b.mustInfo("AT+CPMS?"); got != `+CPMS: "SM",0,30,"SM",0,30,"SM",0,30` {
			t.Errorf("after delete all: %q", got)
		}
	})

	t.Run("mt=2 routes directly and wants CNMA", func(t *testing.T) {
		b.mustOK("AT+CSMS=1")
		b.mustOK("AT+CNMI=2,2,0,0,0")
		mustSend(t, a, mustSubmit(t, ms[1].Number(), "direct", pdu.SubmitOptions{}))
		_, h := b.readUntil("+CMT: ")
		if msg := readPDU(t, b, h); msg.Text != "direct" {
			t.Errorf("+CMT text %q", msg.Text)
		}
		b.mustOK("AT+CNMA")
		if _, got := b.cmd("AT+CNMA"); got != "+CMS ERROR: 340" {
			t.Errorf("second CNMA: %q", got)
		}
		if got := b.mustInfo("AT+CPMS?"); got != `+CPMS: "SM",0,30,"SM",0,30,"SM",0,30` {
			t.Errorf("direct message was stored: %q", got)
		}
	})

	t.Run("outside sender", func(t *testing.T) {
		b.mustOK("AT+CNMI=2,1,0,0,0")
		if err := n.Deliver("+447700900123", ms[1].Number(), "from outside"); err != nil {
			t.Fatal(err)
		}
		b.expect(`+CMTI: "SM",1`)
		if err := n.Deliver("BANK", ms[1].Number(), "code 123456"); err != nil {
			t.Fatal(err)
		}
		b.expect(`+CMTI: "SM",2`)
		info := b.mustOK("AT+CMGL=4")
		got := []string{mustDecode(t, info[1]).From.Number, mustDecode(t, info[3]).From.Number}
		if fmt.Sprint(got) != "[+447700900123 BANK]" {
			t.Errorf("senders %q", got)
		}
		if err := n.Deliver("+447700900123", "+19999999999", "nobody"); err == nil {
			t.Error("deliver to an unknown number succeeded")
		}
	})
}

func TestStorageFull(t *testing.T) {
	n := NewNetwork()
	t.Cleanup(func() { n.Close() })
	m := n.AddModem(Config{Storage: 2})
	c := mustClient(t, m)
	c.mustOK("AT+CNMI=2,1,0,0,0")
	for i := range 3 {
		if err := n.Deliver("+447700900123", m.Number(), fmt.Sprint("msg ", i)); err != nil {
			t.Fatal(err)
		}
	}
	c.expect(`+CMTI: "SM",1`)
	c.expect(`+CMTI: "SM",2`)
	if got := c.mustInfo("AT+CPMS?"); got != `+CPMS: "SM",2,2,"SM",2,2,"SM",2,2` {
		t.Errorf("full memory: %q", got)
	}
	c.mustOK("AT+CMGD=1")
	// The network retries once there is room again.
	c.expect(`+CMTI: "SM",1`)
	if msg := mustDecode(t, c.mustOK("AT+CMGR=1")[1]); msg.Text != "msg 2" {
		t.Errorf("held message %q", msg.Text)
	}
	if st := m.Stored("SM"); len(st) != 2 || mustDecode(t, st[0]).Text != "msg 2" || mustDecode(t, st[1]).Text != "msg 1" {
		t.Errorf("Stored(SM) = %q", st)
	}
}

func TestStatusReports(t *testing.T) {
	n, ms := mustNetwork(t, 2)
	a := mustClient(t, ms[0])
	n.SetReport("+447700900666", ReportPolicy{Status: 0x46})
	n.SetReport("+447700900777", ReportPolicy{Drop: true})

	t.Run("ds=1", func(t *testing.T) {
		a.mustOK("AT+CNMI=2,1,0,1,0")
		mrs := mustSend(t, a, mustSubmit(t, ms[1].Number(), "report me", pdu.SubmitOptions{StatusReport: true}))
		_, h := a.readUntil("+CDS: ")
		sr := readPDU(t, a, h)
		if sr.Type != pdu.TypeStatusReport || sr.MR != mrs[0] || sr.Recipient.Number != ms[1].Number() ||
			sr.Status == nil || sr.Status.Code != 0 {
			t.Errorf("status report %+v", sr)
		}
	})

	t.Run("ds=2 with a failure status", func(t *testing.T) {
		a.mustOK("AT+CNMI=2,1,0,2,0")
		segs := mustSubmit(t, "+447700900666", strings.Repeat("two parts ", 20), pdu.SubmitOptions{StatusReport: true, ConcatRef: 9})
		mrs := mustSend(t, a, segs)
		a.expect(`+CDSI: "SR",1`)
		a.expect(`+CDSI: "SR",2`)
		a.mustOK(`AT+CPMS="SR"`)
		// The parts' reports come in either order: one slot each.
		var got []int
		for i := range mrs {
			sr := mustDecode(t, a.mustOK(fmt.Sprint("AT+CMGR=", i+1))[1])
			if sr.Recipient.Number != "+447700900666" || sr.Status.Code != 0x46 || sr.Status.Class != pdu.StatusFailed {
				t.Errorf("report %d: %+v status %+v", i+1, sr, sr.Status)
			}
			got = append(got, sr.MR)
		}
		slices.Sort(got)
		if want := slices.Sorted(slices.Values(mrs)); !slices.Equal(got, want) {
			t.Errorf("reports carry MRs %v, want %v", got, want)
		}
		a.mustOK("AT+CMGD=1,4")
		a.mustOK(`AT+CPMS="SM"`)
	})

	t.Run("no SRR, no report; dropped report", func(t *testing.T) {
		a.mustOK("AT+CNMI=2,1,0,1,0")
		mustSend(t, a, mustSubmit(t, "+447700900123", "no report wanted", pdu.SubmitOptions{}))
		mustSend(t, a, mustSubmit(t, "+447700900777", "report lost", pdu.SubmitOptions{StatusReport: true}))
		mrs := mustSend(t, a, mustSubmit(t, "+447700900123", "report wanted", pdu.SubmitOptions{StatusReport: true}))
		// Reports are queued in order, so the first +CDS must be the last send's.
		_, h := a.readUntil("+CDS: ")
		if sr := readPDU(t, a, h); sr.MR != mrs[0] {
			t.Errorf("first report has MR %d, want %d", sr.MR, mrs[0])
		}
	})
}

func TestUSSD(t *testing.T) {
	_, ms := mustNetwork(t, 1)
	c := mustClient(t, ms[0])
	c.mustOK(`AT+CUSD=1,"*100#",15`)
	c.expect(`+CUSD: 0,"Your balance is 10.00 USD, valid until 31.12.2099.",15`)
	c.mustOK(`AT+CUSD=1,"*999#",15`)
	c.expect(`+CUSD: 4`)
	c.mustOK("AT+CUSD=2")
}

var cnmiRE = regexp.MustCompile(`^\+CNMI: 0,0,0,0,0$`)

func TestUnplugReplug(t *testing.T) {
	n, ms := mustNetwork(t, 2)
	m := ms[1]
	c := mustClient(t, m)
	c.mustOK("AT+CNMI=2,1,0,0,0")

	m.Unplug()
	if err := c.readErr(); err == nil {
		t.Fatal("read after unplug: no error")
	}
	// A message sent meanwhile waits in the network.
	if err := n.Deliver("+447700900123", m.Number(), "while away"); err != nil {
		t.Fatal(err)
	}
	if err := m.Replug(t.Context()); err != nil {
		t.Fatal(err)
	}
	c = newClient(t, m.Pipe(t.Context()))
	for _, want := range []string{"RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"} {
		c.expect(want)
	}
	c.write("AT\r")
	c.expect("AT") // echo is back on
	c.expect("OK")
	if got := c.mustInfo("AT+CNMI?"); !cnmiRE.MatchString(got) {
		t.Errorf("CNMI after replug: %q", got)
	}
	// Indications were off at boot, so the held message was stored silently.
	info := c.mustOK("AT+CMGL=4")
	if len(info) != 2 || mustDecode(t, info[1]).Text != "while away" {
		t.Errorf("CMGL after replug: %q", info)
	}
}

func TestReset(t *testing.T) {
	_, ms := mustNetwork(t, 1)
	c := mustClient(t, ms[0])
	c.mustOK("AT+CNMI=2,1,0,2,0")
	c.mustOK("AT+CFUN=1,1")
	for _, want := range []string{"RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"} {
		c.expect(want)
	}
	ms[0].Reset()
	for _, want := range []string{"RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"} {
		c.expect(want)
	}
	c.write("AT\r")
	c.expect("AT")
	c.expect("OK")
}

// TestRoutes: what each modem sends to a destination prefix gets that
// route's reports; the exact number's policy and the longest prefix win.
func TestRoutes(t *testing.T) {
	n, ms := mustNetwork(t, 2)
	a, b := mustClient(t, ms[0]), mustClient(t, ms[1])
	n.SetRoute(ms[0].IMEI(), "+44", ReportPolicy{Status: 0x46})
	n.SetRoute(ms[0].IMEI(), "+4477009005", ReportPolicy{Status: 0x00})
	n.SetRoute(ms[1].IMEI(), "+44", ReportPolicy{Drop: true})
	n.SetReport("+447700900999", ReportPolicy{Status: 0x41})
	a.mustOK("AT+CNMI=2,1,0,1,0")
	b.mustOK("AT+CNMI=2,1,0,1,0")

	report := func(c *client, to string) byte {
		t.Helper()
		mrs := mustSend(t, c, mustSubmit(t, to, "route", pdu.SubmitOptions{StatusReport: true}))
		_, h := c.readUntil("+CDS: ")
		sr := readPDU(t, c, h)
		if sr.MR != mrs[0] {
			t.Fatalf("report MR %d, want %d", sr.MR, mrs[0])
		}
		return sr.Status.Code
	}
	if got := report(a, "+447700900123"); got != 0x46 {
		t.Errorf("modem 1 to +44: status %#x, want 0x46 (its +44 route)", got)
	}
	if got := report(a, "+447700900555"); got != 0x00 {
		t.Errorf("modem 1 to +4477009005…: status %#x, want 0 (the longer prefix)", got)
	}
	if got := report(a, "+447700900999"); got != 0x41 {
		t.Errorf("modem 1 to the number with its own policy: status %#x, want 0x41", got)
	}
	if got := report(a, "+12025550150"); got != 0x00 {
		t.Errorf("modem 1 outside its routes: status %#x, want the default 0", got)
	}
	// Modem 2's +44 reports never come: the next report it gets is for
	// the send after them.
	mustSend(t, b, mustSubmit(t, "+447700900123", "lost", pdu.SubmitOptions{StatusReport: true}))
	if got := report(b, "+12025550150"); got != 0x00 {
		t.Errorf("modem 2 after a dropped report: status %#x", got)
	}
}
