package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config tunes a Modem. The zero value is usable.
type Config struct {
	// Logger receives raw traffic at Debug and degraded-mode notes at Warn;
	// nil discards everything.
	Logger *slog.Logger
	// PIN is entered by Init when the SIM asks for it.
	PIN string
	// CommandTimeout bounds ordinary commands (default 10 s).
	CommandTimeout time.Duration
	// PromptTimeout bounds the wait for the "> " prompt of AT+CMGS (default 5 s).
	PromptTimeout time.Duration
	// SendTimeout bounds the wait for the +CMGS final result (default 60 s).
	SendTimeout time.Duration
	// ListTimeout bounds AT+CMGL and AT+COPS (default 30 s).
	ListTimeout time.Duration
	// Profile forces a vendor profile; nil detects it from AT+CGMI in Init.
	Profile *Profile
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = 10 * time.Second
	}
	if c.PromptTimeout <= 0 {
		c.PromptTimeout = 5 * time.Second
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 60 * time.Second
	}
	if c.ListTimeout <= 0 {
		c.ListTimeout = 30 * time.Second
	}
	return c
}

// escGuard is how long a command aborted with ESC waits for the final result
// the modem may still print, so that it is not taken for the next command's.
const escGuard = 500 * time.Millisecond

// Modem drives one modem over an AT command line. Its methods are safe for
// concurrent use; commands are sent one at a time.
type Modem struct {
	rw     io.ReadWriter
	closer io.Closer // non-nil when Close must close rw
	cfg    Config
	log    *slog.Logger

	sem        chan struct{} // held while a command (or a command sequence) runs
	ussdSem    chan struct{} // held for a USSD request and its +CUSD answer
	done       chan struct{} // closed once the port is gone
	closing    chan struct{} // closed by Close
	readerDone chan struct{}
	closeOnce  sync.Once
	portOnce   sync.Once
	portErr    error
	wg         sync.WaitGroup // pump and acker

	mu   sync.Mutex // guards what follows, shared by the reader and callers
	err  error      // why the port is gone; non-nil once done is closed
	cur  *call      // the command whose response the reader is collecting
	urc  *pendingURC
	ussd chan string // +CUSD lines for a waiting USSD call
	mem  string      // storage read by +CMGR/+CMGL (<mem1> of +CPMS)

	profile atomic.Pointer[Profile]
	needAck atomic.Bool // +CMT/+CDS must be acknowledged with +CNMA
	ackCh   chan struct{}

	evMu     sync.Mutex
	evQueue  []Event
	evSealed bool
	evSignal chan struct{}
	events   chan Event
}

// call is one command in flight. The reader fills it under Modem.mu.
type call struct {
	cmd      string
	prefixes []string // info-line prefixes that belong to the command ("+CSQ:")
	dial     bool     // NO CARRIER & co. are final results only for ATD/ATA
	echo     string   // the part of the echo still to swallow
	echoPDU  bool
	info     []string
	prompted bool
	prompt   chan struct{}
	done     chan struct{}
	err      error
	finished bool
}

func (c *call) finish(err error) {
	c.finished = true
	c.err = err
	close(c.done)
}

func (c *call) owns(prefix string) bool {
	for _, p := range c.prefixes {
		if strings.EqualFold(p, prefix) {
			return true
		}
	}
	return false
}

// New starts driving rw: it starts the reader and does no other I/O. If rw is
// also an io.Closer, Close closes it and the Modem owns it; otherwise the
// caller must make rw's Read return (EOF or an error) to stop the reader.
func New(rw io.ReadWriter, cfg Config) *Modem {
	cfg = cfg.withDefaults()
	m := &Modem{
		rw:         rw,
		cfg:        cfg,
		log:        cfg.Logger,
		sem:        make(chan struct{}, 1),
		ussdSem:    make(chan struct{}, 1),
		done:       make(chan struct{}),
		closing:    make(chan struct{}),
		readerDone: make(chan struct{}),
		ackCh:      make(chan struct{}, 64),
		evSignal:   make(chan struct{}, 1),
		events:     make(chan Event),
	}
	if c, ok := rw.(io.Closer); ok {
		m.closer = c
	}
	if cfg.Profile != nil {
		m.profile.Store(cfg.Profile.clone())
	}
	m.wg.Add(2)
	go m.pump()
	go m.acker()
	go m.readLoop()
	return m
}

// Close closes the port and waits for the Modem's goroutines. Pending and
// later calls return ErrClosed; Events is closed without delivering what is
// still queued.
func (m *Modem) Close() error {
	m.closeOnce.Do(func() { close(m.closing) })
	m.fail(ErrClosed)
	err := m.closePort()
	m.wg.Wait()
	if m.closer != nil {
		<-m.readerDone
	}
	return err
}

