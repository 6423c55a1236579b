package smsgate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/webhook"
)

// SMSGate's webhook events.
const (
	eventReceived     = "sms:received"
	eventDataReceived = "sms:data-received"
	eventSent         = "sms:sent"
	eventDelivered    = "sms:delivered"
	eventFailed       = "sms:failed"
	eventPing         = "system:ping"
)

// subscriptions maps each SMSGate event to the gateway's events that make
// it, and the scope a key needs to receive them (as the native API asks).
var subscriptions = map[string]struct {
	events []string
	scope  string
}{
	eventReceived:     {[]string{gateway.EventSMSReceivedText}, gateway.ScopeInboxRead},
	eventDataReceived: {[]string{gateway.EventSMSReceivedData}, gateway.ScopeInboxRead},
	eventSent:         {[]string{gateway.EventMessageSent}, gateway.ScopeMessagesRead},
	eventDelivered:    {[]string{gateway.EventMessageDelivered}, gateway.ScopeMessagesRead},
	// An expired message is one that failed to go out in time.
	eventFailed: {[]string{gateway.EventMessageFailed, gateway.EventMessageExpired}, gateway.ScopeMessagesRead},
}

// eventOf is the SMSGate event a gateway event is delivered as.
func eventOf(gatewayEvent string) string {
	for name, s := range subscriptions {
		if slices.Contains(s.events, gatewayEvent) {
			return name
		}
	}
	return ""
}

// webhookJSON is a webhook as SMSGate shows it. SigningKey is simgate's:
// SMSGate signs with one key set on the phone, simgate with one per
// endpoint, given once, in the answer to the registration.
type webhookJSON struct {
	ID         string  `json:"id"`
	URL        string  `json:"url"`
	Event      string  `json:"event"`
	DeviceID   *string `json:"deviceId"`
	SigningKey string  `json:"signingKey,omitempty"`
}

type webhookRequest struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	Event    string `json:"event"`
	DeviceID string `json:"deviceId"`
}

// handleWebhookRegister registers a webhook for one event; with the id of
// one of the key's webhooks it replaces it, as SMSGate does.
func (a *API) handleWebhookRegister(c echo.Context) error {
	var req webhookRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	sub, ok := subscriptions[req.Event]
	switch {
	case req.Event == eventPing:
		return errorf(http.StatusBadRequest, "event: %s is not supported: simgate has no ping; poll GET %s/health", req.Event, Prefix)
	case !ok:
		return errorf(http.StatusBadRequest, "event: %q; want one of %s, %s, %s, %s, %s", req.Event, eventReceived, eventDataReceived,
			eventSent, eventDelivered, eventFailed)
	case len(req.ID) > maxIDLength:
		return errorf(http.StatusBadRequest, "id: longer than %d characters", maxIDLength)
	case !keyOf(c).Has(sub.scope):
		return errorf(http.StatusForbidden, "the event %s needs an API key with the scope %q", req.Event, sub.scope)
	}
	if err := webhook.ValidURL(req.URL); err != nil {
		return err
	}
	ctx := c.Request().Context()
	id := req.ID
	if id == "" {
		id = gateway.NewID("", a.clock.Now())
	} else if err := a.dropWebhook(ctx, callerOf(c), id); err != nil && !errors.Is(err, gateway.ErrNotFound) {
		return err
	}
	e, err := a.hooks.CreateFormatted(ctx, callerOf(c), webhook.Spec{URL: req.URL, Events: sub.events,
		Format: gateway.WebhookSMSGate, ExternalID: id})
	if err != nil {
		return err
	}
	out := webhookOf(e)
	out.URL = e.URL
	out.SigningKey = signingKey(e.Secret)
	return c.JSON(http.StatusCreated, out)
}

// webhookOf is e as the list shows it: its URL without user info and
// query values, as the native API lists it.
func webhookOf(e gateway.WebhookEndpoint) webhookJSON {
	out := webhookJSON{ID: e.ExternalID, URL: webhook.RedactURL(e.URL)}
	for _, ev := range e.Events {
		if out.Event = eventOf(ev); out.Event != "" {
			break
		}
	}
	return out
}

// signingKey is the key the X-Signature HMAC is keyed with: the secret's
// text after "whsec_", as bytes.
func signingKey(secret string) string { return strings.TrimPrefix(secret, "whsec_") }

// ownWebhooks are caller's SMSGate webhooks.
func (a *API) ownWebhooks(ctx context.Context, caller gateway.Caller) ([]gateway.WebhookEndpoint, error) {
	es, err := a.hooks.Webhooks(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(es, func(e gateway.WebhookEndpoint) bool {
		return e.Format != gateway.WebhookSMSGate || e.OwnerKey != caller.KeyID && !caller.Admin
	}), nil
}

// dropWebhook deletes caller's webhooks known by id (an admin's own, or
// else the first of another key's); ErrNotFound when there is none.
func (a *API) dropWebhook(ctx context.Context, caller gateway.Caller, id string) error {
	es, err := a.ownWebhooks(ctx, caller)
	if err != nil {
		return err
	}
	var drop []string
	for _, e := range es {
		if e.ExternalID == id && e.OwnerKey == caller.KeyID {
			drop = append(drop, e.ID)
		}
	}
	if i := slices.IndexFunc(es, func(e gateway.WebhookEndpoint) bool { return e.ExternalID == id }); len(drop) == 0 && i >= 0 {
		drop = append(drop, es[i].ID) // ownWebhooks kept another key's only for an admin
	}
	if len(drop) == 0 {
		return fmt.Errorf("webhook %s: %w", id, gateway.ErrNotFound)
	}
	for _, wid := range drop {
		if err := a.hooks.DeleteWebhook(ctx, wid); err != nil {
			return err
		}
	}
	return nil
}

func (a *API) handleWebhookList(c echo.Context) error {
	es, err := a.ownWebhooks(c.Request().Context(), callerOf(c))
	if err != nil {
		return err
	}
	out := make([]webhookJSON, 0, len(es))
	for _, e := range es {
		out = append(out, webhookOf(e))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *API) handleWebhookDelete(c echo.Context) error {
	if err := a.dropWebhook(c.Request().Context(), callerOf(c), c.Param("id")); err != nil {
		return notFound(err, "webhook", c.Param("id"))
	}
	return c.NoContent(http.StatusNoContent)
}
