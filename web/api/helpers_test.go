package api_test

import (
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/web"
	"github.com/simgate/simgate/web/internal/webtest"
)

// The API is tested through the real server (package web), whose error
// handler turns the handlers' errors into problems: an external test
// package may import it, api itself may not.

// mustServer is a web.Server on svc behind a loopback listener, logging
// JSON at debug into the returned server's Log.
func mustServer(t testing.TB, svc *webtest.FakeService, cfg web.Config) *webtest.Server {
	t.Helper()
	logs := webtest.NewLogBuffer()
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := web.NewServer(cfg, svc, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ts := webtest.Start(t, s.Handler())
	ts.Svc, ts.Log, ts.Registry = svc, logs, cfg.Registry
	return ts
}
