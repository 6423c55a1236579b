// Package api is simgate's HTTP API v1 on echo v4: sending and canceling
// messages, reading them back, the inbox, the modems, OTP and webhooks.
// routes.go lists its routes; the bodies are package apiv1's types;
// openapi.json describes both (OpenAPI 3.1, served at /api/v1/openapi.json). The
// server around it (package web) owns the middleware and the one error
// handler that writes the problems these handlers return.
//
// It implements, as far as the API needs them:
//   - RFC 9110 (HTTP semantics) for statuses, Allow and Content-Type;
//   - RFC 9457 (problem details): every error is application/problem+json,
//     {type, title, status, detail, errors?, request_id}, produced in one
//     place, the echo HTTPErrorHandler; type is a URN of the form
//     "urn:simgate:problem:<name>" that clients may switch on, or
//     "about:blank" when the status says it all;
//   - RFC 6750 (bearer tokens): "Authorization: Bearer <key>" on /api/v1,
//     answered with 401 and WWW-Authenticate when missing or wrong;
//   - RFC 3339 for every time, in and out; times are written in UTC;
//   - the IETF httpapi Idempotency-Key header draft for POST /api/v1/messages:
//     a retry with the same key and the same request is answered 202 with the
//     original answer (status "queued") and "Idempotent-Replayed: true"; the
//     same key with another request is 422. "The same request" compares the
//     decoded fields, so spacing and key order do not matter.
//
// Statuses: 400 for a request that cannot be read (malformed or mistyped
// JSON, unknown fields, a key given twice, a field name in another case, a
// lone surrogate escape, bad query parameters or headers), 413 for a body
// over Config.MaxBodyBytes, 415 for a body that is not JSON, 422 for fields
// that were read but are refused, 404, 409 (cancel of a message no longer
// queued), 401, 403 for a key without the route's scope (each route
// declares one, routes.go; docs/SECURITY.md), 429 with Retry-After for a
// key over its send rate or daily quota, and 500 with a generic detail for
// anything else (logged once, under the request id the answer carries).
//
// POST /api/v1/messages takes ttl as a JSON integer of seconds (3600), or a
// string holding seconds ("3600") or a Go duration ("90m", "1h30m"); 0 or
// absent means no expiry. send_at is an RFC 3339 time.
//
// JSON conventions: field names are snake_case; a value that does not exist
// yet (a time that has not happened, a modem not assigned, a TP-MR not
// answered, a signal not measured, a next page that is not there) is null,
// never omitted and never a zero value; "error" on messages and parts is
// omitted when there is none.
//
// The request log (log/slog) has the method, route, status, latency,
// request id and API key name; phone numbers in the query or in an
// unmatched path are masked (+1202…0123) and message text is never logged.
package api
