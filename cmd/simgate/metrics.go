package main

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/simgate/simgate/metrics"
	"github.com/simgate/simgate/store"
)

// newMetrics builds the registry /metrics serves: the Go runtime and the
// process, the HTTP server's series (registered by web) and the gateway's
// own (package metrics, fed from db's event log and queries).
func newMetrics(db *store.Store, logger *slog.Logger) (*metrics.Metrics, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return metrics.New(db, reg, logger), reg
}