// Done is closed once the port is gone (EOF, read or write error, Close).
func (m *Modem) Done() <-chan struct{} { return m.done }

// Err returns why the port is gone, nil while it is open.
func (m *Modem) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// Events delivers URCs in the order the modem sent them. The reader never
// waits for the receiver: events queue without bound. The channel is closed
// after Done once the queue is drained, or at Close.
func (m *Modem) Events() <-chan Event { return m.events }

// Profile returns the vendor profile in use: Config.Profile, the one Init
// detected, or nil before Init.
func (m *Modem) Profile() *Profile {
	if p := m.profile.Load(); p != nil {
		return p.clone()
	}
	return nil
}

func (m *Modem) closePort() error {
	m.portOnce.Do(func() {
		if m.closer != nil {
			m.portErr = m.closer.Close()
		}
	})
	return m.portErr
}

// fail marks the port as gone, completes the pending call and stops the
// event queue from growing.
func (m *Modem) fail(cause error) {
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		return
	}
	m.err = cause
	close(m.done)
	if c := m.cur; c != nil && !c.finished {
		c.finish(m.closedErrLocked())
	}
	m.cur = nil
	m.mu.Unlock()

	m.evMu.Lock()
	m.evSealed = true
	m.evMu.Unlock()
	m.signalEvents()
	if !errors.Is(cause, ErrClosed) {
		m.log.Debug("modem port gone", "err", cause)
	}
	// Closing unblocks the reader when the failure came from a write.
	_ = m.closePort()
}

func (m *Modem) closedErr() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closedErrLocked()
}

func (m *Modem) closedErrLocked() error {
	if m.err == nil || errors.Is(m.err, ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("%w (%w)", ErrClosed, m.err)
}

func (m *Modem) trace(dir string, p []byte) {
	if m.log.Enabled(context.Background(), slog.LevelDebug) {
		// Escaped here so that control characters (ESC, Ctrl-Z, CR) never
		// reach a log sink raw, whatever the handler.
		q := strconv.Quote(string(p))
		m.log.Debug("at "+dir, "data", q[1:len(q)-1])
	}
}

func (m *Modem) write(s string) error {
	m.trace("tx", []byte(s))
	if _, err := io.WriteString(m.rw, s); err != nil {
		m.fail(fmt.Errorf("write: %w", err))
		return m.closedErr()
	}
	return nil
}

// lock takes the command line; it is held across a command sequence that
// must not be interleaved (CPMS switch, read, restore).
func (m *Modem) lock(ctx context.Context) error {
	select {
	case <-m.done:
		return m.closedErr()
	default:
	}
	select {
	case m.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-m.done:
		return m.closedErr()
	}
}

func (m *Modem) unlock() { <-m.sem }

// request is one command for exec.
type request struct {
	cmd      string        // "AT+CSQ"
	prefixes []string      // info prefixes; nil derives one from cmd
	timeout  time.Duration // for the final result
	pdu      string        // non-empty: AT+CMGS flow, written after the prompt
	prompt   time.Duration // prompt timeout for the AT+CMGS flow
}

// exec sends one command and collects its information lines. The caller
// holds the lock.
func (m *Modem) exec(ctx context.Context, r request) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.prefixes == nil {
		if p := commandPrefix(r.cmd); p != "" {
			r.prefixes = []string{p}
		}
	}
	c := &call{
		cmd:      r.cmd,
		prefixes: r.prefixes,
		dial:     isDial(r.cmd),
		echo:     r.cmd,
		prompt:   make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		return nil, m.closedErr()
	}
	m.cur = c
	m.mu.Unlock()

	// A line feed after AT+CMGS=<n> would become the first PDU character.
	term := "\r\n"
	if r.pdu != "" {
		term = "\r"
	}
	if err := m.write(r.cmd + term); err != nil {
		return nil, err
	}
	if r.pdu != "" {
		if err := m.awaitPrompt(ctx, c, r); err != nil {
			return nil, err
		}
		m.mu.Lock()
		c.echo, c.echoPDU = r.pdu, true
		m.mu.Unlock()
		if err := m.write(r.pdu + "\x1a"); err != nil {
			return nil, err
		}
	}
	timer := time.NewTimer(r.timeout)
	defer timer.Stop()
	select {
	case <-c.done:
		return c.info, c.err
	case <-c.prompt:
		// Only a raw command can get here: the AT+CMGS flow took its prompt.
		m.escape(c)
		return nil, fmt.Errorf("unexpected sms prompt (use SendPDU): %w", ErrCommandFailed)
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		return nil, ErrTimeout
	case <-m.done:
		return nil, m.closedErr()
	}
}

