// Package apiv1 is the /api/v1 JSON contract: the request and response
// bodies of simgate's HTTP API, version 1, and its problem+json error body.
// The server (web/api), the CLI client (cmd/simgate) and the end-to-end
// tests all use these types, so that a field renamed here is renamed for
// every one of them at once.
//
// Conventions (see package web for the whole contract): field names are
// snake_case; times are RFC 3339 in UTC; a value that does not exist yet (a
// time that has not happened, a modem not assigned, a TP-MR not answered, a
// signal not measured, a next page that is not there) is null, never
// omitted; "error" on messages and parts is omitted when there is none.
// Request fields are omitempty, so that a client sends only what it sets;
// the server reads an absent field and its zero value alike, except where a
// field's comment says otherwise.
//
// The package imports only the standard library.
package apiv1
