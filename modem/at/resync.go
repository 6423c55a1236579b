package at

import (
	"context"
	"fmt"
	"time"
)

// A call that ends without its final result leaves an answer on its way:
// with echo off nothing tells it from the answer to the next command. So
// the line is then "out of step": every line the reader gets that no
// indication claims is kept as stale, and before the next command Resync
// writes ESC (when a "> " prompt may be open) and a marker command, and
// drains until the marker's own answer has come. The modem answers in
// order, so whatever came before the marker's answer is older than it.
//
// The markers are read-only queries that work in any state (no SIM, PIN
// locked, radio off) and whose "+XXX:" prefix no other command of the
// driver uses: AT+CMEE? (TS 27.007 §9.1), AT+GCAP (V.250 §6.1.9) and
// AT+CSCS? (TS 27.007 §5.5). A bare AT would not do: its OK looks like any
// late OK. Successive attempts take the next marker, and the engine counts
// the markers of each kind written and not yet answered: an attempt ends
// only when its marker's count is back to zero, so the late answer of an
// earlier attempt with the same marker is never taken for this one's (a
// modem slow enough to time out three attempts in a row would otherwise
// pass its first answer for the fourth attempt's). As the modem answers in
// order, a marker answered means every marker written before it was
// answered or swallowed, and the counts start again from zero. A marker a
// modem refuses (ERROR, no information line) or swallows only costs its
// attempt: the next one uses another. A marker unanswered for longer than
// two whole Resyncs is taken as lost (markerExpiry).
var markers = [...]struct{ cmd, prefix string }{
	{"AT+CMEE?", "+CMEE:"},
	{"AT+GCAP", "+GCAP:"},
	{"AT+CSCS?", "+CSCS:"},
}

const (
	// defaultResyncTimeout bounds the wait for one marker's answer.
	defaultResyncTimeout = 5 * time.Second
	// resyncAttempts is how many markers one Resync tries: every marker once.
	resyncAttempts = 3
	// maxStale bounds the lines kept while out of step; later ones are dropped.
	maxStale = 256
)

// resyncState is the engine's view of the line's step, under Engine.mu.
type resyncState struct {
	outOfStep  bool                    // a call ended without its final result
	needESC    bool                    // a "> " prompt may be open
	stale      []string                // lines read while out of step
	dropped    int                     // stale lines beyond maxStale
	marker     *markerWait             // the marker being awaited, nil between attempts
	seq        int                     // markers sent, to pick the next one
	unanswered [len(markers)]int       // markers written and not yet answered, by kind
	written    [len(markers)]time.Time // when the last marker of each kind was written
	seen       int                     // 1 + the kind whose information line came last; 0 none
}

// markerWait is the marker an attempt waits for.
type markerWait struct {
	kind   int           // index in markers
	done   chan struct{} // closed when every marker of its kind was answered
	prompt chan struct{} // a "> " prompt came instead: ESC and try again
}

// OutOfStep reports whether a call ended without its final result and the
// line has not been resynchronised since.
func (e *Engine) OutOfStep() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sync.outOfStep
}

// Rebooted tells the engine that the modem was reset (AT+CFUN=1,1, a
// power cycle): what it still had to answer is lost, so the markers awaited
// from before are forgotten. The line is out of step until the next
// Resync, which starts afresh.
func (e *Engine) Rebooted() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sync.outOfStep = true
	e.sync.unanswered = [len(markers)]int{}
	e.sync.written = [len(markers)]time.Time{}
	e.sync.seen = 0
}

// abandon ends c, which got no usable final result, and puts the line out
// of step. What c had collected (a "+CMGS: 7" whose OK is late) becomes
// stale, for Resync to return. With esc, a prompt may be open: ESC is
// written now, so that the modem does not sit at "> " until the next
// command.
func (e *Engine) abandon(c *call, esc bool) {
	e.mu.Lock()
	if e.cur == c {
		e.cur = nil
	}
	if !c.finished {
		c.finish(ErrTimeout)
	}
	e.sync.outOfStep = true
	e.keepStaleLocked(c.info...)
	e.mu.Unlock()
	if esc {
		_ = e.Write("\x1b") // a failed write closes the engine; callers see ErrClosed
	}
}

func (e *Engine) keepStaleLocked(lines ...string) {
	for _, l := range lines {
		if len(e.sync.stale) >= maxStale {
			e.sync.dropped++
			continue
		}
		e.sync.stale = append(e.sync.stale, l)
	}
}

