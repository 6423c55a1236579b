package kannel

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// Kannel's answers to /cgi-bin/sendsms (gw/smsbox.c), byte for byte.
const (
	answerAccepted    = "0: Accepted for delivery"
	answerQueued      = "3: Queued for later delivery"
	answerTemporal    = "Temporal failure, try again later."
	answerNotRoutable = "Not routable. Do not try again."
	answerAuth        = "Authorization failed for sendsms"
	answerNoReceiver  = "Missing receiver number, rejected"
	answerEmptyRecv   = "Empty receiver number not allowed, rejected"
	answerDenied      = "Number(s) has/have been denied by white- and/or black-lists."
	answerUDH         = "UDH field misformed, rejected"
	answerUDHLong     = "UDH field is too long, rejected"
	answerDLRURL      = "DLR-URL field misformed, rejected"
	answerDLRMask     = "DLR-Mask field misformed, rejected"
	answerMClass      = "MClass field misformed, rejected"
	answerCoding      = "Coding field misformed, rejected"
	answerValidity    = "Validity field misformed, rejected"
	answerDeferred    = "Deferred field misformed, rejected"
	answerPriority    = "Priority field misformed, rejected"
	answerCharset     = "Charset or body misformed, rejected"
)

// answer is a status and Kannel's text for it.
type answer struct {
	status int
	text   string
	// retryAfter, when set, is sent as Retry-After (a per-key limit).
	retryAfter time.Duration
}

func reject(text string) *answer    { return &answer{status: http.StatusBadRequest, text: text} }
func forbidden(text string) *answer { return &answer{status: http.StatusForbidden, text: text} }

// reply writes a as Kannel does: text/html, the text alone, no newline.
func reply(c echo.Context, a *answer) error {
	h := c.Response().Header()
	if a.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((a.retryAfter+time.Second-1)/time.Second)))
	}
	return c.Blob(a.status, "text/html", []byte(a.text))
}
