package web

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/web/api"
	"github.com/simgate/simgate/web/internal/problem"
)

// ctxRequestID is the key of the request id in the echo.Context.
const ctxRequestID = "simgate.request_id"

// maxLoggedQueryParams bounds what a request with a huge query string can
// make the log say.
const maxLoggedQueryParams = 8

func requestIDOf(c echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

// routeOf is the route pattern that matched, or "unmatched": labels stay
// few whatever paths clients try.
func (s *Server) routeOf(c echo.Context) string {
	if p := c.Path(); s.routes[p] {
		return p
	}
	return "unmatched"
}

// requestID keeps the caller's X-Request-Id when it is short and plain (a
// proxy's id ties the logs together) and makes one otherwise.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !plainID(id) {
			id = rand.Text()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		c.Set(ctxRequestID, id)
		return next(c)
	}
}

func plainID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return false
		}
	}
	return true
}

// quietRoutes are logged at debug when they succeed: health probes hit them
// every few seconds and the status page polls them.
var quietRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true, "/live": true, "/try/phone": true}

// observe handles the error of the chain below it, so that the status is
// final, then logs the request and counts it. It is the only access log.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		latency := time.Since(start)
		req := c.Request()
		route := s.routeOf(c)
		status := c.Response().Status
		method := methodLabel(req.Method)
		s.metrics.observe(method, route, status, latency)

		level := slog.LevelInfo
		if quietRoutes[route] && status < 400 {
			// Probes and the status page's own polling would bury the
			// requests an admin wants to read.
			level = slog.LevelDebug
		}
		if !s.logger.Enabled(req.Context(), level) {
			return nil
		}
		attrs := make([]slog.Attr, 0, 9)
		attrs = append(attrs,
			slog.String("method", method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Duration("latency", latency),
			slog.String("request_id", requestIDOf(c)),
		)
		if name := api.KeyName(c); name != "" {
			attrs = append(attrs, slog.String("api_key", name))
		}
		if route == "unmatched" {
			attrs = append(attrs, slog.String("path", problem.Clip(maskPhones(req.URL.Path))))
		}
		if q := queryAttr(req.URL.RawQuery); q.Key != "" {
			attrs = append(attrs, q)
		}
		s.logger.LogAttrs(req.Context(), level, "http request", attrs...)
		return nil
	}
}

// queryAttr is the query string's parameter names, each with its value
// redacted: a value may be a phone number, a text searched for, a token
// (a webhook receiver's, a misplaced CSRF token or key) — none of which
// belongs in a log. The names say what kind of request it was.
func queryAttr(raw string) slog.Attr {
	if raw == "" {
		return slog.Attr{}
	}
	q, _ := url.ParseQuery(raw) // the handler reports a malformed query; the log shows what parsed
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) > maxLoggedQueryParams {
		keys = keys[:maxLoggedQueryParams]
	}
	attrs := make([]any, 0, len(keys))
	for _, k := range keys {
		v := ""
		if q.Get(k) != "" {
			v = redacted
		}
		attrs = append(attrs, slog.String(problem.Clip(maskPhones(k)), v))
	}
	return slog.Group("query", attrs...)
}

// redacted stands for a query value in the log.
const redacted = "[redacted]"

// methodLabel keeps the metrics' method label to the methods that exist.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// panicError is a panic turned into an error, with the stack for the log.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// recoverPanic turns a handler's panic into a 500 so that one bad request
// does not take the process down. http.ErrAbortHandler is the handler's way
// to drop the connection and keeps going up.
func (s *Server) recoverPanic() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				r := recover()
				if r == nil {
					return
				}
				if r == http.ErrAbortHandler {
					panic(r)
				}
				stack := make([]byte, 8<<10)
				err = &panicError{value: r, stack: stack[:runtime.Stack(stack, false)]}
			}()
			return next(c)
		}
	}
}

// limitBody refuses a body whose declared length is over limit before
// reading any of it, and cuts off one without a length (chunked) after limit
// bytes, so a 10 MB upload costs at most limit bytes of memory.
func limitBody(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				return problem.TooLarge(limit)
			}
			if req.Body != nil && req.Body != http.NoBody {
				// The underlying writer, so that the server closes the
				// connection instead of draining the rest.
				req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, limit)
			}
			return next(c)
		}
	}
}
