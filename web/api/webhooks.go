package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/webhook"
)

// WebhookAPI is what /api/v1/webhooks needs; *webhook.Notifier is one.
type WebhookAPI interface {
	CreateWebhook(ctx context.Context, url string, events []string) (gateway.WebhookEndpoint, error)
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
		e, err := api.CreateWebhook(c.Request().Context(), req.URL, req.Events)
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
			e.Secret = "" // shown once, at creation, and so is the full URL
			e.URL = webhook.RedactURL(e.URL)
			out.Webhooks = append(out.Webhooks, newWebhookJSON(e))
		}
		return c.JSON(http.StatusOK, out)
	}
}

func handleWebhookDelete(api WebhookAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := api.DeleteWebhook(c.Request().Context(), c.Param("id")); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
}
