package apiv1

import (
	"fmt"
	"strings"
)

// MediaTypeProblem is the Content-Type of every error answer.
const MediaTypeProblem = "application/problem+json"

// Problem types (RFC 9457 §3.1.1), as Problem.Type shows them. They are
// stable: clients switch on them. "about:blank" means the status says it
// all.
const (
	ProblemBlank           = "about:blank"
	ProblemBadRequest      = "urn:simgate:problem:bad-request"
	ProblemInvalidJSON     = "urn:simgate:problem:invalid-json"
	ProblemValidation      = "urn:simgate:problem:validation"
	ProblemTooLarge        = "urn:simgate:problem:body-too-large"
	ProblemUnauthorized    = "urn:simgate:problem:unauthorized"
	ProblemForbidden       = "urn:simgate:problem:forbidden"
	ProblemNotFound        = "urn:simgate:problem:not-found"
	ProblemConflict        = "urn:simgate:problem:conflict"
	ProblemIdempotency     = "urn:simgate:problem:idempotency-key-reused"
	ProblemInternal        = "urn:simgate:problem:internal"
	ProblemMediaType       = "urn:simgate:problem:unsupported-media-type"
	ProblemClientGone      = "urn:simgate:problem:client-closed-request"
	ProblemTooManyRequests = "urn:simgate:problem:too-many-requests"
	ProblemStorageFull     = "urn:simgate:problem:storage-full"
	// ProblemStoreBusy: the database did not answer in time (a shared
	// PostgreSQL with a lock held too long); nothing was accepted; 503.
	ProblemStoreBusy = "urn:simgate:problem:store-busy"
	// ProblemModemNotConnected: the modem is known but has no open session
	// (unplugged, reconnecting); 409.
	ProblemModemNotConnected = "urn:simgate:problem:modem-not-connected"
	// ProblemModemError: the modem refused the command, with its words; 502.
	ProblemModemError = "urn:simgate:problem:modem-error"
	// ProblemUSSDTimeout: the network did not answer a USSD code in time; 504.
	ProblemUSSDTimeout = "urn:simgate:problem:ussd-timeout"
	// ProblemUSSDUnsupported: the network does not support the code; 422.
	ProblemUSSDUnsupported = "urn:simgate:problem:ussd-unsupported"
)

// Problem is an RFC 9457 problem details document: the body of every
// error answer. It is an error too, so that a client can return it.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail"`
	Errors    []FieldError `json:"errors,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
}

// FieldError names one field of the request (or a query parameter or
// header) and what is wrong with it.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error is "422 Unprocessable Entity: detail; field: reason".
func (p *Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", p.Status, p.Title)
	if p.Detail != "" {
		b.WriteString(": " + p.Detail)
	}
	for _, f := range p.Errors {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Reason)
	}
	return b.String()
}
