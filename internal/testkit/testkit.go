// Package testkit holds the test helpers that the tests of several packages
// share: a clock that moves only when told, a log buffer safe for
// concurrent writers, a store on a real SQLite file, and the real modem
// driver on a virtual modem. Only tests import it.
package testkit

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/modemdev"
	"github.com/simgate/simgate/store"
)

// Clock is a gateway.Clock that moves only when told.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

var _ gateway.Clock = (*Clock)(nil)

// NewClock returns a clock stopped at now.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// SyncBuffer is a bytes.Buffer that several goroutines may write, for a
// logger's output.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// OpenStore opens a store on a new SQLite file in t's temporary directory
// and closes it when the test ends.
func OpenStore(t testing.TB, opts ...store.Option) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "simgate.db"), nil, opts...)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("store Close: %v", err)
		}
	})
	return st
}

// SimDevice is the real driver on sim over an in-memory pipe, initialised
// and closed when the test ends.
func SimDevice(t testing.TB, ctx context.Context, sim *modemsim.Modem) gateway.Device {
	t.Helper()
	return SimDeviceWith(t, ctx, sim, modem.Config{})
}

// SimDeviceTraced is SimDevice with the driver's AT trace going to logger
// (at debug); nil discards it.
func SimDeviceTraced(t testing.TB, ctx context.Context, sim *modemsim.Modem, logger *slog.Logger) gateway.Device {
	t.Helper()
	return SimDeviceWith(t, ctx, sim, modem.Config{Logger: logger})
}

// SimDeviceWith is SimDevice with the driver configured by cfg (shorter
// timeouts, a logger, say).
func SimDeviceWith(t testing.TB, ctx context.Context, sim *modemsim.Modem, cfg modem.Config) gateway.Device {
	t.Helper()
	m := modem.New(sim.Pipe(ctx), cfg)
	if err := m.Init(ctx); err != nil {
		t.Fatalf("Init: %v", err)
	}
	dev := modemdev.New(m)
	t.Cleanup(func() { dev.Close() })
	return dev
}
