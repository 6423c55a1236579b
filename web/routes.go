package web

import (
	"io/fs"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
)

// addRoutes, with otpRoutes and uiRoutes below it, is the whole HTTP
// surface, in one file.
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
	webhookRoutes(v1, s.cfg.Webhooks, auth)

	uiRoutes(e, s.svc, s.cfg.UI)
}

// otpRoutes registers the OTP API when svc is set.
func otpRoutes(v1 *echo.Group, svc OTPAPI, auth echo.MiddlewareFunc) {
	if svc == nil {
		return
	}
	v1.POST("/otp", handleOTPSend(svc), auth)
	v1.POST("/otp/check", handleOTPCheckByNumber(svc), auth)
	v1.GET("/otp/:id", handleOTPGet(svc), auth)
	v1.DELETE("/otp/:id", handleOTPCancel(svc), auth)
	v1.POST("/otp/:id/check", handleOTPCheck(svc), auth)
	v1.POST("/otp/:id/resend", handleOTPResend(svc), auth)
}

// uiRoutes adds the status page's routes; with a nil ui there is none.
// Authentication is per route (see addRoutes for why not a group).
func uiRoutes(e *echo.Echo, svc gateway.ServiceAPI, ui *UI) {
	if ui == nil {
		return
	}
	h := &uiHandlers{UI: ui, svc: svc}
	admin := ui.requireAdmin
	csrf := ui.checkCSRF

	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	e.GET("/static/*", echo.WrapHandler(cacheFor(time.Hour, files)))
	e.GET("/favicon.ico", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/static/favicon.svg") })

	e.GET("/login", ui.handleLoginForm)
	e.POST("/login", ui.handleLogin)
	e.POST("/logout", ui.handleLogout, admin, csrf)

	e.GET("/", h.overview, admin)
	e.GET("/live", h.live, admin)
	e.GET("/modems/:imei", h.modem, admin)
	e.POST("/modems/:imei/reinit", h.reinit, admin, csrf)
	e.POST("/modems/:imei/test-sms", h.testSMS, admin, csrf)
	e.POST("/modems/:imei/ussd", h.ussd, admin, csrf)
	e.GET("/messages", h.messages, admin)
	e.GET("/messages/:id", h.message, admin)
	e.POST("/messages/:id/cancel", h.cancel, admin, csrf)
	e.GET("/inbox", h.inbox, admin)
	e.GET("/otp", h.otpStats, admin)
	e.GET("/try", h.try, admin)
	e.POST("/try/send", h.trySend, admin, csrf)
	e.POST("/try/check", h.tryCheck, admin, csrf)
	e.GET("/try/phone", h.tryPhone, admin)
}

// webhookRoutes registers the webhook endpoints' API when api is set.
func webhookRoutes(v1 *echo.Group, api WebhookAPI, auth echo.MiddlewareFunc) {
	if api == nil {
		return
	}
	v1.POST("/webhooks", handleWebhookCreate(api), auth)
	v1.GET("/webhooks", handleWebhookList(api), auth)
	v1.DELETE("/webhooks/:id", handleWebhookDelete(api), auth)
}
