package at

import (
	"fmt"
	"strings"
)

// readLoop is the only reader of the port.
func (e *Engine) readLoop() {
	defer close(e.readerDone)
	buf := make([]byte, 4096)
	var sp splitter
	for {
		n, err := e.rw.Read(buf)
		if n > 0 {
			e.trace("rx", buf[:n])
			sp.feed(buf[:n], e.handleLine, e.handlePrompt)
		}
		if err != nil {
			e.fail(fmt.Errorf("read: %w", err))
			return
		}
	}
}

// splitter cuts the byte stream into lines. The SMS prompt "> " has no line
// end, so a '>' at the start of a line is a token of its own.
type splitter struct {
	line []byte
}

const maxLine = 64 << 10

func (s *splitter) feed(p []byte, line func([]byte), prompt func()) {
	for _, b := range p {
		switch {
		case b == '\r' || b == '\n':
			if len(s.line) > 0 {
				line(s.line)
				s.line = s.line[:0]
			}
		case len(s.line) == 0 && b == '>':
			prompt()
		case len(s.line) == 0 && b == ' ':
			// Leading blanks, including the one after '>'.
		default:
			s.line = append(s.line, b)
			if len(s.line) >= maxLine {
				line(s.line)
				s.line = s.line[:0]
			}
		}
	}
}

// cleanLine drops control characters (the ^Z and ESC of a PDU echo) and
// surrounding blanks.
func cleanLine(b []byte) string {
	clean := true
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return strings.TrimSpace(string(b))
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c != 0x7f {
			out = append(out, c)
		}
	}
	return strings.TrimSpace(string(out))
}

func (e *Engine) handlePrompt() {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.cur
	if c == nil || c.finished {
		// Nothing waits for it, yet the modem now takes what comes as PDU text.
		e.log.Debug("at stray prompt")
		e.promptOutOfStepLocked()
		return
	}
	if c.prompted {
		e.log.Debug("at second prompt") // a PDU echo that starts with "> "
		return
	}
	c.prompted = true
	c.echo = ""
	c.prompt <- struct{}{}
}

// handleLine gives one line to the indication waiting for its trailing
// lines, the command in flight or an indication. Handlers run here, in the
// reader, but outside e.mu.
func (e *Engine) handleLine(b []byte) {
	s := cleanLine(b)
	if s == "" {
		return
	}
	if p := e.pending; p != nil {
		if p.takes(s) {
			if p.complete() {
				e.pending = nil
				p.ind.handle(p.lines)
			}
			return
		}
		// The promised line never came; report what we have.
		e.pending = nil
		p.ind.handle(p.lines)
	}
	ind, unsolicited := e.route(s)
	switch {
	case ind != nil && ind.trailing > 0 && !ind.whole([]string{s}):
		e.pending = &pendingIndication{ind: ind, lines: []string{s}}
	case ind != nil:
		ind.handle([]string{s})
	case unsolicited:
		e.other(s)
	}
}

// route hands s to the command in flight when it belongs there, or says
// which indication takes it, or whether it is unsolicited all the same.
func (e *Engine) route(s string) (ind *indication, unsolicited bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.cur
	if c != nil && c.finished {
		c = nil
	}
	if c == nil && e.sync.outOfStep {
		return e.routeStaleLocked(s)
	}
	if c != nil && c.echo != "" && swallowEcho(c, s) {
		return nil, false
	}
	if c != nil {
		if err, ok := finalResult(s, c.dial); ok {
			c.finish(err)
			e.cur = nil
			return nil, false
		}
	} else if _, ok := finalResult(s, false); ok {
		e.log.Debug("at stray final result", "line", s)
		return nil, false
	}
	prefix := LinePrefix(s)
	owned := prefix != "" && c != nil && c.owns(prefix)
	if ind := e.indicationLocked(s, owned); ind != nil {
		return ind, false
	}
	if c == nil || (prefix != "" && !owned) {
		return nil, true
	}
	c.echo = ""
	c.info = append(c.info, s)
	return nil, false
}

// swallowEcho drops s when it is the echo of the command or PDU, or a
// fragment of it cut by a URC.
func swallowEcho(c *call, s string) bool {
	if len(s) > len(c.echo) || !strings.EqualFold(c.echo[:len(s)], s) {
		return false
	}
	first := c.echo == c.cmd
	if first && !c.echoPDU && len(s) < len(c.echo) && (len(s) < 2 || !strings.EqualFold(s[:2], "AT")) {
		// An answer that merely looks like the start of the command.
		return false
	}
	c.echo = c.echo[len(s):]
	return true
}

// finalResult recognises final result codes (V.250 §5.7, TS 27.007 §9.2,
// TS 27.005 §3.2.5).
func finalResult(s string, dial bool) (error, bool) {
	switch s {
	case "OK":
		return nil, true
	case "ERROR":
		return ErrCommandFailed, true
	case "COMMAND NOT SUPPORT", "TOO MANY PARAMETERS":
		return fmt.Errorf("%w: %s", ErrCommandFailed, s), true
	}
	for _, r := range []string{"+CME ERROR", "+CMS ERROR"} {
		if arg, ok := cutPrefixFold(s, r+":"); ok {
			return ResultError{Result: r, Arg: strings.TrimSpace(arg)}, true
		}
	}
	if dial {
		switch s {
		case "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE":
			return fmt.Errorf("%w: %s", ErrCommandFailed, s), true
		}
		if strings.HasPrefix(s, "CONNECT") {
			return nil, true
		}
	}
	return nil, false
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}
