//go:build linux

package modemsim

import (
	"testing"

	"go.bug.st/serial"
)

// mustSerial opens path as the gateway opens a USB modem.
func mustSerial(t *testing.T, path string) *client {
	t.Helper()
	p, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return newClient(t, p)
}

func TestPTY(t *testing.T) {
	n, ms := mustNetwork(t, 2)
	m := ms[0]
	path, err := m.OpenPTY(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if m.Path() != path {
		t.Errorf("Path() = %q, want %q", m.Path(), path)
	}

	c := mustSerial(t, path)
	c.write("\x1b\rAT\r")
	c.expect("AT")
	c.expect("OK")
	c.mustOK("ATE0")
	c.mustOK("AT+CNMI=2,1,0,0,0")

	t.Run("host reopens the port", func(t *testing.T) {
		c.rw.Close()
		if err := n.Deliver("+447700900123", m.Number(), "while closed"); err != nil {
			t.Fatal(err)
		}
		// The modem kept the line: the indication waits in the tty buffer.
		c = mustSerial(t, path)
		c.expect(`+CMTI: "SM",1`)
		c.mustOK("AT")
	})

	t.Run("unplug", func(t *testing.T) {
		m.Unplug()
		if err := c.readErr(); err == nil {
			t.Fatal("read after unplug: no error")
		}
		if _, err := c.rw.Write([]byte("AT\r")); err == nil {
			t.Error("write after unplug: no error")
		}
		if m.Path() != "" {
			t.Errorf("unplugged modem has path %q", m.Path())
		}
	})

	t.Run("replug", func(t *testing.T) {
		if err := m.Replug(t.Context()); err != nil {
			t.Fatal(err)
		}
		if m.Path() == "" {
			t.Fatal("no path after replug")
		}
		c = mustSerial(t, m.Path())
		for _, want := range []string{"RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"} {
			c.expect(want)
		}
		c.write("AT\r")
		c.expect("AT")
		c.expect("OK")
		info := c.mustOK("AT+CMGL=4")
		if len(info) != 2 || mustDecode(t, info[1]).Text != "while closed" {
			t.Errorf("SIM storage lost on replug: %q", info)
		}
	})
}
