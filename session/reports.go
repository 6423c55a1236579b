package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/pdu"
)

// report matches a decoded SMS-STATUS-REPORT to the part it answers
// (at-pdu.md §3.3): by modem, TP-MR and recipient, the newest open part
// within the report window, since the 8-bit MR wraps. A report that
// matches nothing is an *unmatchedError.
func (r *receiver) report(ctx context.Context, imei string, m *pdu.Message) error {
	if m.Status == nil {
		return fmt.Errorf("status report without TP-ST")
	}
	rep := gateway.Report{
		Modem:     imei,
		MR:        m.MR,
		Recipient: m.Recipient.Number,
		Code:      int(m.Status.Code),
		Class:     string(m.Status.Class),
		At:        r.clock.Now(),
		Window:    r.window,
	}
	msg, err := r.store.ApplyReport(ctx, rep)
	if errors.Is(err, gateway.ErrNotFound) {
		return &unmatchedError{report: m}
	}
	if err != nil {
		return fmt.Errorf("apply report mr %d: %w", rep.MR, err)
	}
	r.log.Debug("status report applied", "modem", imei, "mr", rep.MR, "message_id", msg.ID,
		"report_class", rep.Class, "status", string(msg.Status))
	return nil
}

// unmatchedError is a status report that matched no part. It may have
// overtaken the dispatcher's commit of the part's MR (a fast SC answers
// within the +CMGS round trip), so the session tries it again a few times;
// after that it is one nobody waits for (unknown MR, a duplicate after the
// part went final, a part sent before the database was reset), which is
// normal and only noted at debug.
type unmatchedError struct {
	report *pdu.Message
	tries  int
	next   time.Time
}

func (e *unmatchedError) Error() string {
	return fmt.Sprintf("status report for mr %d matches no part", e.report.MR)
}

// reportRetries are the waits before each new try of an unmatched report.
var reportRetries = []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second, 10 * time.Second, 30 * time.Second}

// maxUnmatched bounds the reports a modem holds for another try.
const maxUnmatched = 256

// unmatchedReports holds one modem's reports waiting for another try.
type unmatchedReports struct {
	items []*unmatchedError
	timer *time.Timer
}

func newUnmatchedReports() *unmatchedReports {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &unmatchedReports{timer: t}
}

// C fires when the earliest held report is due.
func (u *unmatchedReports) C() <-chan time.Time { return u.timer.C }

// hold schedules e's next try, or drops it when its tries are spent.
func (u *unmatchedReports) hold(e *unmatchedError, now time.Time, log *slog.Logger, imei string) {
	if e.tries >= len(reportRetries) {
		log.Debug("status report matches no part", "modem", imei, "mr", e.report.MR,
			"recipient", gateway.MaskNumber(e.report.Recipient.Number), "status", int(e.report.Status.Code))
		return
	}
	e.next = now.Add(reportRetries[e.tries])
	e.tries++
	if len(u.items) >= maxUnmatched {
		u.items = u.items[1:]
	}
	u.items = append(u.items, e)
	u.arm(now)
}

// due removes and returns the reports due at now, and re-arms the timer.
func (u *unmatchedReports) due(now time.Time) []*unmatchedError {
	var due []*unmatchedError
	kept := u.items[:0]
	for _, e := range u.items {
		if !e.next.After(now) {
			due = append(due, e)
		} else {
			kept = append(kept, e)
		}
	}
	clear(u.items[len(kept):])
	u.items = kept
	u.arm(now)
	return due
}

func (u *unmatchedReports) arm(now time.Time) {
	u.timer.Stop()
	if len(u.items) == 0 {
		return
	}
	next := u.items[0].next
	for _, e := range u.items[1:] {
		if e.next.Before(next) {
			next = e.next
		}
	}
	u.timer.Reset(max(next.Sub(now), 0))
}

func (u *unmatchedReports) stop() { u.timer.Stop() }

// lateMRWindow bounds how long ago the part a late +CMGS answers may have
// been sent (the driver ties one within ten minutes of the send).
const lateMRWindow = 15 * time.Minute

// lateMR records the MR of a late +CMGS on the part whose outcome was
// unknown, so that its status report can match. An OTP's part of unknown
// outcome was sent again rather than recorded: then the SMS went out twice,
// which the OTP policy accepts (dispatch/unknown.go).
func (ss *modemSession) lateMR(ctx context.Context, mr int) {
	log := ss.s.log.With("modem", ss.info.IMEI, "mr", mr)
	id, part, err := ss.s.store.PartLateMR(ctx, ss.info.IMEI, mr, ss.s.clock.Now().Add(-lateMRWindow))
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		log.Info("a send of unknown outcome was answered late; no part waits for it (an OTP part is sent again instead)")
	case err != nil:
		log.Error("record a late +CMGS answer", "err", err)
	default:
		log.Info("a send of unknown outcome was answered late: it went out", "message_id", id, "part", part)
	}
}
