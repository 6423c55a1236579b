package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/web/internal/problem"
)

// HeaderIdempotencyKey is the request header that makes a retried POST
// /api/v1/messages safe (IETF httpapi Idempotency-Key draft).
const HeaderIdempotencyKey = "Idempotency-Key"

const (
	headerIdempotentReplayed  = "Idempotent-Replayed"
	maxIdempotencyKeyLen      = 255
	defaultPageSize           = 50
	maxPageSize               = 500
	maxTTLSeconds             = math.MaxInt64 / int64(time.Second)
	errTTLFormat              = `must be whole seconds (3600) or a duration ("1h", "90m", "45s")`
	errSendAtFormat           = `must be an RFC 3339 time ("2026-01-02T15:04:05Z")`
	errMessageStatusParameter = "must be one of queued, sending, sent, delivered, failed, expired, canceled"
)

// Reasons a ttl is refused, as the errors list shows them.
var (
	errTTL         = errors.New(errTTLFormat)
	errTTLNegative = errors.New("must not be negative")
	errTTLTooLong  = errors.New("is too long")
)

// sendRequest is the body of POST /api/v1/messages with ttl and send_at
// parsed.
type sendRequest struct {
	apiv1.SendRequest

	ttl    time.Duration
	sendAt time.Time
	data   []byte // Data decoded; nil for a text
}

// Valid checks what the gateway cannot see once the request is decoded,
// parsing ttl and send_at on the way; the gateway checks the rest (number,
// priority, modem, lengths).
func (r *sendRequest) Valid(context.Context) map[string]string {
	problems := make(map[string]string)
	if strings.TrimSpace(r.To) == "" {
		problems["to"] = "is required"
	}
	r.validContent(problems)
	if ttl, err := parseTTL(r.TTL); err != nil {
		problems["ttl"] = err.Error()
	} else {
		r.ttl = ttl
	}
	if r.SendAt != "" {
		t, err := time.Parse(time.RFC3339Nano, r.SendAt)
		if err != nil {
			problems["send_at"] = errSendAtFormat
		}
		r.sendAt = t
	}
	return problems
}

// validContent checks text or data and the port, decoding data.
func (r *sendRequest) validContent(problems map[string]string) {
	switch {
	case r.Text != "" && r.Data != "":
		problems["data"] = "and text exclude each other; give one"
	case r.Data != "":
		b, err := decodeBase64(r.Data)
		if err != nil {
			problems["data"] = "must be base64 (RFC 4648)"
		}
		r.data = b
	case r.Text == "":
		problems["text"] = "is required (or data)"
	}
	if r.Port != nil && (*r.Port < 0 || *r.Port > 0xFFFF) {
		problems["port"] = "must be from 0 to 65535"
	}
}

// decodeBase64 reads base64 in the standard or URL alphabet, with or
// without padding, as clients write it.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// parseTTL reads the ttl field: seconds as a JSON integer or a string, or a
// Go duration string. null is no ttl.
func parseTTL(raw json.RawMessage) (time.Duration, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, errTTL
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, nil
		}
		if !isAllDigits(strings.TrimPrefix(s, "-")) {
			d, err := time.ParseDuration(s)
			if err != nil {
				return 0, errTTL
			}
			if d < 0 {
				return 0, errTTLNegative
			}
			return d, nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil && strings.HasPrefix(s, "-"):
		return 0, errTTLNegative
	case err != nil:
		return 0, errTTL
	case n < 0:
		return 0, errTTLNegative
	case n > maxTTLSeconds:
		return 0, errTTLTooLong
	}
	return time.Duration(n) * time.Second, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAllDigits(s string) bool {
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// bodyHash identifies the request for idempotency. It hashes the decoded
// fields, not the bytes, so a retry that serialises the same request with
// other spacing or key order is still the same request.
func (r *sendRequest) bodyHash() string {
	sr := true
	if r.StatusReport != nil {
		sr = *r.StatusReport
	}
	var sendAt int64
	if !r.sendAt.IsZero() {
		sendAt = r.sendAt.UnixNano()
	}
	fields := []any{r.To, r.Text, r.Priority, r.Modem, sr, int64(r.ttl), sendAt}
	if r.data != nil || r.Port != nil || r.Flash {
		// Only then: a text request hashes as it always did.
		fields = append(fields, r.data, r.Port, r.Flash)
	}
	canon, _ := json.Marshal(fields)
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:])
}

