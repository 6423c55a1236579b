// Package at runs AT commands (ITU-T V.250) over an io.ReadWriter, one at a
// time, and hands unsolicited lines to handlers registered by prefix.
//
// One reader goroutine cuts the byte stream into lines (the "> " prompt of
// AT+CMGS has no line end, so it is a token of its own), swallows the echo
// of the command, recognises final result codes (V.250 §5.7, TS 27.007
// §9.2, TS 27.005 §3.2.5) and gives every other line either to the command
// in flight or to the indication registered for its prefix. Unsolicited
// lines are recognised anywhere: before OK, between an answer and its OK,
// inside the echo. A command's own "+XXX:" prefix wins over an indication
// of the same prefix, so "+CREG:" answers AT+CREG? and is a URC otherwise.
//
// Every call takes a context; a prompt that does not come is aborted with
// ESC; after EOF or a read or write error every call returns ErrClosed.
// Beyond that prompt the package knows nothing of SMS or USSD, nor what an
// error code means: the layer above registers its indications and reads
// ResultError.
package at

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// Sentinel errors callers branch on; errors returned by Exec wrap them.
var (
	// ErrClosed means the port is gone: EOF, a read or write error, or Close.
	ErrClosed = errors.New("modem closed")
	// ErrPromptTimeout means the "> " prompt did not come in time. ESC has
	// been written to abort the command.
	ErrPromptTimeout = errors.New("no sms prompt")
	// ErrTimeout means a command got no final result code before its timeout.
	ErrTimeout = errors.New("no final result")
	// ErrCommandFailed is a plain "ERROR" or Huawei's "COMMAND NOT SUPPORT".
	ErrCommandFailed = errors.New("command failed")
)

// ResultError is a final result code that carries an argument: "+CME
// ERROR: <err>" or "+CMS ERROR: <err>". What the argument means is for the
// layer above to say.
type ResultError struct {
	Result string // "+CME ERROR" or "+CMS ERROR"
	Arg    string // the argument, trimmed: a number or a verbose text
}

// Error prints the result code as the modem did.
func (e ResultError) Error() string { return e.Result + ": " + e.Arg }

// escGuard is how long a command aborted with ESC waits for the final result
// the modem may still print, so that it is not taken for the next command's.
const escGuard = 500 * time.Millisecond

// Config tunes an Engine. The zero value is usable.
type Config struct {
	// Logger receives raw traffic at Debug; nil discards it.
	Logger *slog.Logger
	// Indications are registered before the reader starts, so that nothing
	// the modem prints first escapes them.
	Indications []Indication
	// Unsolicited receives the lines no indication claims: any line while no
	// command is pending, and "+XXX:" lines the pending command does not
	// own. It is called from the reader and must not block; nil drops them.
	Unsolicited func(line string)
}

// Engine runs commands on one command line. Its methods are safe for
// concurrent use; Exec and Write need the line held with Lock.
type Engine struct {
	rw     io.ReadWriter
	closer io.Closer // non-nil when Close must close rw
	log    *slog.Logger
	other  func(string)

	sem        chan struct{} // held while a command (or a command sequence) runs
	done       chan struct{} // closed once the port is gone
	readerDone chan struct{}
	portOnce   sync.Once
	portErr    error

	mu   sync.Mutex // guards what follows, shared by the reader and callers
	err  error      // why the port is gone; non-nil once done is closed
	cur  *call      // the command whose response the reader is collecting
	inds []*indication

	pending *pendingIndication // only touched by the reader
}

// New starts the reader on rw and does no other I/O. If rw is also an
// io.Closer, Close closes it and the Engine owns it; otherwise the caller
// must make rw's Read return (EOF or an error) to stop the reader.
func New(rw io.ReadWriter, cfg Config) *Engine {
	e := &Engine{
		rw:         rw,
		log:        cfg.Logger,
		other:      cfg.Unsolicited,
		sem:        make(chan struct{}, 1),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.other == nil {
		e.other = func(string) {}
	}
	if c, ok := rw.(io.Closer); ok {
		e.closer = c
	}
	for _, ind := range cfg.Indications {
		if err := e.AddIndication(ind); err != nil {
			e.log.Warn("at indication", "err", err)
		}
	}
	go e.readLoop()
	return e
}

// Close closes the port and, when the Engine owns it, waits for the reader.
// Pending and later calls return ErrClosed.
func (e *Engine) Close() error {
	e.fail(ErrClosed)
	err := e.closePort()
	if e.closer != nil {
		<-e.readerDone
	}
	return err
}

// Done is closed once the port is gone (EOF, read or write error, Close).
func (e *Engine) Done() <-chan struct{} { return e.done }

// Err returns why the port is gone, nil while it is open.
func (e *Engine) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

func (e *Engine) closePort() error {
	e.portOnce.Do(func() {
		if e.closer != nil {
			e.portErr = e.closer.Close()
		}
	})
	return e.portErr
}

// fail marks the port as gone and completes the pending call.
func (e *Engine) fail(cause error) {
	e.mu.Lock()
	if e.err != nil {
		e.mu.Unlock()
		return
	}
	e.err = cause
	if c := e.cur; c != nil && !c.finished {
		c.finish(e.closedErrLocked())
	}
	e.cur = nil
	close(e.done)
	e.mu.Unlock()
	if !errors.Is(cause, ErrClosed) {
		e.log.Debug("modem port gone", "err", cause)
	}
	// Closing unblocks the reader when the failure came from a write.
	_ = e.closePort()
}

func (e *Engine) closedErr() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closedErrLocked()
}

func (e *Engine) closedErrLocked() error {
	if e.err == nil || errors.Is(e.err, ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("%w (%w)", ErrClosed, e.err)
}

// trace logs raw traffic at debug, except what a Request.Redact command
// writes and reads after its prompt, of which it logs the length only.
func (e *Engine) trace(dir string, p []byte) {
	if !e.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	if e.redacting() {
		e.log.Debug("at "+dir, "redacted_bytes", len(p))
		return
	}
	// Escaped here so that control characters (ESC, Ctrl-Z, CR) never
	// reach a log sink raw, whatever the handler.
	q := strconv.Quote(string(p))
	e.log.Debug("at "+dir, "data", q[1:len(q)-1])
}

// redacting reports whether the command in flight is a redacted one past
// its prompt: its PDU is being written or echoed.
func (e *Engine) redacting() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.cur
	return c != nil && c.redact && c.prompted && !c.finished
}

// Write writes s as it is (ESC to abort a stale prompt, a wake-up "AT").
// The caller holds the line.
func (e *Engine) Write(s string) error {
	e.trace("tx", []byte(s))
	if _, err := io.WriteString(e.rw, s); err != nil {
		e.fail(fmt.Errorf("write: %w", err))
		return e.closedErr()
	}
	return nil
}

// Lock takes the command line; hold it across a command sequence that must
// not be interleaved (a storage switch, a read, the switch back).
func (e *Engine) Lock(ctx context.Context) error {
	select {
	case <-e.done:
		return e.closedErr()
	default:
	}
	select {
	case e.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-e.done:
		return e.closedErr()
	}
}

// Unlock releases the command line taken by Lock.
func (e *Engine) Unlock() { <-e.sem }