func (m *Modem) awaitPrompt(ctx context.Context, c *call, r request) error {
	timer := time.NewTimer(r.prompt)
	defer timer.Stop()
	select {
	case <-c.prompt:
		return nil
	case <-c.done:
		if c.err != nil {
			return c.err
		}
		return fmt.Errorf("final result before the prompt: %w", ErrPromptTimeout)
	case <-timer.C:
		m.escape(c)
		return ErrPromptTimeout
	case <-ctx.Done():
		m.escape(c)
		return ctx.Err()
	case <-m.done:
		return m.closedErr()
	}
}

// escape aborts a pending prompt with ESC and gives the modem a moment to
// print the final result of the aborted command, which c then absorbs.
func (m *Modem) escape(c *call) {
	if err := m.write("\x1b"); err != nil {
		return
	}
	t := time.NewTimer(escGuard)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
	case <-m.done:
	}
}

// run takes the lock and runs one command with the default timeout for it.
func (m *Modem) run(ctx context.Context, cmd string, prefixes ...string) ([]string, error) {
	if err := m.lock(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	defer m.unlock()
	return m.runLocked(ctx, cmd, prefixes...)
}

func (m *Modem) runLocked(ctx context.Context, cmd string, prefixes ...string) ([]string, error) {
	r := request{cmd: cmd, timeout: m.timeoutFor(cmd)}
	if len(prefixes) > 0 {
		r.prefixes = prefixes
	}
	info, err := m.exec(ctx, r)
	if err != nil {
		return info, fmt.Errorf("%s: %w", cmd, err)
	}
	return info, nil
}

func (m *Modem) timeoutFor(cmd string) time.Duration {
	u := strings.ToUpper(cmd)
	switch {
	case strings.HasPrefix(u, "AT+CMGL"), strings.HasPrefix(u, "AT+COPS"):
		return m.cfg.ListTimeout
	case strings.HasPrefix(u, "AT+CMGS"), strings.HasPrefix(u, "AT+CMSS"):
		return m.cfg.SendTimeout
	}
	return m.cfg.CommandTimeout
}

// Command sends a raw command ("AT" is prepended unless cmd starts with it)
// and returns its information lines. URCs are never among them: they go to
// Events. It is meant for the interactive console.
func (m *Modem) Command(ctx context.Context, cmd string) ([]string, error) {
	cmd = strings.TrimSpace(cmd)
	if len(cmd) < 2 || !strings.EqualFold(cmd[:2], "AT") {
		cmd = "AT" + cmd
	}
	return m.run(ctx, cmd)
}

// commandPrefix derives the information-line prefix of a command:
// "AT+CSQ" → "+CSQ:", "AT^ICCID?" → "^ICCID:", "ATI" → "".
func commandPrefix(cmd string) string {
	if len(cmd) < 3 || !strings.EqualFold(cmd[:2], "AT") {
		return ""
	}
	rest := cmd[2:]
	if !strings.ContainsRune("+^*$%#", rune(rest[0])) {
		return ""
	}
	end := strings.IndexAny(rest, "=?")
	if end < 0 {
		end = len(rest)
	}
	if end < 2 {
		return ""
	}
	return strings.ToUpper(rest[:end]) + ":"
}

func isDial(cmd string) bool {
	u := strings.ToUpper(cmd)
	return strings.HasPrefix(u, "ATD") || strings.HasPrefix(u, "ATA") || strings.HasPrefix(u, "ATO")
}

// readLoop is the only reader of the port.
func (m *Modem) readLoop() {
	defer close(m.readerDone)
	buf := make([]byte, 4096)
	var sp splitter
	for {
		n, err := m.rw.Read(buf)
		if n > 0 {
			m.trace("rx", buf[:n])
			sp.feed(buf[:n], m.handleLine, m.handlePrompt)
		}
		if err != nil {
			m.fail(fmt.Errorf("read: %w", err))
			return
		}
	}
}

// splitter cuts the byte stream into lines. The SMS prompt "> " has no line
// end, so a '>' at the start of a line is a token of its own.
type splitter struct {
	line []byte
}

const maxLine = 64 << 10

func (s *splitter) feed(p []byte, line func([]byte), prompt func()) {
	for _, b := range p {
		switch {
		case b == '\r' || b == '\n':
			if len(s.line) > 0 {
				line(s.line)
				s.line = s.line[:0]
			}
		case len(s.line) == 0 && b == '>':
			prompt()
		case len(s.line) == 0 && b == ' ':
			// Leading blanks, including the one after '>'.
		default:
			s.line = append(s.line, b)
			if len(s.line) >= maxLine {
				line(s.line)
				s.line = s.line[:0]
			}
		}
	}
}

// cleanLine drops control characters (the ^Z and ESC of a PDU echo) and
// surrounding blanks.
func cleanLine(b []byte) string {
	clean := true
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return strings.TrimSpace(string(b))
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c != 0x7f {
			out = append(out, c)
		}
	}
	return strings.TrimSpace(string(out))
}

