package at

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"
)

// fakePort is a scripted modem in memory, keyed by the exact bytes of each
// Write. Replies go through a channel, so a reader blocked on it is durably
// blocked under testing/synctest. An unscripted write gets ERROR, except
// ESC, which gets nothing.
type fakePort struct {
	mu      sync.Mutex
	replies map[string][]string
	writes  []string

	late      []string // prepended to the reply of the next write
	rx        chan []byte
	closed    chan struct{}
	closeOnce sync.Once
	pending   []byte // only touched by the single reader
}

func newFakePort() *fakePort {
	return &fakePort{replies: map[string][]string{}, rx: make(chan []byte, 4096), closed: make(chan struct{})}
}

// on sets the reply chunks to every write of key.
func (f *fakePort) on(key string, chunks ...string) *fakePort {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies[key] = chunks
	return f
}

func (f *fakePort) inject(chunks ...string) {
	for _, c := range chunks {
		f.rx <- []byte(c)
	}
}

// lateAnswer queues the answer to a command that timed out: a modem answers
// in order, so it comes before the reply to whatever is written next.
func (f *fakePort) lateAnswer(chunks ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.late = append(f.late, chunks...)
}

func (f *fakePort) Read(p []byte) (int, error) {
	if len(f.pending) == 0 {
		select {
		case b := <-f.rx:
			f.pending = b
		case <-f.closed:
			return 0, io.EOF
		}
	}
	n := copy(p, f.pending)
	f.pending = f.pending[n:]
	return n, nil
}

func (f *fakePort) Write(p []byte) (int, error) {
	select {
	case <-f.closed:
		return 0, io.ErrClosedPipe
	default:
	}
	key := string(p)
	f.mu.Lock()
	f.writes = append(f.writes, key)
	chunks, ok := f.replies[key]
	if !ok && key != "\x1b" {
		chunks = []string{"\r\nERROR\r\n"}
	}
	chunks = append(f.late, chunks...)
	f.late = nil
	f.mu.Unlock()
	f.inject(chunks...)
	return len(p), nil
}

func (f *fakePort) Close() error {
	f.closeOnce.Do(func() { close(f.closed) })
	return nil
}

func (f *fakePort) written() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.writes...)
}

func (f *fakePort) wrote(s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.writes {
		if w == s {
			return true
		}
	}
	return false
}

// The first resync marker and its answer, for scripts.
const (
	cmee       = "AT+CMEE?\r\n"
	cmeeAnswer = "\r\n+CMEE: 1\r\n\r\nOK\r\n"
	gcap       = "AT+GCAP\r\n"
	gcapAnswer = "\r\n+GCAP: +CGSM\r\n\r\nOK\r\n"
)

// lines collects what handlers and the Unsolicited callback receive.
type lines struct{ ch chan []string }

func newLines() *lines { return &lines{ch: make(chan []string, 1024)} }

func (l *lines) handle(s []string) { l.ch <- append([]string(nil), s...) }

func (l *lines) other(s string) { l.ch <- []string{"other", s} }

func (l *lines) next(t *testing.T) []string {
	t.Helper()
	select {
	case s := <-l.ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("nothing handled")
	}
	return nil
}

// mustEngine starts an Engine on f that reports every unsolicited line to
// got, and closes it at the end of the test.
func mustEngine(t *testing.T, f *fakePort, got *lines, inds ...Indication) *Engine {
	t.Helper()
	e := New(f, Config{Indications: inds, Unsolicited: got.other})
	t.Cleanup(func() { e.Close() })
	return e
}

// run locks the line and runs one command.
func run(t *testing.T, e *Engine, r Request) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := e.Lock(ctx); err != nil {
		return nil, err
	}
	defer e.Unlock()
	return e.Exec(ctx, r)
}
