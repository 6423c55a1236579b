package modemsim

import (
	"sync"
	"time"
)

// timers runs delayed work (status reports, +CNMA deadlines) so that each
// callback has an owner: stop cancels what has not fired and waits for the
// callbacks already running.
type timers struct {
	mu      sync.Mutex
	wg      sync.WaitGroup
	pending map[*time.Timer]struct{}
	stopped bool
}

// after runs fn after d unless stop is called first. It reports whether fn
// was scheduled.
func (t *timers) after(d time.Duration, fn func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	if t.pending == nil {
		t.pending = make(map[*time.Timer]struct{})
	}
	t.wg.Add(1)
	var tm *time.Timer
	tm = time.AfterFunc(d, func() {
		defer t.wg.Done()
		t.mu.Lock()
		_, live := t.pending[tm]
		delete(t.pending, tm)
		t.mu.Unlock()
		if live {
			fn()
		}
	})
	t.pending[tm] = struct{}{}
	return true
}

// stop cancels the timers that have not fired and waits for running callbacks.
func (t *timers) stop() {
	t.mu.Lock()
	t.stopped = true
	for tm := range t.pending {
		if tm.Stop() {
			t.wg.Done()
		}
		delete(t.pending, tm)
	}
	t.mu.Unlock()
	t.wg.Wait()
}
