package at

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Request is one command for Exec.
type Request struct {
	// Command is the command line without its terminator ("AT+CSQ").
	Command string
	// Prefixes are the information-line prefixes that belong to the command
	// ("+CSQ:"); nil derives one from Command, an empty slice claims none.
	Prefixes []string
	// Timeout bounds the wait for the final result; zero waits for ctx only.
	Timeout time.Duration
	// PDU, when set, is written after the "> " prompt and ended with Ctrl-Z
	// (the AT+CMGS flow of TS 27.005 §3.5.1).
	PDU string
	// PromptTimeout bounds the wait for the prompt; zero waits for ctx only.
	PromptTimeout time.Duration
	// Redact keeps the PDU out of the trace: from the prompt to the final
	// result, what is written and read (the PDU, its echo) is traced as
	// its length only. For a PDU whose text is a secret (a one-time code).
	Redact bool
	// Force sends the command even when the line is out of step, without
	// resynchronising first: the way to reset (AT+CFUN=1,1) a modem that
	// answers no marker. The line stays out of step.
	Force bool
}

// call is one command in flight. The reader fills it under Engine.mu.
type call struct {
	cmd      string
	prefixes []string // info-line prefixes that belong to the command ("+CSQ:")
	dial     bool     // NO CARRIER & co. are final results only for ATD/ATA
	echo     string   // the part of the echo still to swallow
	echoPDU  bool
	redact   bool // Request.Redact
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

// Exec sends one command and returns its information lines. The caller
// holds the line (Lock). A failing final result comes back as
// ErrCommandFailed or a ResultError; an unexpected "> " prompt is aborted
// with ESC and fails the command. When an earlier call left the line out of
// step, Exec resynchronises it first (Resync) and fails without sending when
// that fails.
func (e *Engine) Exec(ctx context.Context, r Request) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if e.OutOfStep() && !r.Force {
		stale, err := e.Resync(ctx, 0, 0)
		if err != nil {
			return nil, fmt.Errorf("before %s: %w", r.Command, err)
		}
		if len(stale) > 0 {
			e.log.Debug("at stale lines drained", "lines", stale)
		}
	}
	if r.Prefixes == nil {
		if p := commandPrefix(r.Command); p != "" {
			r.Prefixes = []string{p}
		}
	}
	c := &call{
		cmd:      r.Command,
		prefixes: r.Prefixes,
		dial:     isDial(r.Command),
		redact:   r.Redact,
		echo:     r.Command,
		prompt:   make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	e.mu.Lock()
	if e.err != nil {
		e.mu.Unlock()
		return nil, e.closedErr()
	}
	e.cur = c
	e.mu.Unlock()

	// A line feed after AT+CMGS=<n> would become the first PDU character.
	term := "\r\n"
	if r.PDU != "" {
		term = "\r"
	}
	if err := e.Write(r.Command + term); err != nil {
		return nil, err
	}
	if r.PDU != "" {
		if err := e.awaitPrompt(ctx, c, r.PromptTimeout); err != nil {
			return nil, err
		}
		e.mu.Lock()
		c.echo, c.echoPDU = r.PDU, true
		e.mu.Unlock()
		if err := e.Write(r.PDU + "\x1a"); err != nil {
			return nil, err
		}
	}
	return e.awaitResult(ctx, c, r)
}

// awaitResult waits for the final result of c. A call that ends without it
// leaves the line out of step; after a PDU, the error also wraps
// ErrPDUUnanswered and ESC is written in case the modem still waits for
// PDU characters.
func (e *Engine) awaitResult(ctx context.Context, c *call, r Request) ([]string, error) {
	var timeout <-chan time.Time // nil: wait for ctx only
	if r.Timeout > 0 {
		t := time.NewTimer(r.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	unanswered := func(err error) error {
		select {
		case <-c.done: // the answer won the race after all
			return nil
		default:
		}
		e.abandon(c, r.PDU != "")
		if r.PDU != "" {
			return fmt.Errorf("%w: %w", ErrPDUUnanswered, err)
		}
		return err
	}
	select {
	case <-c.done:
		return c.info, c.err
	case <-c.prompt:
		// Only a command without PDU can get here: the PDU flow took its prompt.
		e.abandon(c, true)
		return nil, fmt.Errorf("unexpected sms prompt: %w", ErrCommandFailed)
	case <-ctx.Done():
		if err := unanswered(ctx.Err()); err != nil {
			return nil, err
		}
	case <-timeout:
		if err := unanswered(ErrTimeout); err != nil {
			return nil, err
		}
	case <-e.done:
		return nil, e.closedErr()
	}
	return c.info, c.err
}

func (e *Engine) awaitPrompt(ctx context.Context, c *call, d time.Duration) error {
	var timeout <-chan time.Time // nil: wait for ctx only
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-c.prompt:
		return nil
	case <-c.done:
		if c.err != nil {
			return c.err // the modem refused the command
		}
		// An OK cannot answer AT+CMGS before its PDU: it is a late answer
		// to something else, and the prompt may still come.
		e.abandon(c, true)
		return fmt.Errorf("final result before the prompt: %w", ErrPromptTimeout)
	case <-timeout:
		e.abandon(c, true)
		return ErrPromptTimeout
	case <-ctx.Done():
		e.abandon(c, true)
		return ctx.Err()
	case <-e.done:
		return e.closedErr()
	}
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
