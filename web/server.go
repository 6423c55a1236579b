package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/web/api"
	"github.com/simgate/simgate/web/kannel"
	"github.com/simgate/simgate/web/smsgate"
	"github.com/simgate/simgate/web/ui"
)

// DefaultMaxBodyBytes bounds a request body when Config.MaxBodyBytes is zero:
// a message of 10 concatenated UCS-2 parts is under 2 KiB of JSON.
const DefaultMaxBodyBytes = 64 << 10

// Timeouts of the http.Server that Serve runs. A client slower than these is
// cut off rather than allowed to hold a connection open (slowloris).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownTimeout   = 10 * time.Second
)

// Config holds the tunables of a Server.
type Config struct {
	// MaxBodyBytes is the largest request body accepted; a larger one is
	// answered 413. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Registry receives the HTTP metrics and is served at /metrics. Nil
	// means a private registry with the Go and process collectors.
	Registry *prometheus.Registry
	// MetricsToken, when set, is the bearer token /metrics wants
	// (Authorization: Bearer <token>); without it /metrics is open.
	MetricsToken string
	// Version is reported by /healthz.
	Version string
	// UI is the status page (ui.New); nil serves none.
	UI *ui.UI
	// OTP serves /api/v1/otp (a *otp.Service); nil serves none.
	OTP api.OTPAPI
	// Webhooks serves /api/v1/webhooks (a *webhook.Notifier); nil serves
	// none.
	Webhooks api.WebhookAPI
	// Modems serves POST /api/v1/modems/{imei}/ussd (a
	// *session.Supervisor); nil serves none.
	Modems api.ModemActions
	// Kannel serves Kannel's /cgi-bin/sendsms; nil serves none.
	Kannel *kannel.Kannel
	// SMSGate serves SMSGate's 3rd-party API under /3rdparty/v1; nil
	// serves none.
	SMSGate *smsgate.API
}

// Server is the HTTP server: the API and the status page. It is safe for concurrent use once built.
type Server struct {
	cfg     Config
	svc     gateway.ServiceAPI
	logger  *slog.Logger
	echo    *echo.Echo
	metrics *metrics
	// routes are the registered route paths, so that metrics and logs label
	// an unmatched request "unmatched" instead of by whatever path it had.
	routes map[string]bool
}

// NewServer builds the server on svc. A nil logger discards.
func NewServer(cfg Config, svc gateway.ServiceAPI, logger *slog.Logger) *Server {
	if svc == nil {
		panic("web: nil service")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:     cfg,
		svc:     svc,
		logger:  logger,
		metrics: newMetrics(cfg.Registry),
		routes:  make(map[string]bool),
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(io.Discard) // everything worth saying goes through slog
	e.HTTPErrorHandler = s.handleError
	e.Use(
		requestID,
		s.observe,
		s.recoverPanic(),
		limitBody(cfg.MaxBodyBytes),
	)
	s.addRoutes(e)
	for _, r := range e.Routes() {
		s.routes[r.Path] = true
	}
	s.echo = e
	return s
}

// Handler returns the server as an http.Handler (the *echo.Echo).
func (s *Server) Handler() http.Handler { return s.echo }

// Serve answers requests on ln until ctx ends, then shuts down gracefully,
// giving requests in flight up to 10 s. It returns nil after a clean
// shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	s.logger.LogAttrs(ctx, slog.LevelInfo, "http server shutting down", slog.Duration("grace", shutdownTimeout))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if shutdownErr != nil {
		// Requests still running after the grace period are cut off.
		_ = srv.Close()
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	if shutdownErr != nil {
		return fmt.Errorf("shut down http: %w", shutdownErr)
	}
	return nil
}
