package modem

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestCommand_FinalResults(t *testing.T) {
	tests := []struct {
		name     string
		reply    string
		wantInfo []string
		wantErr  error // matched with errors.Is
		check    func(t *testing.T, err error)
	}{
		{name: "OK", reply: "\r\n+CSQ: 17,99\r\n\r\nOK\r\n", wantInfo: []string{"+CSQ: 17,99"}},
		{name: "ERROR", reply: "\r\nERROR\r\n", wantErr: ErrCommandFailed},
		{name: "CommandNotSupport", reply: "\r\nCOMMAND NOT SUPPORT\r\n", wantErr: ErrCommandFailed},
		{name: "CMEErrorNumeric", reply: "\r\n+CME ERROR: 10\r\n", wantErr: ErrNoSIM, check: func(t *testing.T, err error) {
			var cme CMEError
			if !errors.As(err, &cme) || cme.Code != 10 {
				t.Errorf("got %v, want CMEError 10", err)
			}
		}},
		{name: "CMEErrorVerbose", reply: "\r\n+CME ERROR: SIM PIN required\r\n", wantErr: ErrPINRequired, check: func(t *testing.T, err error) {
			var cme CMEError
			if !errors.As(err, &cme) || cme.Code != 11 || cme.Text != "SIM PIN required" {
				t.Errorf("got %#v", cme)
			}
		}},
		{name: "CMSErrorNumeric", reply: "\r\n+CMS ERROR: 500\r\n", wantErr: CMSError{Code: 500}},
		{name: "CMSErrorVerbose", reply: "\r\n+CMS ERROR: Network out of order\r\n", wantErr: CMSError{Code: 38}},
		{name: "CMSErrorUnknownText", reply: "\r\n+CMS ERROR: frobnicated\r\n", check: func(t *testing.T, err error) {
			var cms CMSError
			if !errors.As(err, &cms) || cms.Code != -1 || cms.Text != "frobnicated" || cms.Class() != ClassUnknown {
				t.Errorf("got %#v", cms)
			}
		}},
		{name: "LowercaseCMS", reply: "\r\n+cms error: 321\r\n", wantErr: ErrNoMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t).on("AT+CSQ\r\n", tt.reply)
			m := mustModem(t, f, Config{})
			info, err := m.Command(ctxT(t), "+CSQ")
			if tt.wantErr == nil && tt.check == nil && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.check != nil {
				if err == nil {
					t.Fatal("no error")
				}
				tt.check(t, err)
			}
			if !slices.Equal(info, tt.wantInfo) {
				t.Errorf("info = %q, want %q", info, tt.wantInfo)
			}
		})
	}
}

func TestCommand_ErrorNamesCommand(t *testing.T) {
	f := newFake(t).on("AT+CSQ\r\n", "\r\n+CMS ERROR: 331\r\n")
	m := mustModem(t, f, Config{})
	_, err := m.Command(ctxT(t), "AT+CSQ")
	if err == nil || !strings.HasPrefix(err.Error(), "AT+CSQ: ") {
		t.Fatalf("err = %v, want it to start with the command", err)
	}
}

