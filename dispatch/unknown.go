package dispatch

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/simgate/simgate/gateway"
)

// A part whose outcome is unknown (gateway.ErrSendUnknown): the modem took
// the whole PDU and never answered, not even late while the driver brought
// the line back in step. It may have gone out; counting it failed would be
// a guess, and so would sending it again. The policy weighs what each
// mistake costs:
//
//   - High priority (the OTP lane): sent again. A code that arrives twice is
//     harmless, the same code both times; a code that never arrives blocks
//     a login. The message goes back to the queue at once, the attempt
//     counted (so a modem that never answers cannot loop it for ever), the
//     part not recorded; the worker pauses, as after any unanswered
//     command, so another modem may take it first. At the last attempt it
//     is not failed but settled as below: by then it went to the modem
//     MaxAttempts times.
//   - Normal and low priority (notifications, bulk): not sent again. A
//     duplicate costs money and annoys, and a modem that took the whole PDU
//     has most likely sent it. The part is recorded sent without an MR, its
//     error and the message's saying the outcome is unknown; the other
//     parts go on and the message ends sent. No report can match that part,
//     so a message that asked for reports stays sent, never delivered.
//
// Either way the message is never failed for an unknown outcome.

// resendUnknown says whether a part of m whose outcome is unknown is sent
// again (see above).
func resendUnknown(m *gateway.Message) bool { return m.Priority >= gateway.PriorityHigh }

// outcomeUnknown applies the policy to part of m; goOn is true when the
// worker carries on with the next part, else after says what it does.
func (w *worker) outcomeUnknown(ctx context.Context, m *gateway.Message, part int, err error, log *slog.Logger) (after step, goOn bool) {
	reason := fmt.Sprintf("part %d: %s", part, reasonOf(err))
	attempts := m.Attempts + 1
	if resendUnknown(m) && attempts < w.d.cfg.MaxAttempts {
		log.Warn("send outcome unknown, sending again", "part", part, "attempt", attempts, "reason", reason)
		return w.retry(ctx, m, w.d.clock.Now(), reason+"; sent again", true, stepPause), false
	}
	if resendUnknown(m) {
		reason = fmt.Sprintf("%s; not sent again after %d attempts", reason, attempts)
	} else {
		reason += "; not sent again, to avoid a duplicate"
	}
	log.Warn("send outcome unknown, recorded as sent", "part", part, "reason", reason)
	if err := w.d.store.PartUnknown(ctx, m.ID, part, w.imei, reason, w.d.clock.Now()); err != nil {
		log.Error("record part of unknown outcome", "part", part, "err", err)
		return stepPause, false
	}
	return stepNext, true
}
