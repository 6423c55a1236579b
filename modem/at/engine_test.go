package at

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestExec_FinalResults(t *testing.T) {
	tests := []struct {
		name     string
		reply    string
		wantInfo []string
		wantErr  error
	}{
		{name: "OK", reply: "\r\n+CSQ: 17,99\r\n\r\nOK\r\n", wantInfo: []string{"+CSQ: 17,99"}},
		{name: "ERROR", reply: "\r\nERROR\r\n", wantErr: ErrCommandFailed},
		{name: "CommandNotSupport", reply: "\r\nCOMMAND NOT SUPPORT\r\n", wantErr: ErrCommandFailed},
		{name: "CME", reply: "\r\n+CME ERROR: 10\r\n", wantErr: ResultError{Result: "+CME ERROR", Arg: "10"}},
		{name: "CMSVerbose", reply: "\r\n+CMS ERROR: Network out of order\r\n", wantErr: ResultError{Result: "+CMS ERROR", Arg: "Network out of order"}},
		{name: "LowercaseCMS", reply: "\r\n+cms error: 321\r\n", wantErr: ResultError{Result: "+CMS ERROR", Arg: "321"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePort().on("AT+CSQ\r\n", tt.reply)
			e := mustEngine(t, f, newLines())
			info, err := run(t, e, Request{Command: "AT+CSQ", Timeout: time.Second})
			if tt.wantErr == nil && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %#v, want %#v", err, tt.wantErr)
			}
			if !slices.Equal(info, tt.wantInfo) {
				t.Errorf("info = %q, want %q", info, tt.wantInfo)
			}
		})
	}
}

