//go:build !linux

package modem

import "os"

// openPolled: only Linux's poller is known to take a tty (kqueue refuses
// some), so elsewhere the serial port does its own reads.
func openPolled(string) (*os.File, error) { return nil, nil }