func (m *Modem) handlePrompt() {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cur
	if c == nil || c.finished || c.prompted {
		m.log.Debug("at stray prompt")
		return
	}
	c.prompted = true
	c.echo = ""
	c.prompt <- struct{}{}
}

func (m *Modem) handleLine(b []byte) {
	s := cleanLine(b)
	if s == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()

	if p := m.urc; p != nil {
		m.urc = nil
		if p.takes(s) {
			m.finishURC(p, s)
			return
		}
		// The promised PDU line never came; report what we have.
		m.finishURC(p, "")
	}

	c := m.cur
	if c != nil && c.finished {
		c = nil
	}
	if c != nil && c.echo != "" && m.swallowEcho(c, s) {
		return
	}
	if c != nil {
		if err, ok := finalResult(s, c.dial); ok {
			c.finish(err)
			m.cur = nil
			return
		}
	} else if _, ok := finalResult(s, false); ok {
		m.log.Debug("at stray final result", "line", s)
		return
	}
	if m.routeURC(s, c) {
		return
	}
	if c != nil {
		c.echo = ""
		c.info = append(c.info, s)
		return
	}
	m.emit(Event{Kind: EventUnsolicited, Line: s})
}

// swallowEcho drops s when it is the echo of the command or PDU, or a
// fragment of it cut by a URC.
func (m *Modem) swallowEcho(c *call, s string) bool {
	if len(s) > len(c.echo) || !strings.EqualFold(c.echo[:len(s)], s) {
		return false
	}
	first := c.echo == c.cmd
	if first && !c.echoPDU && len(s) < len(c.echo) && (len(s) < 2 || !strings.EqualFold(s[:2], "AT")) {
		// An answer that merely looks like the start of the command.
		return false
	}
	c.echo = c.echo[len(s):]
	return true
}

// finalResult recognises final result codes (V.250 §5.7, TS 27.007 §9.2,
// TS 27.005 §3.2.5).
func finalResult(s string, dial bool) (error, bool) {
	switch s {
	case "OK":
		return nil, true
	case "ERROR":
		return ErrCommandFailed, true
	case "COMMAND NOT SUPPORT", "TOO MANY PARAMETERS":
		return fmt.Errorf("%w: %s", ErrCommandFailed, s), true
	}
	if arg, ok := cutPrefixFold(s, "+CME ERROR:"); ok {
		code, text := parseErrorCode(arg, cmeTexts)
		return CMEError{Code: code, Text: text}, true
	}
	if arg, ok := cutPrefixFold(s, "+CMS ERROR:"); ok {
		code, text := parseErrorCode(arg, cmsTexts)
		return CMSError{Code: code, Text: text}, true
	}
	if dial {
		switch s {
		case "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE":
			return fmt.Errorf("%w: %s", ErrCommandFailed, s), true
		}
		if strings.HasPrefix(s, "CONNECT") {
			return nil, true
		}
	}
	return nil, false
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}

func isHex(s string) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func (m *Modem) emit(e Event) {
	m.evMu.Lock()
	if !m.evSealed {
		m.evQueue = append(m.evQueue, e)
	}
	m.evMu.Unlock()
	m.signalEvents()
}

func (m *Modem) signalEvents() {
	select {
	case m.evSignal <- struct{}{}:
	default:
	}
}

// pump moves queued events to the Events channel, so a slow receiver never
// blocks the reader and events keep their order.
func (m *Modem) pump() {
	defer m.wg.Done()
	defer close(m.events)
	var batch []Event
	for {
		m.evMu.Lock()
		batch, m.evQueue = m.evQueue, batch[:0]
		sealed := m.evSealed
		m.evMu.Unlock()
		for i, e := range batch {
			select {
			case m.events <- e:
				batch[i] = Event{}
			case <-m.closing:
				return
			}
		}
		if len(batch) > 0 {
			continue
		}
		if sealed {
			return
		}
		select {
		case <-m.evSignal:
		case <-m.closing:
			return
		}
	}
}

// acker acknowledges +CMT/+CDS with AT+CNMA when the modem expects it
// (AT+CSMS=1), from its own goroutine because the reader must never wait
// for the command line.
func (m *Modem) acker() {
	defer m.wg.Done()
	for {
		select {
		case <-m.ackCh:
			ctx, cancel := context.WithTimeout(context.Background(), m.cfg.CommandTimeout)
			_, err := m.run(ctx, "AT+CNMA")
			cancel()
			if errors.Is(err, ErrClosed) {
				return
			}
			if err != nil {
				m.log.Warn("acknowledge sms", "err", err)
			}
		case <-m.done:
			return
		}
	}
}