func TestExec_EchoAndIndicationsInside(t *testing.T) {
	// ModemManager mbm plugin: 'T*EMRD<CR><LF>*EMRDY: 1<CR><LF>Y?'; the
	// +CMT PDU line belongs to the indication, not to the command.
	f := newFakePort().on("AT+CSQ\r\n", "AT+C", "\r\n+CMTI: \"SM\",7\r\n", "S", "\r\n+CMT: ,5\r\n0001000000\r\n",
		"Q\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
	got := newLines()
	e := mustEngine(t, f, got,
		Indication{Prefix: "+CMTI:", Handle: got.handle},
		Indication{Prefix: "+CMT:", Trailing: 1, Handle: got.handle})
	info, err := run(t, e, Request{Command: "AT+CSQ"})
	if err != nil || !slices.Equal(info, []string{"+CSQ: 20,99"}) {
		t.Fatalf("info = %q, %v", info, err)
	}
	for _, want := range [][]string{{`+CMTI: "SM",7`}, {"+CMT: ,5", "0001000000"}} {
		if l := got.next(t); !slices.Equal(l, want) {
			t.Errorf("handled %q, want %q", l, want)
		}
	}
}

func TestExec_Routing(t *testing.T) {
	got := newLines()
	f := newFakePort().on("AT+CREG?\r\n",
		"\r\nRDY\r\n",
		"\r\n+CREG: 2,5,\"00C3\",\"0000A1B2\",0\r\n",
		"\r\n+QIND: \"csq\",20,99\r\n",
		"\r\nPOWERED DOWN\r\n",
		"\r\nEC25\r\n",
		"\r\nOK\r\n")
	e := mustEngine(t, f, got,
		Indication{Prefix: "+CREG:", Handle: got.handle},
		Indication{Prefix: "RDY", WholeLine: true, Handle: got.handle},
		Indication{Prefix: "POWERED DOWN", Handle: got.handle})
	info, err := run(t, e, Request{Command: "AT+CREG?"})
	if err != nil {
		t.Fatal(err)
	}
	// The command owns +CREG: and takes plain lines; whole lines and other
	// prefixes are unsolicited.
	if want := []string{`+CREG: 2,5,"00C3","0000A1B2",0`, "EC25"}; !slices.Equal(info, want) {
		t.Errorf("info = %q, want %q", info, want)
	}
	for _, want := range [][]string{{"RDY"}, {"other", `+QIND: "csq",20,99`}, {"POWERED DOWN"}} {
		if l := got.next(t); !slices.Equal(l, want) {
			t.Errorf("handled %q, want %q", l, want)
		}
	}
	// Without a command, +CREG: is an indication and any line unsolicited.
	f.inject("\r\n+CREG: 1\r\n", "\r\nOK\r\n", "\r\nHELLO\r\n")
	for _, want := range [][]string{{"+CREG: 1"}, {"other", "HELLO"}} {
		if l := got.next(t); !slices.Equal(l, want) {
			t.Errorf("handled %q, want %q", l, want)
		}
	}
}

func TestIndication_TrailingLineRefused(t *testing.T) {
	// A header whose PDU never comes is handled alone, and the line that
	// came instead is the command's.
	got := newLines()
	f := newFakePort().on("AT+CGMM\r\n", "\r\nEC25\r\n\r\nOK\r\n")
	e := mustEngine(t, f, got, Indication{
		Prefix:   "+CDS:",
		Trailing: 1,
		Accept:   func(header, line string) bool { return strings.HasPrefix(line, "00") },
		Handle:   got.handle,
	})
	f.inject("\r\n+CDS: 25\r\n")
	info, err := run(t, e, Request{Command: "AT+CGMM"})
	if err != nil || !slices.Equal(info, []string{"EC25"}) {
		t.Fatalf("info = %q, %v", info, err)
	}
	if l := got.next(t); !slices.Equal(l, []string{"+CDS: 25"}) {
		t.Errorf("handled %q", l)
	}
}

func TestAddIndication(t *testing.T) {
	got := newLines()
	e := mustEngine(t, newFakePort(), got)
	if err := e.AddIndication(Indication{Prefix: "^X:", Handle: got.handle}); err != nil {
		t.Fatal(err)
	}
	if err := e.AddIndication(Indication{Prefix: "^x:", Handle: got.handle}); !errors.Is(err, ErrIndicationExists) {
		t.Errorf("duplicate: err = %v", err)
	}
	if err := e.AddIndication(Indication{Prefix: "^X:", WholeLine: true, Handle: got.handle}); err != nil {
		t.Errorf("whole-line beside a prefix: %v", err)
	}
	if err := e.AddIndication(Indication{Prefix: "^Y:"}); err == nil {
		t.Error("nil handler accepted")
	}
	e.CancelIndication("^X:")
	if err := e.AddIndication(Indication{Prefix: "^X:", Handle: got.handle}); err != nil {
		t.Errorf("after cancel: %v", err)
	}
}

func TestExec_PDU(t *testing.T) {
	f := newFakePort().on("AT+CMGS=5\r", "AT+CMGS=5\r\r\n> ").on("0001000000\x1a", "0001000000\x1a\r\n+CMGS: 7\r\n\r\nOK\r\n")
	e := mustEngine(t, f, newLines())
	info, err := run(t, e, Request{Command: "AT+CMGS=5", PDU: "0001000000", Timeout: time.Second, PromptTimeout: time.Second})
	if err != nil || !slices.Equal(info, []string{"+CMGS: 7"}) {
		t.Fatalf("info = %q, %v", info, err)
	}
}

func TestExec_UnexpectedPrompt(t *testing.T) {
	f := newFakePort().on("AT+CMGS=5\r\n", "\r\n> ")
	e := mustEngine(t, f, newLines())
	if _, err := run(t, e, Request{Command: "AT+CMGS=5"}); !errors.Is(err, ErrCommandFailed) {
		t.Fatalf("err = %v", err)
	}
	if !f.wrote("\x1b") {
		t.Error("no ESC written")
	}
}

func TestExec_Timeouts(t *testing.T) {
	t.Run("PromptESC", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFakePort().on("AT+CMGS=5\r").on("\x1b", "\r\nERROR\r\n").on("AT\r\n", "\r\nOK\r\n").on(cmee, cmeeAnswer)
			e := mustEngine(t, f, newLines())
			start := time.Now()
			_, err := run(t, e, Request{Command: "AT+CMGS=5", PDU: "0001000000", PromptTimeout: 5 * time.Second})
			if !errors.Is(err, ErrPromptTimeout) {
				t.Fatalf("err = %v", err)
			}
			if d := time.Since(start); d != 5*time.Second {
				t.Errorf("returned after %v", d)
			}
			// The ERROR after ESC was the aborted command's, not this one's.
			if _, err := run(t, e, Request{Command: "AT"}); err != nil {
				t.Fatalf("next command: %v", err)
			}
			if w := f.written(); !slices.Equal(w, []string{"AT+CMGS=5\r", "\x1b", cmee, "AT\r\n"}) {
				t.Errorf("writes = %q", w)
			}
		})
	})
	t.Run("LateAnswerAbsorbed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFakePort().on("AT+CSQ\r\n").on("AT+CGMM\r\n", "\r\nEC25\r\n\r\nOK\r\n").on(cmee, cmeeAnswer)
			e := mustEngine(t, f, newLines())
			if _, err := run(t, e, Request{Command: "AT+CSQ", Timeout: time.Second}); !errors.Is(err, ErrTimeout) {
				t.Fatalf("err = %v", err)
			}
			f.inject("\r\n+CSQ: 9,99\r\n\r\nOK\r\n")
			synctest.Wait()
			info, err := run(t, e, Request{Command: "AT+CGMM"})
			if err != nil || !slices.Equal(info, []string{"EC25"}) {
				t.Fatalf("got %q, %v", info, err)
			}
		})
	})
	t.Run("Context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFakePort().on("AT+CSQ\r\n")
			e := mustEngine(t, f, newLines())
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			if err := e.Lock(ctx); err != nil {
				t.Fatal(err)
			}
			defer e.Unlock()
			if _, err := e.Exec(ctx, Request{Command: "AT+CSQ"}); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v", err)
			}
		})
	})
}

