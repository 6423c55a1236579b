package modemsim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitFor bounds every read of the test client; nothing in these tests
// should take longer than a fraction of it.
const waitFor = 10 * time.Second

// client is a line-oriented host for tests: one goroutine splits what the
// modem writes into lines (the "> " prompt counts as one), and the test
// reads them with a deadline.
type client struct {
	t     testing.TB
	rw    io.ReadWriteCloser
	lines chan string
	held  []string      // lines read ahead (URCs before a prompt), returned first by next
	err   chan error    // the read error that ended the reader
	wait  time.Duration // bound of every read
	wg    sync.WaitGroup
}

func newClient(t testing.TB, rw io.ReadWriteCloser) *client {
	t.Helper()
	c := &client{t: t, rw: rw, lines: make(chan string, 1024), err: make(chan error, 1), wait: waitFor}
	c.wg.Add(1)
	go c.read()
	t.Cleanup(func() {
		rw.Close()
		c.wg.Wait()
	})
	return c
}

func (c *client) read() {
	defer c.wg.Done()
	var buf []byte
	b := make([]byte, 512)
	for {
		n, err := c.rw.Read(b)
		buf = append(buf, b[:n]...)
		for {
			if i := bytes.IndexByte(buf, '\n'); i >= 0 {
				line := strings.TrimRight(string(buf[:i]), "\r")
				buf = buf[i+1:]
				if line != "" {
					c.lines <- line
				}
				continue
			}
			if t := bytes.TrimLeft(buf, "\r"); bytes.Equal(t, []byte("> ")) {
				c.lines <- "> "
				buf = buf[:0]
			}
			break
		}
		if err != nil {
			c.err <- err
			close(c.lines)
			return
		}
	}
}

// write sends raw bytes to the modem.
func (c *client) write(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.rw, s); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// next returns the next non-empty line.
func (c *client) next() string {
	c.t.Helper()
	if len(c.held) > 0 {
		l := c.held[0]
		c.held = c.held[1:]
		return l
	}
	select {
	case l, ok := <-c.lines:
		if !ok {
			c.t.Fatalf("line ended: %v", <-c.err)
		}
		return l
	case <-time.After(c.wait):
		c.t.Fatalf("no line within %v", c.wait)
	}
	return ""
}

// expect reads the next line and checks it.
func (c *client) expect(want string) {
	c.t.Helper()
	if got := c.next(); got != want {
		c.t.Fatalf("got line %q, want %q", got, want)
	}
}

// readUntil reads lines until one starting with prefix, returning the
// lines before it and that line.
func (c *client) readUntil(prefix string) ([]string, string) {
	c.t.Helper()
	var before []string
	for {
		l := c.next()
		if strings.HasPrefix(l, prefix) {
			return before, l
		}
		before = append(before, l)
	}
}

func isFinal(l string) bool {
	return l == "OK" || l == "ERROR" || strings.HasPrefix(l, "+CME ERROR:") || strings.HasPrefix(l, "+CMS ERROR:")
}

// cmd sends one command line and returns the lines before the final result
// (echo excluded) and the final result.
func (c *client) cmd(line string) ([]string, string) {
	c.t.Helper()
	c.write(line + "\r")
	var info []string
	for {
		l := c.next()
		switch {
		case isFinal(l):
			return info, l
		case l == line: // echo
		default:
			info = append(info, l)
		}
	}
}

// mustOK sends line and fails unless it ends in OK; it returns the info lines.
func (c *client) mustOK(line string) []string {
	c.t.Helper()
	info, final := c.cmd(line)
	if final != "OK" {
		c.t.Fatalf("%s: got %q (info %q), want OK", line, final, info)
	}
	return info
}

// mustInfo sends line and returns its single information line.
func (c *client) mustInfo(line string) string {
	c.t.Helper()
	info := c.mustOK(line)
	if len(info) != 1 {
		c.t.Fatalf("%s: got info %q, want one line", line, info)
	}
	return info[0]
}

// sendPDU runs AT+CMGS for one segment and returns the final line and the
// lines before it (the +CMGS: answer, noise).
func (c *client) sendPDU(hexPDU string, length int) ([]string, string) {
	c.t.Helper()
	c.write(fmt.Sprintf("AT+CMGS=%d\r", length))
	// URCs may come before the prompt; keep them for the test to read.
	var urcs []string
	for {
		l := c.next()
		if l == "> " {
			break
		}
		if isFinal(l) {
			c.t.Fatalf("AT+CMGS=%d: %q instead of the prompt", length, l)
		}
		urcs = append(urcs, l)
	}
	c.write(hexPDU + "\x1a")
	defer func() { c.held = append(c.held, urcs...) }()
	var info []string
	for {
		l := c.next()
		if isFinal(l) {
			return info, l
		}
		if l != hexPDU {
			info = append(info, l)
		}
	}
}

// readErr waits until the line fails and returns the error.
func (c *client) readErr() error {
	c.t.Helper()
	deadline := time.After(c.wait)
	for {
		select {
		case _, ok := <-c.lines:
			if !ok {
				return <-c.err
			}
		case <-deadline:
			c.t.Fatalf("line still open after %v", c.wait)
			return errors.New("unreachable")
		}
	}
}
