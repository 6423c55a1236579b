package web

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
)

type healthResponse struct {
	Status  string `json:"status"`
	Version string `json:"version,omitempty"`
}

// handleHealthz says the process is up and serving; it touches nothing
// else, so a slow database never gets the process restarted.
func handleHealthz(version string) echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.JSON(http.StatusOK, healthResponse{Status: "ok", Version: version})
	}
}

type readyResponse struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// readiness is the part of the gateway that knows whether it can take
// traffic.
type readiness interface {
	Ready(ctx context.Context) error
}

// handleReadyz answers 503 with the gateway's reason (database down, no
// modem online) so that a load balancer stops sending traffic here.
func handleReadyz(r readiness) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := r.Ready(c.Request().Context()); err != nil {
			return c.JSON(http.StatusServiceUnavailable, readyResponse{Status: "unavailable", Reason: err.Error()})
		}
		return c.JSON(http.StatusOK, readyResponse{Status: "ready"})
	}
}