func TestClosed(t *testing.T) {
	t.Run("EOFMidCommand", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFakePort().on("AT+CSQ\r\n")
			e := mustEngine(t, f, newLines())
			errc := make(chan error, 1)
			go func() {
				_, err := run(t, e, Request{Command: "AT+CSQ"})
				errc <- err
			}()
			synctest.Wait()
			f.Close()
			if err := <-errc; !errors.Is(err, ErrClosed) {
				t.Fatalf("err = %v", err)
			}
			<-e.Done()
			if e.Err() == nil {
				t.Error("Err() = nil after EOF")
			}
			if err := e.Lock(t.Context()); !errors.Is(err, ErrClosed) {
				t.Errorf("lock after EOF: %v", err)
			}
		})
	})
	t.Run("Close", func(t *testing.T) {
		e := New(newFakePort(), Config{})
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		<-e.Done()
		if err := e.Lock(t.Context()); !errors.Is(err, ErrClosed) {
			t.Errorf("err = %v", err)
		}
		if err := e.Close(); err != nil {
			t.Errorf("second close: %v", err)
		}
	})
}

func TestExec_Serialised(t *testing.T) {
	f := newFakePort()
	for i := range 20 {
		f.on(fmt.Sprintf("AT+X%d\r\n", i), fmt.Sprintf("\r\n+X%d: %d\r\n\r\nOK\r\n", i, i))
	}
	e := mustEngine(t, f, newLines())
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			info, err := run(t, e, Request{Command: fmt.Sprintf("AT+X%d", i)})
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

func TestCommandPrefix(t *testing.T) {
	for cmd, want := range map[string]string{
		"AT+CSQ": "+CSQ:", "AT+CREG?": "+CREG:", "AT+CMGS=23": "+CMGS:", "AT^ICCID?": "^ICCID:",
		"at+cgmi": "+CGMI:", "ATI": "", "ATE0": "", "AT": "", "AT+": "",
	} {
		if got := commandPrefix(cmd); got != want {
			t.Errorf("commandPrefix(%q) = %q, want %q", cmd, got, want)
		}
	}
}

func TestLinePrefix(t *testing.T) {
	for line, want := range map[string]string{
		"+CMTI: \"SM\",1": "+CMTI:", "^RSSI:17": "^RSSI:", "*EMRDY: 1": "*EMRDY:", "+QIND: SMS DONE": "+QIND:",
		"RING": "", "0791": "", "+: x": "", "+CSQ": "", "+C S: 1": "",
	} {
		if got := LinePrefix(line); got != want {
			t.Errorf("LinePrefix(%q) = %q, want %q", line, got, want)
		}
	}
}

// FuzzEngine feeds arbitrary bytes into the answer of a command: the
// command must end (with any result but a timeout, since the real OK
// follows), nothing may panic, and the reader must stay in step, which an
// indication sent afterwards proves.
func FuzzEngine(f *testing.F) {
	for _, s := range []string{
		"", "\r\n+CSQ: 1,2\r\n", "AT+C\r\n+CMTI: \"SM\",1\r\nSQ\r", "\r\n+CMT: ,5\r\n", "\r\n> 00\x1a",
		"RDY\r\n", ">>>", "\x00\xff\x1b", "\r\n+CMS ERROR: 500\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) {
			fp := newFakePort().on("AT+CSQ\r\n", string(data), "\r\nOK\r\n")
			got := newLines()
			e := New(fp, Config{Indications: []Indication{
				{Prefix: "+CMT:", Trailing: 1, Accept: isPDU, Handle: func([]string) {}},
				{Prefix: "+SENTINEL:", Handle: got.handle},
			}})
			defer e.Close()
			if _, err := run(t, e, Request{Command: "AT+CSQ", Timeout: 10 * time.Second}); errors.Is(err, ErrTimeout) {
				t.Fatalf("command timed out on %q", data)
			}
			// A +CMT header may still wait for its PDU line: give it one.
			fp.inject("\r\n0000\r\n\r\n+SENTINEL: 1\r\n")
			if l := got.next(t); !slices.Equal(l, []string{"+SENTINEL: 1"}) {
				t.Fatalf("handled %q", l)
			}
		})
	})
}

