package modem

import (
	"errors"
	"os"

	"go.bug.st/serial"
)

// A modem's port is read by one goroutine that waits for the modem most of
// its life. go.bug.st/serial waits in select(2): a thread blocked in a
// system call, holding its P (the right to run Go code) until the
// runtime's monitor takes it back, 20 µs to 10 ms later. With a reader per
// modem the gateway's goroutines waited for a P while the CPU idled: eight
// virtual modems ran on about one core of two and sent ~900 msgs/s, against
// ~1,290 when the reads wait in the network poller (epoll), which parks the
// goroutine and holds no thread.
//
// So the port is opened twice: go.bug.st/serial sets the line up (raw
// mode, 115200 8N1, exclusive access) and owns it, and a second,
// non-blocking descriptor of the same tty, opened first because exclusive
// access refuses later opens to all but root, carries the bytes through
// the poller. Both refer to one tty: its settings and buffers are shared.

// polledPort reads and writes through File, in the poller; port keeps the
// line's settings and exclusive access until Close.
type polledPort struct {
	*os.File
	port serial.Port
}

// Close closes the descriptor first, which ends a pending Read, then the
// serial port.
func (p *polledPort) Close() error {
	return errors.Join(p.File.Close(), p.port.Close())
}
