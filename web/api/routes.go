package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
)

// Routes adds /api/v1 to v1 (the group at that prefix): with the server's
// own routes (web/routes.go) and the status page's (web/ui/routes.go), this
// is the whole HTTP surface. The OTP routes come only with otp, the
// webhook routes only with webhooks, USSD only with modems.
//
// Every route names the scope its key needs (gateway.Scopes; admin holds
// them all): a key without it gets 403. TestRoutes_Scopes walks echo's
// route table and tries each route with each scope. A route added here
// belongs in openapi.json too (TestOpenAPI).
//
// Authentication is attached per route rather than to the group: echo's
// Group.Use registers catch-all routes that would turn a wrong method on a
// known path into 404 instead of 405.
func Routes(v1 *echo.Group, svc gateway.ServiceAPI, otp OTPAPI, webhooks WebhookAPI, modems ModemActions) {
	r := router{v1, svc}
	v1.GET("/openapi.json", handleOpenAPI) // public: the document of this list (openapi.json)
	r.add(http.MethodPost, "/messages", gateway.ScopeMessagesSend, handleSend(svc))
	r.add(http.MethodGet, "/messages", gateway.ScopeMessagesRead, handleListMessages(svc))
	r.add(http.MethodGet, "/messages/:id", gateway.ScopeMessagesRead, handleGetMessage(svc))
	r.add(http.MethodDelete, "/messages/:id", gateway.ScopeMessagesSend, handleCancelMessage(svc))
	r.add(http.MethodGet, "/inbox", gateway.ScopeInboxRead, handleInbox(svc))
	r.add(http.MethodGet, "/modems", gateway.ScopeModemsRead, handleModems(svc))
	if modems != nil {
		// admin: a code can spend credit or change the SIM's services.
		r.add(http.MethodPost, "/modems/:imei/ussd", gateway.ScopeAdmin, handleUSSD(svc, modems))
	}
	if otp != nil {
		r.add(http.MethodPost, "/otp", gateway.ScopeOTP, handleOTPSend(otp))
		r.add(http.MethodPost, "/otp/check", gateway.ScopeOTP, handleOTPCheckByNumber(otp))
		r.add(http.MethodGet, "/otp/:id", gateway.ScopeOTP, handleOTPGet(otp))
		r.add(http.MethodDelete, "/otp/:id", gateway.ScopeOTP, handleOTPCancel(otp))
		r.add(http.MethodPost, "/otp/:id/check", gateway.ScopeOTP, handleOTPCheck(otp))
		r.add(http.MethodPost, "/otp/:id/resend", gateway.ScopeOTP, handleOTPResend(otp))
	}
	if webhooks != nil {
		r.add(http.MethodPost, "/webhooks", gateway.ScopeWebhooks, handleWebhookCreate(webhooks))
		r.add(http.MethodGet, "/webhooks", gateway.ScopeWebhooks, handleWebhookList(webhooks))
		r.add(http.MethodDelete, "/webhooks/:id", gateway.ScopeWebhooks, handleWebhookDelete(webhooks))
	}
}

// router registers routes that each need an API key with a scope.
type router struct {
	g    *echo.Group
	auth authenticator
}

func (r router) add(method, path, scope string, h echo.HandlerFunc) {
	r.g.Add(method, path, h, requireKey(r.auth, scope))
}
