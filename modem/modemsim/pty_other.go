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

// Reenumerate is only implemented on Linux.
func (m *Modem) Reenumerate(ctx context.Context) (string, error) {
	return "", errNotOnPTY
}

func (m *Modem) reenumerateLater() {}