func isPDU(_, line string) bool { return strings.Trim(line, "0123456789ABCDEFabcdef") == "" }

func TestIndication_Until(t *testing.T) {
	// A quoted string over three lines is one indication, handled as soon
	// as its quote closes (no later line needed), and a header already
	// whole is handled alone at once.
	got := newLines()
	closed := func(ls []string) bool { return strings.Count(strings.Join(ls, ""), `"`)%2 == 0 }
	f := newFakePort().on("AT+CGMM\r\n", "\r\nEC25\r\n\r\nOK\r\n")
	e := mustEngine(t, f, got, Indication{Prefix: "+CUSD:", Trailing: 10, Until: closed, Handle: got.handle})
	f.inject("\r\n+CUSD: 1,\"Menu\r\n1 Balance\r\n2 Top-up\",15\r\n")
	if l := got.next(t); !slices.Equal(l, []string{`+CUSD: 1,"Menu`, "1 Balance", `2 Top-up",15`}) {
		t.Errorf("handled %q", l)
	}
	f.inject("\r\n+CUSD: 4\r\n")
	if l := got.next(t); !slices.Equal(l, []string{"+CUSD: 4"}) {
		t.Errorf("handled %q", l)
	}
	if info, err := run(t, e, Request{Command: "AT+CGMM"}); err != nil || !slices.Equal(info, []string{"EC25"}) {
		t.Fatalf("info = %q, %v", info, err)
	}
}
