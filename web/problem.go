package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/web/api"
	"github.com/simgate/simgate/web/internal/problem"
)

// problemGeneric500 is the detail of every 500: the cause is in the log,
// under the request id.
const problemGeneric500 = "the server could not complete the request; it has been logged under this request_id"

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
	pe := s.problemFor(err, c)
	p := &pe.Body
	p.RequestID = requestIDOf(c)
	if p.Status == http.StatusUnauthorized {
		challenge := `Bearer realm="simgate"`
		if pe.InvalidToken {
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
		var panicked *panicError
		if errors.As(err, &panicked) {
			attrs = append(attrs, slog.String("stack", string(panicked.stack)))
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
	_ = c.Blob(p.Status, apiv1.MediaTypeProblem, body)
}

// storageFullRetry is the Retry-After, in seconds, of a request refused
// for a full disk.
const storageFullRetry = 30

// storeBusyRetry is the Retry-After, in seconds, of a request the
// database did not answer in time.
const storeBusyRetry = 2

func (s *Server) problemFor(err error, c echo.Context) *problem.Error {
	var (
		p  *problem.Error
		ve *gateway.ValidationError
		he *echo.HTTPError
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &ve):
		return problem.Invalid(apiv1.FieldError{Field: ve.Field, Reason: ve.Reason})
	case errors.Is(err, gateway.ErrIdempotencyReused):
		return problem.New(http.StatusUnprocessableEntity, apiv1.ProblemIdempotency,
			"this Idempotency-Key was already used with a different request; use a new key for a new request",
			apiv1.FieldError{Field: api.HeaderIdempotencyKey, Reason: "already used with a different request"})
	case errors.Is(err, gateway.ErrInvalid):
		return problem.New(http.StatusUnprocessableEntity, apiv1.ProblemValidation, "the request is invalid")
	case errors.Is(err, gateway.ErrNotFound):
		return problem.New(http.StatusNotFound, apiv1.ProblemNotFound, "no such resource")
	case errors.Is(err, gateway.ErrConflict):
		return problem.New(http.StatusConflict, apiv1.ProblemConflict, "the resource's current state does not allow this; a message can be canceled only while it is queued")
	case errors.Is(err, gateway.ErrStorageFull):
		// Nothing was accepted; the same request may go through once the
		// admin frees space.
		c.Response().Header().Set("Retry-After", strconv.Itoa(storageFullRetry))
		return problem.New(http.StatusServiceUnavailable, apiv1.ProblemStorageFull,
			"the gateway's disk is full: nothing was accepted; retry later")
	case errors.Is(err, gateway.ErrStoreBusy):
		c.Response().Header().Set("Retry-After", strconv.Itoa(storeBusyRetry))
		return problem.New(http.StatusServiceUnavailable, apiv1.ProblemStoreBusy,
			"the gateway's database did not answer in time: nothing was accepted; retry shortly")
	case errors.Is(err, gateway.ErrUnauthorized):
		return problem.New(http.StatusUnauthorized, apiv1.ProblemUnauthorized, "a valid API key is required")
	case errors.As(err, &he):
		return fromHTTPError(he)
	case errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil:
		return problem.New(problem.StatusClientGone, apiv1.ProblemClientGone, "the client closed the request")
	}
	return problem.New(http.StatusInternalServerError, apiv1.ProblemInternal, problemGeneric500)
}

// fromHTTPError turns echo's own errors (no route, wrong method) into
// problems. Their message is shown only below 500: above, it may carry
// internals.
func fromHTTPError(he *echo.HTTPError) *problem.Error {
	typ := apiv1.ProblemBlank
	switch he.Code {
	case http.StatusNotFound:
		typ = apiv1.ProblemNotFound
	case http.StatusRequestEntityTooLarge:
		typ = apiv1.ProblemTooLarge
	case http.StatusUnsupportedMediaType:
		typ = apiv1.ProblemMediaType
	}
	pe := problem.New(he.Code, typ, "")
	p := &pe.Body
	if he.Code >= http.StatusInternalServerError {
		p.Type, p.Detail = apiv1.ProblemInternal, problemGeneric500
		return pe
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
	return pe
}
