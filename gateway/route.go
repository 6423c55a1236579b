package gateway

import (
	"context"
	"time"
)

// RouteDecision is the modem a router chose for a message, and why. The
// reason is stored on the message (Message.Route) and shown by the API and
// the status page.
type RouteDecision struct {
	Modem   string // IMEI to pin the message to; "" leaves it to any modem
	Network string // the recipient's network as the router names it
	Reason  string // "fastest to …", "on-net", "explore", "least busy", …
}

// Router chooses the modem a message to a number goes out on, never one of
// exclude (the modems an earlier attempt used).
type Router interface {
	Route(to string, exclude []string) RouteDecision
}

// RouteSample is one message's outcome on one route: the modem that sent
// it to a destination network, and how long its delivery report took.
type RouteSample struct {
	Modem   string
	Network string
	// Dest is the recipient (E.164): a number's own reports can show that
	// it was ported to another network than its number names.
	Dest      string
	SentAt    time.Time
	Latency   time.Duration // sent → report; 0 when it failed
	Delivered bool          // false: the report said failed
}

// RouteSamples keeps the samples a router learns from, so that a restart
// does not forget which route is fast.
type RouteSamples interface {
	AddRouteSamples(ctx context.Context, s []RouteSample) error
	// RouteSamplesSince returns the samples sent at or after t, oldest
	// first, at most limit.
	RouteSamplesSince(ctx context.Context, t time.Time, limit int) ([]RouteSample, error)
	// PruneRouteSamples deletes the samples sent before t.
	PruneRouteSamples(ctx context.Context, t time.Time) (int, error)
}

// RouteStat is one route's figures over the router's horizon (24 h), for
// the status page.
type RouteStat struct {
	Modem, Network string
	Reports        int     // outcomes known
	Delivered      int     // of which delivered
	Rate           float64 // Delivered / Reports
	P50, P90       time.Duration
	Waiting        int // sends still without a report
}
