package web

import (
	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/web/api"
	"github.com/simgate/simgate/web/smsgate"
	"github.com/simgate/simgate/web/ui"
)

// addRoutes is the whole HTTP surface: the probes here, /api/v1 in
// web/api/routes.go, SMSGate's /3rdparty/v1 in web/smsgate/routes.go, the
// status page in web/ui/routes.go, Kannel's sendsms in web/kannel. Each of those
// files lists its routes in one place.
//
// Authentication is attached per route rather than to a group: echo's
// Group.Use registers catch-all routes that would turn a wrong method on a
// known path into 404 instead of 405.
func (s *Server) addRoutes(e *echo.Echo) {
	e.GET("/healthz", handleHealthz(s.cfg.Version))
	e.GET("/readyz", handleReadyz(s.svc))
	e.GET("/metrics", echo.WrapHandler(bearerOnly(s.cfg.MetricsToken, s.metrics.handler)))

	api.Routes(e.Group("/api/v1"), s.svc, s.cfg.OTP, s.cfg.Webhooks, s.cfg.Modems)
	if s.cfg.SMSGate != nil {
		s.cfg.SMSGate.Routes(e.Group(smsgate.Prefix))
	}
	ui.Routes(e, s.svc, s.cfg.UI)
	if s.cfg.Kannel != nil {
		s.cfg.Kannel.Routes(e) // /cgi-bin/sendsms, in web/kannel/sendsms.go
	}
}
