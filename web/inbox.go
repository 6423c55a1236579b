package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
)

// inboundJSON is a received SMS.
type inboundJSON struct {
	ID         string     `json:"id"`
	From       string     `json:"from"`
	Text       string     `json:"text"`
	ReceivedAt *time.Time `json:"received_at"`
	Modem      string     `json:"modem"`
	// Parts is how many SMS it was joined from; Missing, how many of them
	// never came (the text has a gap where they belong).
	Parts   int `json:"parts"`
	Missing int `json:"missing"`
}

type inboxResponse struct {
	Messages []inboundJSON `json:"messages"`
}

type inboxReader interface {
	Inbox(ctx context.Context, since time.Time, limit int) ([]*gateway.InboundMessage, error)
}

// handleInbox lists received messages; since (RFC 3339) keeps those
// received after it, limit is 1–500 (default 50).
func handleInbox(svc inboxReader) echo.HandlerFunc {
	return func(c echo.Context) error {
		var (
			fields []fieldError
			since  time.Time
		)
		if s := c.QueryParam("since"); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				fields = append(fields, fieldError{Field: "since", Reason: errSendAtFormat})
			}
			since = t
		}
		limit, ferr := pageSize(c.QueryParam("limit"))
		if ferr != nil {
			fields = append(fields, *ferr)
		}
		if len(fields) > 0 {
			return badRequest("invalid query parameters", fields...)
		}
		msgs, err := svc.Inbox(c.Request().Context(), since, limit)
		if err != nil {
			return fmt.Errorf("read inbox: %w", err)
		}
		out := inboxResponse{Messages: make([]inboundJSON, 0, len(msgs))}
		for _, m := range msgs {
			out.Messages = append(out.Messages, inboundJSON{
				ID:         m.ID,
				From:       m.From,
				Text:       m.Text,
				ReceivedAt: optTime(m.ReceivedAt),
				Modem:      m.Modem,
				Parts:      m.Parts,
				Missing:    m.Missing,
			})
		}
		return c.JSON(http.StatusOK, out)
	}
}
