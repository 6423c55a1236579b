package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/web/internal/problem"
	"github.com/simgate/simgate/webhook"
)

// WebhookAPI is what /api/v1/webhooks needs; *webhook.Notifier is one.
type WebhookAPI interface {
	CreateWebhook(ctx context.Context, owner gateway.Caller, url string, events []string) (gateway.WebhookEndpoint, error)
	Webhooks(ctx context.Context) ([]gateway.WebhookEndpoint, error)
	DeleteWebhook(ctx context.Context, id string) error
}

var _ WebhookAPI = (*webhook.Notifier)(nil)

func newWebhookJSON(e gateway.WebhookEndpoint) apiv1.Webhook {
	w := apiv1.Webhook{ID: e.ID, URL: e.URL, Events: e.Events, Secret: e.Secret, CreatedAt: e.CreatedAt.UTC()}
	if !e.ParkedUntil.IsZero() {
		w.ParkedUntil = e.ParkedUntil.UTC()
	}
	return w
}

func handleWebhookCreate(api WebhookAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req apiv1.WebhookRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if err := mayReceive(c, req.Events); err != nil {
			return err
		}
		e, err := api.CreateWebhook(c.Request().Context(), callerOf(c), req.URL, req.Events)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, newWebhookJSON(e))
	}
}

func handleWebhookList(api WebhookAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
		es, err := api.Webhooks(c.Request().Context())
		if err != nil {
			return err
		}
		out := apiv1.WebhookList{Webhooks: make([]apiv1.Webhook, 0, len(es))}
		for _, e := range es {
			if !callerOf(c).Owns(e.OwnerKey) {
				continue
			}
			e.Secret = "" // shown once, at creation, and so is the full URL
			e.URL = webhook.RedactURL(e.URL)
			out.Webhooks = append(out.Webhooks, newWebhookJSON(e))
		}
		return c.JSON(http.StatusOK, out)
	}
}

func handleWebhookDelete(api WebhookAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := ownWebhook(c, api, c.Param("id")); err != nil {
			return err
		}
		if err := api.DeleteWebhook(c.Request().Context(), c.Param("id")); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
}

// ownWebhook refuses, as not found, an endpoint of another key (admin
// may delete any).
func ownWebhook(c echo.Context, api WebhookAPI, id string) error {
	if callerOf(c).Admin {
		return nil
	}
	es, err := api.Webhooks(c.Request().Context())
	if err != nil {
		return err
	}
	i := slices.IndexFunc(es, func(e gateway.WebhookEndpoint) bool { return e.ID == id })
	if i < 0 || !callerOf(c).Owns(es[i].OwnerKey) {
		return fmt.Errorf("delete webhook %s: %w", problem.Clip(id), gateway.ErrNotFound)
	}
	return nil
}

// eventScope is the scope a key needs, besides webhooks, to subscribe to
// an event: a webhook must not show what the key could not read.
func eventScope(event string) string {
	switch {
	case strings.HasPrefix(event, "message."):
		return gateway.ScopeMessagesRead
	case strings.HasPrefix(event, "sms."):
		return gateway.ScopeInboxRead
	case strings.HasPrefix(event, "otp."):
		return gateway.ScopeOTP
	}
	return gateway.ScopeModemsRead
}

// mayReceive refuses, with 403, events the caller's key could not read
// through the API; an unknown event is left to CreateWebhook's 422.
func mayReceive(c echo.Context, events []string) error {
	k, _ := c.Get(ctxAPIKey).(gateway.APIKey)
	for _, ev := range events {
		if !slices.Contains(gateway.WebhookEvents, ev) && !slices.Contains(gateway.EventVariants, ev) {
			continue
		}
		if sc := eventScope(ev); !k.Has(sc) {
			return problem.New(http.StatusForbidden, apiv1.ProblemForbidden,
				fmt.Sprintf("the event %q needs an API key with the scope %q", ev, sc),
				apiv1.FieldError{Field: "events", Reason: fmt.Sprintf("%q needs the scope %q", ev, sc)})
		}
	}
	return nil
}
