package web

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/webhook"
)

// WebhookAPI is what /api/v1/webhooks needs; *gateway.Notifier is one.
type WebhookAPI interface {
	CreateWebhook(ctx context.Context, url string, events []string) (gateway.WebhookEndpoint, error)
	Webhooks(ctx context.Context) ([]gateway.WebhookEndpoint, error)
	DeleteWebhook(ctx context.Context, id string) error
}

var _ WebhookAPI = (*webhook.Notifier)(nil)

// webhookRequest is the body of POST /api/v1/webhooks.
type webhookRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// webhookJSON is an endpoint as the API shows it; Secret only in the
// answer to its creation.
type webhookJSON struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func newWebhookJSON(e gateway.WebhookEndpoint) webhookJSON {
	return webhookJSON{ID: e.ID, URL: e.URL, Events: e.Events, Secret: e.Secret, CreatedAt: e.CreatedAt.UTC()}
}

func handleWebhookCreate(api WebhookAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req webhookRequest
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
		out := struct {
			Webhooks []webhookJSON `json:"webhooks"`
		}{Webhooks: make([]webhookJSON, 0, len(es))}
		for _, e := range es {
			e.Secret = "" // shown once, at creation
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
