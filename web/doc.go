// Package web is simgate's HTTP server on echo v4: it composes the API
// (web/api) and the status page (web/ui) with the unauthenticated probes
// /healthz, /readyz and /metrics (routes.go), and owns what every request
// goes through: the request id, the access log and metrics, panic
// recovery, the body limit, and the one error handler that turns errors
// into RFC 9457 application/problem+json answers (problem.go) — the HTTP
// contract itself is described in package api.
//
// The request log (log/slog) has the method, route, status, latency,
// request id and API key name; phone numbers in the query or in an
// unmatched path are masked (+1202…0123) and message text is never logged.
package web
