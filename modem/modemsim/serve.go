package modemsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// session is one host connection: a transport served by one goroutine,
// the only writer, so that URCs never land inside a line.
type session struct {
	kickc    chan struct{} // URCs are waiting
	quit     chan struct{} // closed to end the session
	done     chan struct{} // closed when the session has ended
	once     sync.Once
	shutdown func() // closes the transport so that a blocked read or write returns
}

func (s *session) kick() {
	select {
	case s.kickc <- struct{}{}:
	default:
	}
}

func (s *session) end() {
	s.once.Do(func() {
		close(s.quit)
		s.shutdown()
	})
}

// stop ends the session and waits until it is over.
func (s *session) stop() {
	s.end()
	<-s.done
}

// Serve answers AT commands on rw until ctx ends, the modem is unplugged or
// closed, or rw fails. It owns rw: when it returns it has closed rw if rw is
// an io.Closer (which is also how it interrupts a pending Read), so it
// returns promptly only on such a rw. A modem has one port: a second Serve
// ends the first. Serve returns nil when ctx ends, the host closes the line
// or the modem is unplugged, ErrUnplugged or ErrClosed when the modem was
// already unplugged or closed, and the read or write error otherwise.
func (m *Modem) Serve(ctx context.Context, rw io.ReadWriter) error {
	shutdown := func() {
		if c, ok := rw.(io.Closer); ok {
			c.Close()
		}
	}
	return m.serve(ctx, rw, shutdown)
}

// Pipe returns the host side of an in-memory serial line served by m until
// ctx ends or the modem is unplugged or closed; reads then return io.EOF.
// Like a second Serve, it takes the modem away from an earlier transport.
func (m *Modem) Pipe(ctx context.Context) io.ReadWriteCloser {
	host, dev := net.Pipe()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		dev.Close()
		return host
	}
	m.wg.Add(1) // under mu, so that Close's Wait cannot have started
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		if err := m.Serve(ctx, dev); err != nil {
			m.log.Debug("serve pipe", "err", err)
		}
	}()
	return host
}

func (m *Modem) serve(ctx context.Context, rw io.ReadWriter, shutdown func()) error {
	s := &session{
		kickc:    make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		shutdown: shutdown,
	}
	if err := m.takeLine(s); err != nil {
		shutdown()
		return err
	}
	defer close(s.done)
	defer func() {
		m.mu.Lock()
		if m.sess == s {
			m.sess = nil
		}
		m.mu.Unlock()
	}()

	in := make(chan []byte)
	readErr := make(chan error, 1)
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		buf := make([]byte, 4096)
		for {
			n, err := rw.Read(buf)
			if n > 0 {
				select {
				case in <- append([]byte(nil), buf[:n]...):
				case <-s.quit:
					return
				}
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()
	defer readers.Wait()
	defer s.end()

	c := &conn{m: m, s: s, ctx: ctx, w: rw, readErr: readErr}
	err := c.loop(in)
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, errSessionOver):
		return nil
	case errors.Is(err, os.ErrClosed), errors.Is(err, io.ErrClosedPipe), errors.Is(err, net.ErrClosed):
		select {
		case <-s.quit: // we closed it: unplug or close
			return nil
		default:
		}
	}
	return err
}

// takeLine makes s the modem's session, ending the one before: a modem
// has one port.
func (m *Modem) takeLine(s *session) error {
	for {
		m.mu.Lock()
		switch {
		case m.closed:
			m.mu.Unlock()
			return ErrClosed
		case m.unplug:
			m.mu.Unlock()
			return ErrUnplugged
		}
		old := m.sess
		if old == nil {
			m.sess = s
			if m.knobs.hang == HangUntilReopen {
				m.knobs.hang = HangOff // a new line is a reopen
			}
			if len(m.urcs) > 0 {
				s.kick()
			}
			m.mu.Unlock()
			return nil
		}
		m.mu.Unlock()
		old.stop()
	}
}

var errSessionOver = errors.New("session over")

// Parser modes.
const (
	modeCommand = iota
	modePrompt  // after AT+CMGS=<len>: PDU hex until Ctrl-Z or ESC
	modeSwallow // the prompt never came: everything is ignored until ESC
)

// maxLine bounds a command line or PDU, as a modem's input buffer does.
const maxLine = 2048

// conn is the state of one session inside its goroutine.
type conn struct {
	m       *Modem
	s       *session
	ctx     context.Context
	w       io.Writer
	readErr chan error

	mode   int
	line   []byte
	length int       // <length> of the pending AT+CMGS
	cmgsAt time.Time // when that AT+CMGS line arrived
	boots  int
	held   []step // an answer held until the host writes again
}

