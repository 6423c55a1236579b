package modem

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/simgate/simgate/modem/at"
)

// settleSend handles a send that ended in err. One that left the line out
// of step (no final result, no prompt, a final result before the prompt)
// resynchronises it at once, within the same hold of the line: ESC closes a
// prompt that may be open, and this send's late answer cannot be taken for
// the next command's. When the PDU had been written, what the modem printed
// meanwhile is this send's answer, the line having been in step before it:
// a late +CMGS is the part's MR (the SMS went out and must not go again), a
// late +CMS ERROR its refusal. With neither, nobody knows whether it went
// out: the error wraps ErrSendUnknown, and the caller's policy decides.
func (m *Modem) settleSend(ctx context.Context, cmd string, err error) (int, error) {
	if !m.eng.OutOfStep() {
		return 0, fmt.Errorf("send pdu: %s: %w", cmd, err)
	}
	// Worth waiting for even when ctx ended (shutdown): the answer decides
	// whether the part goes again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 4*m.cfg.ResyncTimeout)
	defer cancel()
	stale, rerr := m.eng.Resync(rctx, 0, 0)
	if rerr != nil {
		m.log.Warn("modem out of step after a send", "err", rerr)
	}
	if !errors.Is(err, at.ErrPDUUnanswered) {
		return 0, fmt.Errorf("send pdu: %s: %w", cmd, err)
	}
	if _, ok := findLine(stale, "+CMGS:"); ok {
		mr, perr := parseCMGS(stale)
		if perr == nil {
			m.log.Warn("late +CMGS answer taken for the send that timed out", "mr", mr)
			return mr, nil
		}
	}
	for _, l := range stale {
		if arg, ok := cutPrefixFold(l, "+CMS ERROR:"); ok {
			code, text := parseErrorCode(arg, cmsTexts)
			return 0, fmt.Errorf("send pdu: %s: late answer: %w", cmd, CMSError{Code: code, Text: text})
		}
	}
	m.sendUnknown() // its answer may still come (late.go)
	return 0, fmt.Errorf("send pdu: %s: %w: %w", cmd, ErrSendUnknown, err)
}

// parseCMGS reads the <mr> of "+CMGS: <mr>[,<ackpdu>]".
func parseCMGS(lines []string) (int, error) {
	arg, ok := findLine(lines, "+CMGS:")
	if !ok {
		return 0, fmt.Errorf("no +CMGS line in %q: %w", lines, ErrCommandFailed)
	}
	f := splitFields(arg)
	mr, err := strconv.Atoi(f[0])
	if err != nil || mr < 0 || mr > 255 {
		return 0, fmt.Errorf("bad +CMGS %q: %w", arg, ErrCommandFailed)
	}
	return mr, nil
}