type sender interface {
	Send(ctx context.Context, r gateway.SendRequest) (*gateway.Message, bool, error)
}

// handleSend queues a message. The answer is 202 once the message is
// committed; a replay of an Idempotency-Key gets the same answer the first
// request got (status "queued", whatever happened since) and the header
// Idempotent-Replayed: true. GET the message for where it is now.
func handleSend(svc sender) echo.HandlerFunc {
	return func(c echo.Context) error {
		idemKey := c.Request().Header.Get(HeaderIdempotencyKey)
		if len(idemKey) > maxIdempotencyKeyLen || !printableASCII(idemKey) {
			return problem.BadRequest("the Idempotency-Key header must be at most 255 printable ASCII characters",
				apiv1.FieldError{Field: HeaderIdempotencyKey, Reason: "must be at most 255 printable ASCII characters"})
		}
		var req sendRequest
		if err := decodeJSON(c, &req.SendRequest); err != nil {
			return err
		}
		if problems := req.Valid(c.Request().Context()); len(problems) > 0 {
			return problem.Invalid(problem.Fields(problems)...)
		}
		var ports *gateway.Ports
		if req.Port != nil {
			ports = &gateway.Ports{Dest: *req.Port}
		}
		m, replayed, err := svc.Send(c.Request().Context(), gateway.SendRequest{
			To:             req.To,
			Text:           req.Text,
			Data:           req.data,
			Ports:          ports,
			Flash:          req.Flash,
			Priority:       req.Priority,
			Modem:          req.Modem,
			StatusReport:   req.StatusReport,
			TTL:            req.ttl,
			SendAt:         req.sendAt,
			APIKey:         KeyName(c),
			OwnerKey:       callerOf(c).KeyID,
			IdempotencyKey: idemKey,
			BodyHash:       req.bodyHash(),
		})
		if err != nil {
			return retryAfter(c, fmt.Errorf("send: %w", err))
		}
		status := string(m.Status)
		if replayed {
			c.Response().Header().Set(headerIdempotentReplayed, "true")
			status = string(gateway.StatusQueued)
		}
		return c.JSON(http.StatusAccepted, apiv1.SendResponse{
			ID:       m.ID,
			Status:   status,
			To:       m.To,
			Segments: m.Segments,
			Encoding: m.Encoding,
		})
	}
}

func printableASCII(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// newMessageJSON is m as GET, DELETE and the list show it.
func newMessageJSON(m *gateway.Message) apiv1.Message {
	out := apiv1.Message{
		ID:           m.ID,
		Status:       string(m.Status),
		To:           m.To,
		Text:         m.Text,
		TextPurged:   !m.TextPurgedAt.IsZero(),
		Data:         m.Data,
		Flash:        m.Flash,
		Segments:     m.Segments,
		Encoding:     m.Encoding,
		Modem:        optString(m.Modem),
		Route:        m.Route,
		Priority:     priorityName(m.Priority),
		StatusReport: m.StatusReport,
		CreatedAt:    optTime(m.CreatedAt),
		SendAt:       optTime(m.SendAt),
		ExpiresAt:    optTime(m.ExpiresAt),
		SentAt:       optTime(m.SentAt),
		DeliveredAt:  optTime(m.DeliveredAt),
		Error:        m.Error,
		Parts:        make([]apiv1.Part, 0, len(m.Parts)),
	}
	if m.Ports != nil {
		port := m.Ports.Dest
		out.Port = &port
	}
	for _, p := range m.Parts {
		pj := apiv1.Part{
			Index:       p.Index,
			Status:      string(p.Status),
			SentAt:      optTime(p.SentAt),
			DeliveredAt: optTime(p.DeliveredAt),
			Error:       p.Error,
		}
		if p.HasMR {
			mr := p.MR
			pj.MR = &mr
		}
		out.Parts = append(out.Parts, pj)
	}
	return out
}

func priorityName(p gateway.Priority) string {
	switch p {
	case gateway.PriorityHigh:
		return "high"
	case gateway.PriorityLow:
		return "low"
	}
	return "normal"
}

// optTime is t in UTC, or nil (JSON null) when it has not happened.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type messageGetter interface {
	Message(ctx context.Context, id string) (*gateway.Message, error)
}

