//go:build linux

package modemsim

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ptyLink is the modem's side of a pseudo-terminal: it reads and writes the
// master and holds the slave open itself, so that a host closing and
// re-opening the device does not hang the line up under the modem.
//
// The master is in packet mode (TIOCPKT): each read starts with a status
// byte, 0 for data. A host opening the port flushes its input (TCIFLUSH,
// which go.bug.st/serial's ResetInputBuffer and most tools do), which
// arrives as TIOCPKT_FLUSHREAD: that is how the modem sees a reopen.
type ptyLink struct {
	master  *os.File
	slave   *os.File
	once    sync.Once
	buf     []byte
	onFlush func() // the host flushed its input: it (re)opened the port
}

// Read returns the data the host wrote, without the packet-mode status
// byte; status packets are consumed here.
func (p *ptyLink) Read(b []byte) (int, error) {
	for {
		if len(p.buf) < len(b)+1 {
			p.buf = make([]byte, len(b)+1)
		}
		n, err := p.master.Read(p.buf[:len(b)+1])
		if n > 0 && p.buf[0] == unix.TIOCPKT_DATA {
			if n > 1 || err != nil {
				return copy(b, p.buf[1:n]), err
			}
			continue
		}
		if n > 0 && p.buf[0]&unix.TIOCPKT_FLUSHREAD != 0 && p.onFlush != nil {
			p.onFlush()
		}
		if err != nil {
			return 0, err
		}
	}
}

func (p *ptyLink) Write(b []byte) (int, error) { return p.master.Write(b) }

// Close closes both ends, which is what makes a host's read fail with EIO
// as when a USB modem disappears.
func (p *ptyLink) Close() error {
	p.once.Do(func() {
		p.master.Close()
		p.slave.Close()
	})
	return nil
}

// openPTY creates a raw pseudo-terminal whose master is in non-blocking
// mode, so that Close interrupts a blocked Read or Write.
func openPTY() (*ptyLink, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	// pty.Open leaves the master in blocking mode (it calls Fd), and a
	// blocking read cannot be interrupted by Close. A non-blocking duplicate
	// goes through the runtime poller instead.
	fd, err := unix.Dup(int(master.Fd()))
	master.Close()
	if err != nil {
		slave.Close()
		return nil, fmt.Errorf("dup pty master: %w", err)
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		slave.Close()
		return nil, fmt.Errorf("pty master non-blocking: %w", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCPKT, 1); err != nil {
		unix.Close(fd)
		slave.Close()
		return nil, fmt.Errorf("pty packet mode: %w", err)
	}
	if err := makeRaw(int(slave.Fd())); err != nil {
		unix.Close(fd)
		slave.Close()
		return nil, fmt.Errorf("pty raw mode: %w", err)
	}
	return &ptyLink{master: os.NewFile(uintptr(fd), "/dev/ptmx"), slave: slave}, nil
}

// makeRaw is cfmakeraw(3): no echo, no CR/LF translation, no signals, 8 bits,
// so that PDUs, Ctrl-Z and ESC pass untouched.
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// OpenPTY serves m on a new pseudo-terminal until ctx ends or the modem is
// unplugged or closed, and returns the device path to open (a /dev/pts
// node), as any serial tool would open a USB modem's tty.
func (m *Modem) OpenPTY(ctx context.Context) (string, error) {
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return "", ErrClosed
	case m.unplug:
		m.mu.Unlock()
		return "", ErrUnplugged
	}
	m.mu.Unlock()
	link, err := openPTY()
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		link.Close()
		return "", ErrClosed
	}
	m.mu.Unlock()
	return m.servePTY(ctx, link), nil
}

// servePTY serves m on link until ctx ends, and returns its path.
func (m *Modem) servePTY(ctx context.Context, link *ptyLink) string {
	path := link.slave.Name()
	link.onFlush = m.hostOpened
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		link.Close()
		return path
	}
	m.onPTY, m.path, m.ptyCtx = true, path, ctx
	m.wg.Add(1) // under mu, so that Close's Wait cannot have started
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		if err := m.serve(ctx, link, func() { link.Close() }); err != nil {
			m.log.Debug("serve pty", "path", path, "err", err)
		}
	}()
	return path
}

// Reenumerate is a USB reset: the modem drops off its pty and comes back,
// booted, on a new one whose path differs from the old (Path), served
// until ctx ends. The host sees its port fail as on an unplug.
func (m *Modem) Reenumerate(ctx context.Context) (string, error) {
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return "", ErrClosed
	case !m.onPTY:
		m.mu.Unlock()
		return "", errNotOnPTY
	}
	m.mu.Unlock()
	// Opened before the old one closes, so that it gets another number.
	link, err := openPTY()
	if err != nil {
		return "", err
	}
	m.Unplug()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		link.Close()
		return "", ErrClosed
	}
	m.unplug = false
	m.bootLocked()
	m.mu.Unlock()
	return m.servePTY(ctx, link), nil
}

// reenumerateLater re-enumerates the modem after AT+CFUN=1,1, from
// another goroutine than the session's, which Reenumerate ends.
func (m *Modem) reenumerateLater() {
	ctx := m.ptyCtx
	m.timers.after(10*time.Millisecond, func() {
		if _, err := m.Reenumerate(ctx); err != nil {
			m.log.Debug("re-enumerate after reset", "err", err)
		}
	})
}
