package modem

import (
	"context"
	"fmt"
	"time"

	"github.com/simgate/simgate/modem/at"
)

// Resync brings a modem that stopped answering back in step, the first
// rung of the escalation ladder (at-pdu.md §3.8): ESC to abort a stale "> "
// prompt, then AT until OK. It changes no setting.
func (m *Modem) Resync(ctx context.Context) error {
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	defer m.unlock()
	if err := m.syncLocked(ctx); err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	return nil
}

// resetTimeout bounds the wait for the OK of AT+CFUN=1,1: the modem may
// reboot before it prints it.
const resetTimeout = 15 * time.Second

// Reset reboots the module with AT+CFUN=1,1 (TS 27.007 §8.2: full
// functionality, reset first). The modem comes back in its power-on state,
// announcing itself (EventReset) and needing Init; a USB modem usually
// drops off its port meanwhile and comes back, possibly as another tty.
func (m *Modem) Reset(ctx context.Context) error {
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	defer m.unlock()
	if _, err := m.exec(ctx, at.Request{Command: "AT+CFUN=1,1", Timeout: min(resetTimeout, m.cfg.CommandTimeout)}); err != nil {
		return fmt.Errorf("reset: AT+CFUN=1,1: %w", err)
	}
	return nil
}
