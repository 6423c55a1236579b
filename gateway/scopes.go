package gateway

import (
	"fmt"
	"slices"
	"strings"
)

// API key scopes: each /api/v1 route needs one (web/api/routes.go); admin
// holds every scope and sees every key's messages, verifications and
// webhooks.
const (
	ScopeMessagesSend = "messages:send"
	ScopeMessagesRead = "messages:read"
	ScopeInboxRead    = "inbox:read"
	ScopeOTP          = "otp"
	ScopeWebhooks     = "webhooks"
	ScopeModemsRead   = "modems:read"
	ScopeAdmin        = "admin"
)

// Scopes lists every scope, in the order they are shown.
var Scopes = []string{ScopeMessagesSend, ScopeMessagesRead, ScopeInboxRead, ScopeOTP, ScopeWebhooks, ScopeModemsRead, ScopeAdmin}

// DefaultScopes are given to a key created without scopes: everything an
// application does with its own traffic, not admin, so a new key never sees
// another key's messages, codes or webhooks.
var DefaultScopes = []string{ScopeMessagesSend, ScopeMessagesRead, ScopeInboxRead, ScopeOTP, ScopeWebhooks, ScopeModemsRead}

// ParseScopes checks a list of scope names (spaces trimmed, repeats
// dropped) and returns it in the order of Scopes; an empty list is
// DefaultScopes. An unknown name is a ValidationError of field "scopes".
func ParseScopes(names []string) ([]string, error) {
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !slices.Contains(Scopes, n) {
			return nil, &ValidationError{Field: "scopes", Reason: fmt.Sprintf("%q is not a scope; want some of %s", n, strings.Join(Scopes, ", "))}
		}
		seen[n] = true
	}
	if len(seen) == 0 {
		return slices.Clone(DefaultScopes), nil
	}
	out := make([]string, 0, len(seen))
	for _, s := range Scopes {
		if seen[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// Has reports whether k may use routes that need scope: admin has them
// all. A name the gateway does not know (kept from an older version)
// grants nothing.
func (k APIKey) Has(scope string) bool {
	return slices.Contains(k.Scopes, scope) || slices.Contains(k.Scopes, ScopeAdmin)
}

// Caller is the API key behind a request, as tenancy needs it: a key sees
// and changes only what it created, unless it is admin.
type Caller struct {
	KeyID int64 // the key's ID; every row it creates carries it as its owner
	Admin bool
}

// CallerOf is the Caller of key k.
func CallerOf(k APIKey) Caller {
	return Caller{KeyID: k.ID, Admin: slices.Contains(k.Scopes, ScopeAdmin)}
}

// Owns reports whether c may see and change a row owned by key owner. A
// row with no owner (0: made before keys owned rows, or by the status
// page) is the admin's alone.
func (c Caller) Owns(owner int64) bool { return c.Admin || (owner != 0 && owner == c.KeyID) }

// OwnerFilter is what a listing keeps for c: the owner key to match, 0 for
// every row (admin), -1 for none (a caller without a key ID).
func (c Caller) OwnerFilter() int64 {
	switch {
	case c.Admin:
		return 0
	case c.KeyID == 0:
		return -1
	}
	return c.KeyID
}