// Resync brings the line back in step: ESC when a prompt may be open, then
// a marker command, draining what the modem prints until the marker's own
// answer comes; up to attempts markers (0: one of each), each awaited for
// timeout (0: Config.ResyncTimeout). It returns the stale lines read since
// the line went out of step, oldest first (late answers: "+CSQ: 9,99",
// "OK", "+CMGS: 7"…); indications are handled as usual meanwhile. It
// resynchronises even a line that seems in step, so it also serves to
// start talking to a modem in an unknown state. When no marker is answered
// the error wraps ErrTimeout, the line stays out of step and the lines read
// so far are kept for the next Resync. The caller holds the line.
func (e *Engine) Resync(ctx context.Context, attempts int, timeout time.Duration) ([]string, error) {
	if attempts <= 0 {
		attempts = resyncAttempts
	}
	if timeout <= 0 {
		timeout = e.resyncTimeout
	}
	var last string
	var w *markerWait
	for range attempts {
		var cmd string
		var esc bool
		var err error
		w, cmd, esc, err = e.armMarker()
		if err != nil {
			return nil, err
		}
		last = cmd
		if esc {
			if err := e.Write("\x1b"); err != nil {
				return nil, err
			}
		}
		if err := e.Write(cmd + "\r\n"); err != nil {
			return nil, err
		}
		ok, err := e.awaitMarker(ctx, w, timeout)
		if err != nil {
			e.disarmMarker(w)
			return nil, err
		}
		if ok {
			return e.inStep(), nil
		}
	}
	e.disarmMarker(w)
	return nil, fmt.Errorf("resync: no answer to %s and %d other markers: %w", last, attempts-1, ErrTimeout)
}

// armMarker picks the next marker and routes what the reader gets to the
// drain until it is answered.
func (e *Engine) armMarker() (w *markerWait, cmd string, esc bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return nil, "", false, e.closedErrLocked()
	}
	kind := e.sync.seq % len(markers)
	e.sync.seq++
	if e.sync.unanswered[kind] > 0 && time.Since(e.sync.written[kind]) > e.markerExpiry() {
		// So long unanswered that they are taken as lost: a modem that
		// dropped a marker of every kind would otherwise never resync.
		e.sync.unanswered[kind] = 0
	}
	e.sync.unanswered[kind]++
	e.sync.written[kind] = time.Now()
	w = &markerWait{kind: kind, done: make(chan struct{}), prompt: make(chan struct{}, 1)}
	e.sync.marker = w
	e.sync.outOfStep = true
	esc, e.sync.needESC = e.sync.needESC, false
	return w, markers[kind].cmd, esc, nil
}

// markerExpiry is how long an unanswered marker may still be answered: two
// whole Resyncs, and at least minMarkerExpiry. Within it, an old marker's
// late answer is never taken for a newer one's of the same kind; past it,
// the old one is taken as lost. The floor matters with short timeouts: a
// modem busy for 10 s with a send answers the markers written meanwhile
// all at once when it is done, and a marker of the same kind written just
// before must not take the first of them for its own (the rest would then
// be read as the next command's answer). A modem that really lost one is
// reset by the escalation sooner (Rebooted forgets them).
func (e *Engine) markerExpiry() time.Duration {
	return max(2*resyncAttempts*e.resyncTimeout, minMarkerExpiry)
}

// minMarkerExpiry is markerExpiry's floor.
const minMarkerExpiry = time.Minute

// awaitMarker waits for w's answer: true when it came, false when this
// attempt is over (its time ran out, or a prompt swallowed the marker).
func (e *Engine) awaitMarker(ctx context.Context, w *markerWait, timeout time.Duration) (bool, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-w.done:
		return true, nil
	case <-w.prompt:
		return false, nil
	case <-t.C:
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	case <-e.done:
		return false, e.closedErr()
	}
}

func (e *Engine) disarmMarker(w *markerWait) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sync.marker == w {
		e.sync.marker = nil
	}
}

// inStep ends a successful Resync and hands over the stale lines. The
// marker counts start again: the modem answers in order, so every marker
// written before the one just answered was answered or swallowed.
func (e *Engine) inStep() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	stale, dropped := e.sync.stale, e.sync.dropped
	e.sync = resyncState{seq: e.sync.seq}
	if dropped > 0 {
		e.log.Debug("at stale lines dropped", "count", dropped)
	}
	return stale
}

// routeStaleLocked takes a line read while the line is out of step and no
// command is pending: a marker's answer, an indication, or stale. A stale
// "+XXX:" line is also unsolicited, as it would be beside a command: it may
// be a late answer or an indication nobody registered.
func (e *Engine) routeStaleLocked(s string) (ind *indication, unsolicited bool) {
	for i, m := range markers {
		if e.sync.unanswered[i] > 0 && hasPrefixFold(s, m.prefix) {
			e.sync.seen = i + 1
			return nil, false
		}
	}
	if _, final := finalResult(s, false); final && e.sync.seen > 0 {
		kind := e.sync.seen - 1
		e.sync.seen = 0
		e.sync.unanswered[kind]--
		if w := e.sync.marker; w != nil && w.kind == kind && e.sync.unanswered[kind] == 0 {
			e.sync.marker = nil
			close(w.done)
		}
		return nil, false
	}
	if ind := e.indicationLocked(s, false); ind != nil {
		return ind, false
	}
	e.keepStaleLocked(s)
	return nil, LinePrefix(s) != ""
}

// promptOutOfStepLocked handles a "> " prompt no command waits for: the
// modem now takes whatever comes as PDU text, so ESC is due, and a marker
// already written was swallowed.
func (e *Engine) promptOutOfStepLocked() {
	e.sync.outOfStep = true
	e.sync.needESC = true
	if w := e.sync.marker; w != nil {
		select {
		case w.prompt <- struct{}{}:
		default:
		}
	}
}
