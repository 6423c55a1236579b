//go:build !linux

package modemsim

import (
	"context"
	"errors"
)

// OpenPTY is only implemented on Linux, where the gateway runs.
func (m *Modem) OpenPTY(ctx context.Context) (string, error) {
	return "", errors.New("open pty: not supported on this system")
}
