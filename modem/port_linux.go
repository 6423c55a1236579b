package modem

import (
	"os"
	"syscall"
)

// openPolled opens the tty at path non-blocking, which puts its reads and
// writes in the poller (epoll takes ttys and ptys).
func openPolled(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
}
