package apiv1

import "time"

// WebhookRequest is the body of POST /api/v1/webhooks.
type WebhookRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// Webhook is an endpoint as the API shows it; Secret only in the 201
// answer to its creation. A list shows URL without user info and with its
// query values replaced by "redacted"; the 201 answer shows it whole.
type Webhook struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// ParkedUntil is set while the gateway does not try the endpoint
	// because it timed out or refused connections too often in a row; its
	// events wait, and go once it answers again.
	ParkedUntil time.Time `json:"parked_until,omitzero"`
}

// WebhookList is the answer to GET /api/v1/webhooks.
type WebhookList struct {
	Webhooks []Webhook `json:"webhooks"`
}