// ownMessage is message id when the caller owns it (or is admin); another
// key's message is not found, as if it did not exist.
func ownMessage(c echo.Context, svc messageGetter, id string) (*gateway.Message, error) {
	m, err := svc.Message(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	if !callerOf(c).Owns(m.OwnerKey) {
		return nil, fmt.Errorf("message %s of another key: %w", id, gateway.ErrNotFound)
	}
	return m, nil
}

func handleGetMessage(svc messageGetter) echo.HandlerFunc {
	return func(c echo.Context) error {
		m, err := ownMessage(c, svc, c.Param("id"))
		if err != nil {
			return fmt.Errorf("get message: %w", err)
		}
		return c.JSON(http.StatusOK, newMessageJSON(m))
	}
}

type canceler interface {
	messageGetter
	Cancel(ctx context.Context, id string) (*gateway.Message, error)
}

// handleCancelMessage cancels a queued message and answers with it; 409
// once it is sending or final. The owner never changes, so looking first
// and canceling after is safe.
func handleCancelMessage(svc canceler) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !callerOf(c).Admin {
			if _, err := ownMessage(c, svc, c.Param("id")); err != nil {
				return fmt.Errorf("cancel message: %w", err)
			}
		}
		m, err := svc.Cancel(c.Request().Context(), c.Param("id"))
		if err != nil {
			return fmt.Errorf("cancel message: %w", err)
		}
		return c.JSON(http.StatusOK, newMessageJSON(m))
	}
}

type messageLister interface {
	Messages(ctx context.Context, f gateway.MessageFilter) ([]*gateway.Message, string, error)
}

func handleListMessages(svc messageLister) echo.HandlerFunc {
	return func(c echo.Context) error {
		var fields []apiv1.FieldError
		f := gateway.MessageFilter{
			To:     queryNumber(c.QueryParam("to")),
			Cursor: c.QueryParam("cursor"),
			Owner:  callerOf(c).OwnerFilter(),
		}
		if s := c.QueryParam("status"); s != "" {
			if !knownStatus(gateway.Status(s)) {
				fields = append(fields, apiv1.FieldError{Field: "status", Reason: errMessageStatusParameter})
			}
			f.Status = gateway.Status(s)
		}
		limit, ferr := pageSize(c.QueryParam("limit"))
		if ferr != nil {
			fields = append(fields, *ferr)
		}
		f.Limit = limit
		if len(fields) > 0 {
			return problem.BadRequest("invalid query parameters", fields...)
		}
		msgs, next, err := svc.Messages(c.Request().Context(), f)
		if err != nil {
			return fmt.Errorf("list messages: %w", err)
		}
		out := apiv1.MessageList{Messages: make([]apiv1.Message, 0, len(msgs)), NextCursor: optString(next)}
		for _, m := range msgs {
			out.Messages = append(out.Messages, newMessageJSON(m))
		}
		return c.JSON(http.StatusOK, out)
	}
}

// queryNumber undoes the commonest client slip: an unescaped "+" in
// ?to=+12025550123 reaches us as a space.
func queryNumber(s string) string {
	if rest, ok := strings.CutPrefix(s, " "); ok && isAllDigits(rest) {
		return "+" + rest
	}
	return strings.TrimSpace(s)
}

func knownStatus(s gateway.Status) bool {
	switch s {
	case gateway.StatusQueued, gateway.StatusSending, gateway.StatusSent, gateway.StatusDelivered,
		gateway.StatusFailed, gateway.StatusExpired, gateway.StatusCanceled:
		return true
	}
	return false
}

// pageSize reads limit: 1–500, 50 when absent.
func pageSize(s string) (int, *apiv1.FieldError) {
	if s == "" {
		return defaultPageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxPageSize {
		return 0, &apiv1.FieldError{Field: "limit", Reason: fmt.Sprintf("must be an integer from 1 to %d", maxPageSize)}
	}
	return n, nil
}