func TestCommand_Echo(t *testing.T) {
	tests := []struct {
		name       string
		chunks     []string
		wantInfo   []string
		wantEvents []Event
	}{
		{
			name:     "WholeLine",
			chunks:   []string{"AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n"},
			wantInfo: []string{"+CSQ: 20,99"},
		},
		{
			name:     "LowerCase",
			chunks:   []string{"at+csq\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n"},
			wantInfo: []string{"+CSQ: 20,99"},
		},
		{
			// ModemManager mbm plugin: 'T*EMRD<CR><LF>*EMRDY: 1<CR><LF>Y?'.
			name:       "URCInsideEcho",
			chunks:     []string{"AT+C", "\r\n+CMTI: \"SM\",7\r\n", "SQ\r", "\r\n+CSQ: 20,99\r\n\r\nOK\r\n"},
			wantInfo:   []string{"+CSQ: 20,99"},
			wantEvents: []Event{{Kind: EventNewMessage, Mem: "SM", Index: 7, Length: -1, Line: `+CMTI: "SM",7`}},
		},
		{
			name:       "CMTWithPDUInsideEcho",
			chunks:     []string{"AT+CS", "\r\n+CMT: ,5\r\n0001000000\r\n", "Q\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n"},
			wantInfo:   []string{"+CSQ: 20,99"},
			wantEvents: []Event{{Kind: EventDeliver, PDU: "0001000000", Length: 5, Line: "+CMT: ,5"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t).on("AT+CSQ\r\n", tt.chunks...)
			m := mustModem(t, f, Config{})
			info, err := m.Command(ctxT(t), "+CSQ")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(info, tt.wantInfo) {
				t.Errorf("info = %q, want %q", info, tt.wantInfo)
			}
			for _, want := range tt.wantEvents {
				if got := mustEvent(t, m); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("event = %+v, want %+v", got, want)
				}
			}
			noEvent(t, m, f)
		})
	}
}

func TestCommand_URCsMidResponse(t *testing.T) {
	f := newFake(t).on("AT+CMGL=4\r\n",
		"\r\n+CMGL: 1,0,,23\r\n07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07\r\n",
		"\r\n+CMTI: \"ME\",2\r\n",
		"\r\n^RSSI: 17\r\n",
		"\r\n+CMT: ,24\r\n07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07\r\n",
		"RING\r\n",
		"\r\n+CMGL: 4,1,,23\r\n07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07\r\n",
		"\r\n+CEREG: 1,\"1A2B\",\"01C3D4E5\",7\r\n",
		"\r\nOK\r\n",
		"\r\n+CDSI: \"SR\",3\r\n")
	m := mustModem(t, f, Config{})
	msgs, err := m.ListMessages(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Index != 1 || msgs[0].Stat != 0 || msgs[1].Index != 4 || msgs[1].Stat != 1 {
		t.Fatalf("messages = %+v", msgs)
	}
	wantKinds := []EventKind{EventNewMessage, EventUnsolicited, EventDeliver, EventUnsolicited, EventRegistration, EventStatusReportStored}
	for i, want := range wantKinds {
		e := mustEvent(t, m)
		if e.Kind != want {
			t.Fatalf("event %d = %+v, want kind %s", i, e, want)
		}
		switch e.Kind {
		case EventDeliver:
			if !strings.HasPrefix(e.PDU, "0791") {
				t.Errorf("deliver PDU = %q", e.PDU)
			}
		case EventRegistration:
			r := e.Registration
			if r == nil || r.PS != RegRegistered || r.CS != RegUnknown || r.LAC != "1A2B" || r.CellID != "01C3D4E5" || r.AcT != 7 {
				t.Errorf("registration = %+v", r)
			}
		case EventStatusReportStored:
			if e.Mem != "SR" || e.Index != 3 {
				t.Errorf("cdsi = %+v", e)
			}
		}
	}
	noEvent(t, m, f)
}

func TestCommand_OwnPrefixIsInfo(t *testing.T) {
	// +CREG: is a URC, except in the answer to AT+CREG?.
	f := newFake(t).on("AT+CREG?\r\n", "\r\n+CREG: 2,5,\"00C3\",\"0000A1B2\",0\r\n\r\nOK\r\n")
	m := mustModem(t, f, Config{})
	info, err := m.Command(ctxT(t), "+CREG?")
	if err != nil {
		t.Fatal(err)
	}
	if len(info) != 1 || info[0] != `+CREG: 2,5,"00C3","0000A1B2",0` {
		t.Fatalf("info = %q", info)
	}
	noEvent(t, m, f)
}

func TestCommand_UnknownExtendedLineIsURC(t *testing.T) {
	f := newFake(t).on("AT+CGMM\r\n", "\r\n+QIND: \"csq\",20,99\r\nEC25\r\n\r\nOK\r\n")
	m := mustModem(t, f, Config{})
	info, err := m.Command(ctxT(t), "AT+CGMM")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info, []string{"EC25"}) {
		t.Fatalf("info = %q", info)
	}
	if e := mustEvent(t, m); e.Kind != EventUnsolicited || e.Line != `+QIND: "csq",20,99` {
		t.Fatalf("event = %+v", e)
	}
}

