package modem

import (
	"bufio"
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeModem is a scripted modem in memory, keyed by the exact bytes of each
// Write (after warthog618/modem's mockModem). Replies go through a channel,
// so a reader blocked on it is durably blocked under testing/synctest.
//
// Two modes: replies looked up by key (on), or a strict transcript (script)
// that every write must follow in order.
type fakeModem struct {
	t *testing.T

	mu      sync.Mutex
	replies map[string][]reply // queued per key; the last one repeats
	seq     []step             // transcript mode when non-nil
	seqPos  int
	writes  []string

	rx        chan []byte
	closed    chan struct{}
	closeOnce sync.Once
	pending   []byte // only touched by the single reader
}

type reply struct {
	chunks []string
	then   func(f *fakeModem)
}

type step struct {
	write   string
	replies []string
	line    int
}

// markerAnswers answers the resync markers of package at.
var markerAnswers = map[string]string{
	"AT+CMEE?\r\n": "\r\n+CMEE: 1\r\n\r\nOK\r\n",
	"AT+GCAP\r\n":  "\r\n+GCAP: +CGSM\r\n\r\nOK\r\n",
	"AT+CSCS?\r\n": "\r\n+CSCS: \"GSM\"\r\n\r\nOK\r\n",
}

func newFake(t *testing.T) *fakeModem {
	t.Helper()
	return &fakeModem{
		t:       t,
		replies: map[string][]reply{},
		rx:      make(chan []byte, 4096),
		closed:  make(chan struct{}),
	}
}

// on queues a reply (sent as separate chunks) to the next write of key.
func (f *fakeModem) on(key string, chunks ...string) *fakeModem {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies[key] = append(f.replies[key], reply{chunks: chunks})
	return f
}

// onDo queues a reply that runs fn after its chunks.
func (f *fakeModem) onDo(key string, fn func(*fakeModem), chunks ...string) *fakeModem {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies[key] = append(f.replies[key], reply{chunks: chunks, then: fn})
	return f
}

// inject sends unsolicited bytes.
func (f *fakeModem) inject(chunks ...string) {
	for _, c := range chunks {
		f.rx <- []byte(c)
	}
}

func (f *fakeModem) Read(p []byte) (int, error) {
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

func (f *fakeModem) Write(p []byte) (int, error) {
	select {
	case <-f.closed:
		return 0, io.ErrClosedPipe
	default:
	}
	key := string(p)
	f.mu.Lock()
	f.writes = append(f.writes, key)
	var r reply
	if f.seq != nil {
		if f.seqPos >= len(f.seq) {
			f.t.Errorf("transcript: unexpected write %q after the end", key)
		} else if s := f.seq[f.seqPos]; s.write != key {
			f.t.Errorf("transcript line %d: got write %q, want %q", s.line, key, s.write)
		} else {
			r.chunks = s.replies
			f.seqPos++
		}
	} else if q := f.replies[key]; len(q) > 0 {
		r = q[0]
		if len(q) > 1 {
			f.replies[key] = q[1:]
		}
	} else if ans, ok := markerAnswers[key]; ok {
		// The resync markers are answered as by any modem, unless scripted.
		r.chunks = []string{ans}
	} else if key != "\x1b" {
		// An unscripted command is refused, as a modem refuses what it lacks.
		r.chunks = []string{"\r\nERROR\r\n"}
	}
	f.mu.Unlock()
	for _, c := range r.chunks {
		f.rx <- []byte(c)
	}
	if r.then != nil {
		r.then(f)
	}
	return len(p), nil
}

func (f *fakeModem) Close() error {
	f.closeOnce.Do(func() { close(f.closed) })
	return nil
}

func (f *fakeModem) written() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.writes...)
}

func (f *fakeModem) wrote(s string) bool {
	for _, w := range f.written() {
		if w == s {
			return true
		}
	}
	return false
}

// loadTranscript switches f to transcript mode with a file of
// `-> "write"` and `<- "reply"` lines (Go-quoted; # comments).
func (f *fakeModem) loadTranscript(path string) {
	f.t.Helper()
	file, err := os.Open(path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer file.Close()
	var seq []step
	sc := bufio.NewScanner(file)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		dir, arg, ok := strings.Cut(l, " ")
		if !ok {
			f.t.Fatalf("%s:%d: bad line %q", path, n, l)
		}
		v, err := strconv.Unquote(strings.TrimSpace(arg))
		if err != nil {
			f.t.Fatalf("%s:%d: %v", path, n, err)
		}
		switch dir {
		case "->":
			seq = append(seq, step{write: v, line: n})
		case "<-":
			if len(seq) == 0 {
				f.t.Fatalf("%s:%d: reply before any write", path, n)
			}
			seq[len(seq)-1].replies = append(seq[len(seq)-1].replies, v)
		default:
			f.t.Fatalf("%s:%d: bad direction %q", path, n, dir)
		}
	}
	if err := sc.Err(); err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.seq = seq
	f.mu.Unlock()
}

func (f *fakeModem) transcriptDone() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seqPos == len(f.seq)
}

// mustModem starts a Modem on f and closes it at the end of the test.
func mustModem(t *testing.T, f *fakeModem, cfg Config) *Modem {
	t.Helper()
	m := New(f, cfg)
	t.Cleanup(func() { m.Close() })
	return m
}

// mustEvent waits for the next event, failing after a deadline (real time
// outside synctest, fake time inside).
func mustEvent(t *testing.T, m *Modem) Event {
	t.Helper()
	select {
	case e, ok := <-m.Events():
		if !ok {
			t.Fatal("events closed")
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return Event{}
}

// noEvent checks that no event came before a sentinel URC injected now:
// events keep their order, so anything queued earlier would come first.
func noEvent(t *testing.T, m *Modem, f *fakeModem) {
	t.Helper()
	f.inject("\r\n+SENTINEL: 1\r\n")
	if e := mustEvent(t, m); e.Line != "+SENTINEL: 1" {
		t.Fatalf("unexpected event %+v", e)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
