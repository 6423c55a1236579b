// Package problem is the server side of RFC 9457 problem details: an error
// a handler returns for a client error it detects itself, which the
// server's one error handler (package web) writes as
// application/problem+json. Packages web and web/api both make them; the
// body is apiv1.Problem.
package problem

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/simgate/simgate/apiv1"
)

// StatusClientGone is nginx's 499, so that a client hanging up is not
// counted as a 5xx.
const StatusClientGone = 499

// Error is a problem as a Go error.
type Error struct {
	// Body is what the client reads; the error handler adds RequestID.
	Body apiv1.Problem
	// InvalidToken selects error="invalid_token" in WWW-Authenticate
	// (RFC 6750 §3.1): a key was given but is not valid.
	InvalidToken bool
}

func (e *Error) Error() string { return e.Body.Error() }

// New is a problem with status, type and detail, and the fields at fault.
func New(status int, typ, detail string, fields ...apiv1.FieldError) *Error {
	return &Error{Body: apiv1.Problem{Type: typ, Title: Title(status), Status: status, Detail: detail, Errors: fields}}
}

// BadRequest is a request the server cannot read: a query parameter, a
// header or a body of the wrong shape.
func BadRequest(detail string, fields ...apiv1.FieldError) *Error {
	return New(http.StatusBadRequest, apiv1.ProblemBadRequest, detail, fields...)
}

// Invalid is a request that was read but whose fields are refused.
func Invalid(fields ...apiv1.FieldError) *Error {
	detail := "the request has invalid fields"
	if len(fields) == 1 {
		detail = fields[0].Field + ": " + fields[0].Reason
	}
	return New(http.StatusUnprocessableEntity, apiv1.ProblemValidation, detail, fields...)
}

// TooLarge is a body over limit bytes.
func TooLarge(limit int64) *Error {
	return New(http.StatusRequestEntityTooLarge, apiv1.ProblemTooLarge,
		fmt.Sprintf("the request body is larger than %d bytes", limit))
}

// Fields turns a map of field to reason into an errors list in a stable
// order.
func Fields(m map[string]string) []apiv1.FieldError {
	out := make([]apiv1.FieldError, 0, len(m))
	for f, r := range m {
		out = append(out, apiv1.FieldError{Field: f, Reason: r})
	}
	slices.SortFunc(out, func(a, b apiv1.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return out
}

// Title is the problem title for status.
func Title(status int) string {
	if status == StatusClientGone {
		return "Client Closed Request"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Error"
}

// Clip keeps a value the client sent short enough to quote in a detail or
// a log line.
func Clip(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
