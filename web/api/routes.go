package api

import (
	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
)

// Routes adds /api/v1 to v1 (the group at that prefix): with the server's
// own routes (web/routes.go) and the status page's (web/ui/routes.go), this
// is the whole HTTP surface. The OTP routes come only with otp, the
// webhook routes only with webhooks.
//
// Authentication is attached per route rather than to the group: echo's
// Group.Use registers catch-all routes that would turn a wrong method on a
// known path into 404 instead of 405.
func Routes(v1 *echo.Group, svc gateway.ServiceAPI, otp OTPAPI, webhooks WebhookAPI) {
	auth := requireKey(svc)

	v1.POST("/messages", handleSend(svc), auth)
	v1.GET("/messages", handleListMessages(svc), auth)
	v1.GET("/messages/:id", handleGetMessage(svc), auth)
	v1.DELETE("/messages/:id", handleCancelMessage(svc), auth)
	v1.GET("/inbox", handleInbox(svc), auth)
	v1.GET("/modems", handleModems(svc), auth)
	otpRoutes(v1, otp, auth)
	webhookRoutes(v1, webhooks, auth)
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

// webhookRoutes registers the webhook endpoints' API when api is set.
func webhookRoutes(v1 *echo.Group, api WebhookAPI, auth echo.MiddlewareFunc) {
	if api == nil {
		return
	}
	v1.POST("/webhooks", handleWebhookCreate(api), auth)
	v1.GET("/webhooks", handleWebhookList(api), auth)
	v1.DELETE("/webhooks/:id", handleWebhookDelete(api), auth)
}
