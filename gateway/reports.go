package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/simgate/simgate/pdu"
)

// report matches a decoded SMS-STATUS-REPORT to the part it answers
// (at-pdu.md §3.3): by modem, TP-MR and recipient, the newest open part
// within the report window, since the 8-bit MR wraps. A report nobody
// waits for (unknown MR, a duplicate after the part went final, a part
// sent before the database was reset) is normal and only noted at debug.
func (r *receiver) report(ctx context.Context, imei string, m *pdu.Message) error {
	if m.Status == nil {
		return fmt.Errorf("status report without TP-ST")
	}
	rep := Report{
		Modem:     imei,
		MR:        m.MR,
		Recipient: m.Recipient.Number,
		Code:      int(m.Status.Code),
		Class:     string(m.Status.Class),
		At:        r.clock.Now(),
		Window:    r.window,
	}
	msg, err := r.store.ApplyReport(ctx, rep)
	if errors.Is(err, ErrNotFound) {
		r.log.Debug("status report matches no part", "modem", imei, "mr", rep.MR,
			"recipient", MaskNumber(rep.Recipient), "status", rep.Code)
		return nil
	}
	if err != nil {
		return fmt.Errorf("apply report mr %d: %w", rep.MR, err)
	}
	r.log.Debug("status report applied", "modem", imei, "mr", rep.MR, "message_id", msg.ID,
		"report_class", rep.Class, "status", string(msg.Status))
	if r.onReport != nil {
		r.onReport(ctx, msg)
	}
	return nil
}
