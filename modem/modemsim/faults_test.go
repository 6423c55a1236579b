//go:build linux

package modemsim

import (
	"fmt"
	"testing"
	"time"

	"go.bug.st/serial"
)

// A modem hung until reset ignores everything but AT+CFUN; the reboot cures it.
func TestHang_UntilReset(t *testing.T) {
	n := NewNetwork()
	t.Cleanup(func() { n.Close() })
	m := n.AddModem(Config{})
	c := mustClient(t, m)
	c.mustOK("ATE0")
	m.SetHang(HangUntilReset)
	c.write("AT+CGSN\r") // swallowed: no IMEI, no OK
	if info := c.mustOK("AT+CFUN=1,1"); len(info) != 0 {
		t.Fatalf("a hung modem answered: %q", info)
	}
	if m.Hang() != HangOff {
		t.Errorf("hang %v after the reset", m.Hang())
	}
	c.expect("RDY")
}

// mustOpen opens path as modem.Open does: serial settings, then the input
// flush that tells the virtual modem the port was (re)opened.
func mustOpen(t *testing.T, path string) *client {
	t.Helper()
	p, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	if err := p.ResetInputBuffer(); err != nil {
		t.Fatal(err)
	}
	return newClient(t, p)
}

// A modem hung until reopen ignores AT+CFUN too, and answers again once
// the host opens its port anew.
func TestHang_UntilReopen(t *testing.T) {
	n := NewNetwork()
	t.Cleanup(func() { n.Close() })
	m := n.AddModem(Config{})
	path, err := m.OpenPTY(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c := mustOpen(t, path)
	c.write("ATE0\r")
	c.expect("ATE0")
	c.expect("OK")
	m.SetHang(HangUntilReopen)
	c.write("AT+CGSN\r")
	c.write("AT+CFUN=1,1\r")
	time.Sleep(100 * time.Millisecond) // let the modem read them before the port closes
	if m.Hang() != HangUntilReopen {
		t.Fatalf("hang %v before the reopen", m.Hang())
	}
	c.rw.Close()
	c = mustOpen(t, path)
	if got := c.mustInfo("AT+CGMI"); got != m.Config().Manufacturer {
		t.Errorf("first answer after the reopen %q, want the manufacturer", got)
	}
	if m.Hang() != HangOff {
		t.Errorf("hang %v after the reopen", m.Hang())
	}
}

// With SetReenumerateOnReset, AT+CFUN=1,1 drops the modem off its pty and
// brings it back, booted, on another one.
func TestReenumerateOnReset(t *testing.T) {
	n := NewNetwork()
	t.Cleanup(func() { n.Close() })
	m := n.AddModem(Config{})
	old, err := m.OpenPTY(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c := mustOpen(t, old)
	m.SetReenumerateOnReset(true)
	c.write("AT+CFUN=1,1\r")
	if err := c.readErr(); err == nil {
		t.Fatal("the old port still reads")
	}
	deadline := time.Now().Add(waitFor)
	for m.Path() == "" || m.Path() == old {
		if time.Now().After(deadline) {
			t.Fatalf("no new pty (path %q, old %q)", m.Path(), old)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c = mustSerial(t, m.Path()) // no flush: the boot lines wait in the tty
	for _, want := range []string{"RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"} {
		c.expect(want)
	}
	c.write("AT\r")
	c.expect("AT")
	c.expect("OK")
}

// A message that finds the receive storage full brings one memory-full
// line until a deletion; with overflow it goes to ME instead.
func TestMemoryFullAndOverflow(t *testing.T) {
	n := NewNetwork()
	t.Cleanup(func() { n.Close() })
	m := n.AddModem(Config{Storage: 1})
	m.SetMemoryFullURC(`^SMMEMFULL: "SM"`)
	c := mustClient(t, m)
	c.mustOK("ATE0")
	c.mustOK("AT+CNMI=2,1,0,0,0")
	for i := range 3 {
		if err := n.Deliver("+447700900123", m.Number(), fmt.Sprint("msg ", i)); err != nil {
			t.Fatal(err)
		}
	}
	c.expect(`+CMTI: "SM",1`)
	c.expect(`^SMMEMFULL: "SM"`)
	c.mustOK("AT+CMGD=1")
	c.expect(`+CMTI: "SM",1`)
	c.expect(`^SMMEMFULL: "SM"`) // the third still waits: full again
	m.SetStorageOverflow(true)
	c.mustOK("AT+CNMI=2,1,0,0,0") // the network tries again
	c.expect(`+CMTI: "ME",1`)
	if st := m.Stored("ME"); mustDecode(t, st[0]).Text != "msg 2" {
		t.Errorf("ME holds %q", st)
	}
}