func (c *conn) loop(in <-chan []byte) error {
	c.boots = c.m.bootCount()
	for {
		if err := c.flushURCs(); err != nil {
			return err
		}
		select {
		case <-c.ctx.Done():
			return nil
		case <-c.s.quit:
			return errSessionOver
		case err := <-c.readErr:
			return fmt.Errorf("read: %w", err)
		case <-c.s.kickc:
		case b := <-in:
			if err := c.feed(b); err != nil {
				return err
			}
		}
	}
}

// feed runs the bytes the host wrote through the V.250 line editor.
func (c *conn) feed(b []byte) error {
	if n := c.m.bootCount(); n != c.boots {
		// A reset loses a half-typed line and a pending prompt.
		c.boots, c.mode, c.line, c.held = n, modeCommand, c.line[:0], nil
	}
	if held := c.held; len(held) > 0 {
		c.held = nil
		if err := c.run(held); err != nil {
			return err
		}
	}
	for _, ch := range b {
		var steps []step
		switch c.mode {
		case modeCommand:
			switch ch {
			case '\r', '\n':
				if len(c.line) == 0 {
					continue
				}
				line := string(c.line)
				c.line = c.line[:0]
				at := time.Now()
				var prompt int
				steps, prompt = c.m.execLine(line, ch)
				if prompt > 0 {
					c.mode, c.length, c.cmgsAt = modePrompt, prompt, at
				} else if prompt < 0 {
					c.mode = modeSwallow
				}
			case 0x1B: // ESC abandons the line, as gammu's "\x1B\r" expects
				c.line = c.line[:0]
			case 0x08, 0x7F:
				if len(c.line) > 0 {
					c.line = c.line[:len(c.line)-1]
				}
			case 0x1A:
			default:
				if len(c.line) < maxLine {
					c.line = append(c.line, ch)
				}
			}
		case modePrompt:
			switch ch {
			case 0x1A:
				pdu := string(c.line)
				c.line, c.mode = c.line[:0], modeCommand
				steps = c.m.submitPDU(pdu, c.length, c.cmgsAt)
			case 0x1B:
				c.line, c.mode = c.line[:0], modeCommand
				steps = []step{{out: []byte("\r\nOK\r\n")}}
			case '\r', '\n', ' ':
			default:
				if len(c.line) < maxLine {
					c.line = append(c.line, ch)
				}
			}
		case modeSwallow:
			if ch == 0x1B {
				c.line, c.mode = c.line[:0], modeCommand
				steps = []step{{out: []byte("\r\nOK\r\n")}}
			}
		}
		if err := c.run(steps); err != nil {
			return err
		}
	}
	return nil
}

// step is one piece of a response: bytes to write, a pause during which
// URCs may be written, or work whose output is computed when it is reached.
type step struct {
	out  []byte
	wait time.Duration
	call func() []byte
	hold bool // this step and the rest wait until the host writes again
}

func (c *conn) run(steps []step) error {
	for i, st := range steps {
		if st.hold {
			// SetLateAnswer: the answer comes once the host has moved on.
			rest := append([]step(nil), steps[i:]...)
			rest[0].hold = false
			c.held = append(c.held, rest...)
			return nil
		}
		if st.wait > 0 {
			if err := c.pause(st.wait); err != nil {
				return err
			}
		}
		out := st.out
		if st.call != nil {
			out = st.call()
		}
		if err := c.write(out); err != nil {
			return err
		}
	}
	return nil
}

// pause waits d, writing URCs that arrive meanwhile, as a modem busy with a
// network round trip does.
func (c *conn) pause(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return nil
		case <-c.ctx.Done():
			return c.ctx.Err()
		case <-c.s.quit:
			return errSessionOver
		case err := <-c.readErr:
			return fmt.Errorf("read: %w", err)
		case <-c.s.kickc:
			if err := c.flushURCs(); err != nil {
				return err
			}
		}
	}
}

func (c *conn) flushURCs() error {
	if c.mode != modeCommand {
		// The TA-TE link is reserved while the host types a PDU; with
		// AT+CNMI mode 2 the modem buffers indications until it is free.
		return nil
	}
	for {
		c.m.mu.Lock()
		if len(c.m.urcs) == 0 || c.m.sess != c.s {
			c.m.mu.Unlock()
			return nil
		}
		u := c.m.urcs[0]
		c.m.urcs = c.m.urcs[1:]
		c.m.mu.Unlock()
		if err := c.write(u); err != nil {
			return err
		}
	}
}

func (c *conn) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	c.m.log.Debug("at tx", "data", string(b))
	if _, err := c.w.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