func TestCommand_NoCarrier(t *testing.T) {
	t.Run("URCOutsideDial", func(t *testing.T) {
		f := newFake(t).on("AT+CSQ\r\n", "\r\nNO CARRIER\r\n\r\n+CSQ: 5,99\r\n\r\nOK\r\n")
		m := mustModem(t, f, Config{})
		if _, err := m.Command(ctxT(t), "+CSQ"); err != nil {
			t.Fatal(err)
		}
		if e := mustEvent(t, m); e.Line != "NO CARRIER" {
			t.Fatalf("event = %+v", e)
		}
	})
	t.Run("FinalForDial", func(t *testing.T) {
		f := newFake(t).on("ATD+15550000001;\r\n", "\r\nNO CARRIER\r\n")
		m := mustModem(t, f, Config{})
		_, err := m.Command(ctxT(t), "D+15550000001;")
		if !errors.Is(err, ErrCommandFailed) || !strings.Contains(err.Error(), "NO CARRIER") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestCommand_UnexpectedPrompt(t *testing.T) {
	f := newFake(t).on("AT+CMGS=5\r\n", "\r\n> ")
	m := mustModem(t, f, Config{})
	_, err := m.Command(ctxT(t), "AT+CMGS=5")
	if !errors.Is(err, ErrCommandFailed) {
		t.Fatalf("err = %v", err)
	}
	if !f.wrote("\x1b") {
		t.Errorf("no ESC written: %q", f.written())
	}
}

func TestCommand_StrayLinesWithoutCommand(t *testing.T) {
	f := newFake(t).on("AT\r\n", "\r\nOK\r\n")
	m := mustModem(t, f, Config{})
	// A late OK and a plain line arrive while nothing is pending.
	f.inject("\r\nOK\r\n", "\r\nHELLO\r\n")
	if e := mustEvent(t, m); e.Kind != EventUnsolicited || e.Line != "HELLO" {
		t.Fatalf("event = %+v", e)
	}
	if _, err := m.Command(ctxT(t), "AT"); err != nil {
		t.Fatal(err)
	}
}

const testPDU = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37" // 23 octets after "00"

func TestSendPDU(t *testing.T) {
	cmd := "AT+CMGS=23\r"
	tests := []struct {
		name   string
		prompt []string // reply to the command line
		final  []string // reply to the PDU
		events []EventKind
	}{
		{name: "CRLFPrompt", prompt: []string{"\r\n> "}, final: []string{"\r\n+CMGS: 42\r\n\r\nOK\r\n"}},
		{name: "BarePrompt", prompt: []string{">"}, final: []string{"\r\n+CMGS: 42\r\n\r\nOK\r\n"}},
		{name: "PromptSplit", prompt: []string{"\r\n", ">", " "}, final: []string{"\r\n+CMGS: 42\r\n\r\nOK\r\n"}},
		{
			name:   "EchoOn",
			prompt: []string{cmd + "\r\n> "},
			final:  []string{testPDU + "\x1a\r\n+CMGS: 42\r\n\r\nOK\r\n"},
		},
		{
			// gammu#370: the PDU echo follows on the prompt line.
			name:   "PDUEchoOnPromptLine",
			prompt: []string{"\r\n> "},
			final:  []string{testPDU + "\x1a\r\n\r\n+CMGS: 42\r\n\r\nOK\r\n"},
		},
		{
			name:   "EchoSplitByURC",
			prompt: []string{"\r\n> "},
			final:  []string{testPDU[:10], "\r\n+CMTI: \"SM\",1\r\n", testPDU[10:] + "\x1a\r\n+CMGS: 42\r\n\r\nOK\r\n"},
			events: []EventKind{EventNewMessage},
		},
		{
			name:   "URCBetweenCMGSAndOK",
			prompt: []string{"\r\n> "},
			final:  []string{"\r\n+CMGS: 42\r\n", "\r\n+CDS: 6\r\n0006420B916407281553F8\r\n", "\r\n+CMTI: \"SM\",2\r\n\r\nOK\r\n"},
			events: []EventKind{EventStatusReport, EventNewMessage},
		},
		{
			name:   "AckPDUInCMGS",
			prompt: []string{"\r\n> "},
			final:  []string{"\r\n+CMGS: 42,\"0001\"\r\n\r\nOK\r\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t).on(cmd, tt.prompt...).on(testPDU+"\x1a", tt.final...)
			m := mustModem(t, f, Config{})
			mr, err := m.SendPDU(ctxT(t), 23, testPDU)
			if err != nil {
				t.Fatal(err)
			}
			if mr != 42 {
				t.Errorf("mr = %d, want 42", mr)
			}
			if got := f.written(); !slices.Equal(got, []string{cmd, testPDU + "\x1a"}) {
				t.Errorf("writes = %q", got)
			}
			for _, k := range tt.events {
				if e := mustEvent(t, m); e.Kind != k {
					t.Errorf("event = %+v, want %s", e, k)
				}
			}
			noEvent(t, m, f)
		})
	}
}

func TestSendPDU_Errors(t *testing.T) {
	t.Run("CMSError", func(t *testing.T) {
		f := newFake(t).on("AT+CMGS=23\r", "\r\n> ").on(testPDU+"\x1a", "\r\n+CMS ERROR: 38\r\n")
		m := mustModem(t, f, Config{})
		_, err := m.SendPDU(ctxT(t), 23, testPDU)
		var cms CMSError
		if !errors.As(err, &cms) || cms.Code != 38 || cms.Class() != ClassTransient || !cms.Retryable() {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrorBeforePrompt", func(t *testing.T) {
		f := newFake(t).on("AT+CMGS=23\r", "\r\n+CMS ERROR: 304\r\n")
		m := mustModem(t, f, Config{})
		_, err := m.SendPDU(ctxT(t), 23, testPDU)
		var cms CMSError
		if !errors.As(err, &cms) || cms.Class() != ClassBadPDU {
			t.Fatalf("err = %v", err)
		}
		if f.wrote(testPDU + "\x1a") {
			t.Error("PDU written without a prompt")
		}
	})
	t.Run("NoCMGSLine", func(t *testing.T) {
		f := newFake(t).on("AT+CMGS=23\r", "\r\n> ").on(testPDU+"\x1a", "\r\nOK\r\n")
		m := mustModem(t, f, Config{})
		if _, err := m.SendPDU(ctxT(t), 23, testPDU); !errors.Is(err, ErrCommandFailed) {
			t.Fatalf("err = %v", err)
		}
	})
	for _, tt := range []struct {
		name string
		n    int
		pdu  string
	}{
		{"LengthMismatch", 22, testPDU},
		{"OddHex", 23, testPDU + "0"},
		{"NotHex", 1, "00ZZ"},
		{"ZeroLength", 0, "00"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			m := mustModem(t, f, Config{})
			if _, err := m.SendPDU(ctxT(t), tt.n, tt.pdu); err == nil {
				t.Fatal("no error")
			}
			if len(f.written()) != 0 {
				t.Errorf("wrote %q for a bad PDU", f.written())
			}
		})
	}
}

func TestEvents_OrderAndNoBackpressure(t *testing.T) {
	f := newFake(t)
	m := mustModem(t, f, Config{})
	const n = 2000
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "\r\n+CMTI: \"SM\",%d\r\n", i)
	}
	f.inject(sb.String())
	// Nobody reads events while the reader goes through all of them and
	// answers a command.
	f.on("AT\r\n", "\r\nOK\r\n")
	if _, err := m.Command(ctxT(t), "AT"); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if e := mustEvent(t, m); e.Index != i {
			t.Fatalf("event %d has index %d", i, e.Index)
		}
	}
}

