package otp

import "sync"

// watchedSMS is the set of messages that carry a code whose fate the
// service still waits for: the event stream tells about every message, and
// only these are worth a look-up. An SMS is added before the transaction
// that queues it commits, so none of its events can come first; it leaves
// when an event finds nothing more to wait for. The full round at start
// fills the set with what was watched before a restart.
//
// It knows only the codes this process sent: a gateway sharing its store
// with others (several hosts) must run OTP follow-up where the codes were
// sent, or rely on the timer's rounds.
type watchedSMS struct {
	mu  sync.Mutex
	ids map[string]bool
}

func newWatchedSMS() *watchedSMS { return &watchedSMS{ids: map[string]bool{}} }

func (w *watchedSMS) add(id string) {
	w.mu.Lock()
	w.ids[id] = true
	w.mu.Unlock()
}

func (w *watchedSMS) remove(id string) {
	w.mu.Lock()
	delete(w.ids, id)
	w.mu.Unlock()
}

func (w *watchedSMS) has(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ids[id]
}
