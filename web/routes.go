package web

import (
	"github.com/labstack/echo/v4"
)

// addRoutes is the whole HTTP surface, in one place.
//
// Authentication is attached per route rather than to the /api/v1 group:
// echo's Group.Use registers catch-all routes that would turn a wrong method
// on a known path into 404 instead of 405.
func (s *Server) addRoutes(e *echo.Echo) {
	auth := requireKey(s.svc)

	e.GET("/healthz", handleHealthz(s.cfg.Version))
	e.GET("/readyz", handleReadyz(s.svc))
	e.GET("/metrics", echo.WrapHandler(s.metrics.handler))

	v1 := e.Group("/api/v1")
	v1.POST("/messages", handleSend(s.svc), auth)
	v1.GET("/messages", handleListMessages(s.svc), auth)
	v1.GET("/messages/:id", handleGetMessage(s.svc), auth)
	v1.DELETE("/messages/:id", handleCancelMessage(s.svc), auth)
	v1.GET("/inbox", handleInbox(s.svc), auth)
	v1.GET("/modems", handleModems(s.svc), auth)
	otpRoutes(v1, s.cfg.OTP, auth)

	uiRoutes(e, s.svc, s.cfg.UI)
}
