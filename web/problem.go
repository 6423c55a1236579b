package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
)

// Problem types (RFC 9457 §3.1.1). They are stable: clients switch on them.
const (
	typeBlank         = "about:blank"
	typeBadRequest    = "urn:simgate:problem:bad-request"
	typeInvalidJSON   = "urn:simgate:problem:invalid-json"
	typeValidation    = "urn:simgate:problem:validation"
	typeTooLarge      = "urn:simgate:problem:body-too-large"
	typeUnauthorized  = "urn:simgate:problem:unauthorized"
	typeNotFound      = "urn:simgate:problem:not-found"
	typeConflict      = "urn:simgate:problem:conflict"
	typeIdempotency   = "urn:simgate:problem:idempotency-key-reused"
	typeInternal      = "urn:simgate:problem:internal"
	typeMediaType     = "urn:simgate:problem:unsupported-media-type"
	typeClientGone    = "urn:simgate:problem:client-closed-request"
	mimeProblemJSON   = "application/problem+json"
	statusClientGone  = 499 // nginx's, so that a client hanging up is not counted as a 5xx
	problemGeneric500 = "the server could not complete the request; it has been logged under this request_id"
)

// problem is an RFC 9457 problem details object. A handler returns one for
// a client error it detects itself; handleError writes it.
type problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail"`
	Errors    []fieldError `json:"errors,omitempty"`
	RequestID string       `json:"request_id,omitempty"`

	// invalidToken selects error="invalid_token" in WWW-Authenticate
	// (RFC 6750 §3.1): a key was given but is not valid.
	invalidToken bool
}

// fieldError names one field of the request and what is wrong with it.
type fieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (p *problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

func newProblem(status int, typ, detail string, fields ...fieldError) *problem {
	return &problem{Type: typ, Title: titleFor(status), Status: status, Detail: detail, Errors: fields}
}

// badRequest is a request the server cannot read: a query parameter, a
// header or a body of the wrong shape.
func badRequest(detail string, fields ...fieldError) *problem {
	return newProblem(http.StatusBadRequest, typeBadRequest, detail, fields...)
}

// invalid is a request that was read but whose fields are refused.
func invalid(fields ...fieldError) *problem {
	detail := "the request has invalid fields"
	if len(fields) == 1 {
		detail = fields[0].Field + ": " + fields[0].Reason
	}
	return newProblem(http.StatusUnprocessableEntity, typeValidation, detail, fields...)
}

// sortedFields turns a Valid map into an errors list in a stable order.
func sortedFields(m map[string]string) []fieldError {
	out := make([]fieldError, 0, len(m))
	for f, r := range m {
		out = append(out, fieldError{Field: f, Reason: r})
	}
	slices.SortFunc(out, func(a, b fieldError) int { return strings.Compare(a.Field, b.Field) })
	return out
}

func titleFor(status int) string {
	if status == statusClientGone {
		return "Client Closed Request"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Error"
}

// handleError is echo's HTTPErrorHandler: the one place where errors become
// HTTP statuses. Anything it does not recognise is a 500 with a generic
// detail, logged here and only here.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		// Part of the answer is already out; only the log can still tell.
		s.logger.LogAttrs(c.Request().Context(), slog.LevelWarn, "error after response started",
			slog.String("request_id", requestIDOf(c)), slog.String("error", err.Error()))
		return
	}
	p := s.problemFor(err, c)
	p.RequestID = requestIDOf(c)
	if p.Status == http.StatusUnauthorized {
		challenge := `Bearer realm="simgate"`
		if p.invalidToken {
			challenge += `, error="invalid_token"`
		}
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
	}
	if p.Status >= http.StatusInternalServerError && p.Status != http.StatusServiceUnavailable {
		attrs := []slog.Attr{
			slog.String("request_id", p.RequestID),
			slog.String("method", c.Request().Method),
			slog.String("route", s.routeOf(c)),
			slog.String("error", err.Error()),
		}
		var pe *panicError
		if errors.As(err, &pe) {
			attrs = append(attrs, slog.String("stack", string(pe.stack)))
		}
		s.logger.LogAttrs(c.Request().Context(), slog.LevelError, "request failed", attrs...)
	}

	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	body, mErr := json.Marshal(p)
	if mErr != nil {
		// A problem is strings and ints; this cannot happen.
		panic(fmt.Sprintf("web: marshal problem: %v", mErr))
	}
	// The client may be gone; there is no one left to tell.
	_ = c.Blob(p.Status, mimeProblemJSON, body)
}

func (s *Server) problemFor(err error, c echo.Context) *problem {
	var (
		p  *problem
		ve *gateway.ValidationError
		he *echo.HTTPError
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &ve):
		return invalid(fieldError{Field: ve.Field, Reason: ve.Reason})
	case errors.Is(err, gateway.ErrIdempotencyReused):
		return newProblem(http.StatusUnprocessableEntity, typeIdempotency,
			"this Idempotency-Key was already used with a different request; use a new key for a new request",
			fieldError{Field: headerIdempotencyKey, Reason: "already used with a different request"})
	case errors.Is(err, gateway.ErrInvalid):
		return newProblem(http.StatusUnprocessableEntity, typeValidation, "the request is invalid")
	case errors.Is(err, gateway.ErrNotFound):
		return newProblem(http.StatusNotFound, typeNotFound, "no such resource")
	case errors.Is(err, gateway.ErrConflict):
		return newProblem(http.StatusConflict, typeConflict, "the resource's current state does not allow this; a message can be canceled only while it is queued")
	case errors.Is(err, gateway.ErrUnauthorized):
		return newProblem(http.StatusUnauthorized, typeUnauthorized, "a valid API key is required")
	case errors.As(err, &he):
		return fromHTTPError(he)
	case errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil:
		return newProblem(statusClientGone, typeClientGone, "the client closed the request")
	}
	return newProblem(http.StatusInternalServerError, typeInternal, problemGeneric500)
}

// fromHTTPError turns echo's own errors (no route, wrong method) into
// problems. Their message is shown only below 500: above, it may carry
// internals.
func fromHTTPError(he *echo.HTTPError) *problem {
	typ := typeBlank
	switch he.Code {
	case http.StatusNotFound:
		typ = typeNotFound
	case http.StatusRequestEntityTooLarge:
		typ = typeTooLarge
	case http.StatusUnsupportedMediaType:
		typ = typeMediaType
	}
	p := newProblem(he.Code, typ, "")
	if he.Code >= http.StatusInternalServerError {
		p.Type, p.Detail = typeInternal, problemGeneric500
		return p
	}
	switch m := he.Message.(type) {
	case string:
		if m != http.StatusText(he.Code) {
			p.Detail = m
		}
	case error:
		p.Detail = m.Error()
	}
	if p.Detail == "" {
		switch he.Code {
		case http.StatusNotFound:
			p.Detail = "no such route"
		case http.StatusMethodNotAllowed:
			p.Detail = "the route does not take this method; the Allow header lists those it does"
		default:
			p.Detail = p.Title
		}
	}
	return p
}
