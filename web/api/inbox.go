package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/web/internal/problem"
)

type inboxReader interface {
	Inbox(ctx context.Context, since time.Time, limit int) ([]*gateway.InboundMessage, error)
}

// handleInbox lists received messages; since (RFC 3339) keeps those
// received after it, limit is 1–500 (default 50).
func handleInbox(svc inboxReader) echo.HandlerFunc {
	return func(c echo.Context) error {
		var (
			fields []apiv1.FieldError
			since  time.Time
		)
		if s := c.QueryParam("since"); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				fields = append(fields, apiv1.FieldError{Field: "since", Reason: errSendAtFormat})
			}
			since = t
		}
		limit, ferr := pageSize(c.QueryParam("limit"))
		if ferr != nil {
			fields = append(fields, *ferr)
		}
		if len(fields) > 0 {
			return problem.BadRequest("invalid query parameters", fields...)
		}
		msgs, err := svc.Inbox(c.Request().Context(), since, limit)
		if err != nil {
			return fmt.Errorf("read inbox: %w", err)
		}
		out := apiv1.Inbox{Messages: make([]apiv1.InboxMessage, 0, len(msgs))}
		for _, m := range msgs {
			im := apiv1.InboxMessage{
				ID:         m.ID,
				From:       m.From,
				Text:       m.Text,
				Data:       m.Data,
				Flash:      m.Flash,
				TextPurged: !m.TextPurgedAt.IsZero(),
				ReceivedAt: optTime(m.ReceivedAt),
				Modem:      m.Modem,
				Parts:      m.Parts,
				Missing:    m.Missing,
				PDU:        m.RawPDU,
				Error:      m.DecodeError,
			}
			if p := m.Ports; p != nil {
				dest, src := p.Dest, p.Source
				im.Port, im.SourcePort = &dest, &src
			}
			out.Messages = append(out.Messages, im)
		}
		return c.JSON(http.StatusOK, out)
	}
}