func TestClose(t *testing.T) {
	f := newFake(t)
	m := New(f, Config{})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	<-m.Done()
	if _, ok := <-m.Events(); ok {
		t.Error("events not closed")
	}
	if _, err := m.Command(ctxT(t), "AT"); !errors.Is(err, ErrClosed) {
		t.Errorf("err = %v, want ErrClosed", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

func TestEOF(t *testing.T) {
	t.Run("MidSend", func(t *testing.T) {
		f := newFake(t).on("AT+CMGS=23\r", "\r\n> ").onDo(testPDU+"\x1a", func(f *fakeModem) { f.Close() })
		m := mustModem(t, f, Config{})
		_, err := m.SendPDU(ctxT(t), 23, testPDU)
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
		<-m.Done()
		for range m.Events() {
		}
		if _, err := m.Signal(ctxT(t)); !errors.Is(err, ErrClosed) {
			t.Errorf("later call: err = %v", err)
		}
		if m.Err() == nil {
			t.Error("Err() = nil after EOF")
		}
	})
	t.Run("EventsDrainedThenClosed", func(t *testing.T) {
		f := newFake(t)
		m := mustModem(t, f, Config{})
		f.inject("\r\n+CMTI: \"SM\",1\r\n")
		if e := mustEvent(t, m); e.Index != 1 {
			t.Fatalf("event = %+v", e)
		}
		f.Close()
		<-m.Done()
		if _, ok := <-m.Events(); ok {
			t.Error("events not closed after EOF")
		}
	})
}

func TestConcurrentCommandsAreSerialised(t *testing.T) {
	f := newFake(t)
	for i := range 20 {
		f.on(fmt.Sprintf("AT+X%d\r\n", i), fmt.Sprintf("\r\n+X%d: %d\r\n\r\nOK\r\n", i, i))
	}
	m := mustModem(t, f, Config{})
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			info, err := m.Command(ctxT(t), fmt.Sprintf("+X%d", i))
			if err == nil && (len(info) != 1 || info[0] != fmt.Sprintf("+X%d: %d", i, i)) {
				err = fmt.Errorf("command %d got %q", i, info)
			}
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestCommand_CMTHeaderBeforeCommandPDUAfter(t *testing.T) {
	// The +CMT header arrives, then a command is sent, then the PDU line:
	// the PDU still belongs to the URC, not to the command's answer.
	f := newFake(t).on("AT+CGMM\r\n", deliverPDU+"\r\n\r\nEC25\r\n\r\nOK\r\n")
	m := mustModem(t, f, Config{})
	f.inject("\r\n+CMT: ,24\r\n")
	info, err := m.Command(ctxT(t), "AT+CGMM")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info, []string{"EC25"}) {
		t.Errorf("info = %q", info)
	}
	if e := mustEvent(t, m); e.Kind != EventDeliver || e.PDU != deliverPDU || e.Length != 24 {
		t.Errorf("event = %+v", e)
	}
}

func TestCommand_CMTWithoutPDULine(t *testing.T) {
	// A header whose PDU line never comes is reported without a PDU and
	// does not eat the next answer.
	f := newFake(t).on("AT+CGMM\r\n", "\r\nEC25\r\n\r\nOK\r\n")
	m := mustModem(t, f, Config{})
	f.inject("\r\n+CDS: 25\r\n")
	info, err := m.Command(ctxT(t), "AT+CGMM")
	if err != nil || !slices.Equal(info, []string{"EC25"}) {
		t.Fatalf("info = %q, %v", info, err)
	}
	if e := mustEvent(t, m); e.Kind != EventStatusReport || e.PDU != "" {
		t.Errorf("event = %+v", e)
	}
}
