package smsgate

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/webhook"
)

// Service is what the adapter needs of the gateway; *gateway.Service is one.
type Service interface {
	SendBatch(ctx context.Context, reqs []gateway.SendRequest, commit func(ctx context.Context, msgs []*gateway.Message) error) ([]*gateway.Message, error)
	Cancel(ctx context.Context, id string) (*gateway.Message, error)
	Inbox(ctx context.Context, since time.Time, limit int) ([]*gateway.InboundMessage, error)
	Modems(ctx context.Context) ([]gateway.ModemView, error)
	Authenticate(ctx context.Context, key string) (gateway.APIKey, error)
	Ready(ctx context.Context) error
}

var _ Service = (*gateway.Service)(nil)

// Webhooks registers endpoints; *webhook.Notifier is one.
type Webhooks interface {
	CreateFormatted(ctx context.Context, owner gateway.Caller, spec webhook.Spec) (gateway.WebhookEndpoint, error)
	Webhooks(ctx context.Context) ([]gateway.WebhookEndpoint, error)
	DeleteWebhook(ctx context.Context, id string) error
}

var _ Webhooks = (*webhook.Notifier)(nil)

// Config is what New needs. Service, Groups and Webhooks are required.
type Config struct {
	Service  Service
	Groups   gateway.Groups
	Webhooks Webhooks
	Clock    gateway.Clock // nil: the system clock
	Version  string        // reported by /health
	Logger   *slog.Logger  // nil: discard
}

// API is the adapter: its routes and its webhook Formatter.
type API struct {
	svc   Service
	group gateway.Groups
	hooks Webhooks
	clock gateway.Clock
	ver   string
	log   *slog.Logger
}

// New builds the adapter.
func New(cfg Config) *API {
	if cfg.Service == nil || cfg.Groups == nil || cfg.Webhooks == nil {
		panic("smsgate: New needs a Service, Groups and Webhooks")
	}
	if cfg.Clock == nil {
		cfg.Clock = gateway.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &API{svc: cfg.Service, group: cfg.Groups, hooks: cfg.Webhooks, clock: cfg.Clock, ver: cfg.Version, log: cfg.Logger}
}

// Prefix is where the routes are served, as SMSGate's cloud server does.
const Prefix = "/3rdparty/v1"

// Routes adds SMSGate's API to g, the group at Prefix. Each route names
// the scope its key needs, the native API's for the same thing.
func (a *API) Routes(g *echo.Group) {
	add := func(method, path, scope string, h echo.HandlerFunc) {
		g.Add(method, path, h, a.answerErrors, a.requireKey(scope))
	}
	for _, p := range []string{"/messages", "/message"} {
		add(http.MethodPost, p, gateway.ScopeMessagesSend, a.handleSend)
		add(http.MethodGet, p+"/:id", gateway.ScopeMessagesRead, a.handleGet)
		add(http.MethodDelete, p+"/:id", gateway.ScopeMessagesSend, a.handleCancel)
	}
	add(http.MethodGet, "/messages", gateway.ScopeMessagesRead, a.handleList)
	add(http.MethodPost, "/webhooks", gateway.ScopeWebhooks, a.handleWebhookRegister)
	add(http.MethodGet, "/webhooks", gateway.ScopeWebhooks, a.handleWebhookList)
	add(http.MethodDelete, "/webhooks/:id", gateway.ScopeWebhooks, a.handleWebhookDelete)
	add(http.MethodGet, "/inbox", gateway.ScopeInboxRead, a.handleInbox)
	add(http.MethodGet, "/devices", gateway.ScopeModemsRead, a.handleDevices)
	// Health answers anyone, as /readyz does.
	g.GET("/health", a.handleHealth, a.answerErrors)
}

// ctxKey is where requireKey leaves the authenticated key.
const ctxKey = "smsgate.api_key"

func keyOf(c echo.Context) gateway.APIKey {
	k, _ := c.Get(ctxKey).(gateway.APIKey)
	return k
}

func callerOf(c echo.Context) gateway.Caller { return gateway.CallerOf(keyOf(c)) }

// requireKey admits a request with Basic credentials — the API key's name
// as the user and the key as the password, as SMSGate's user and password
// — or "Bearer <key>", for a key that holds scope.
func (a *API) requireKey(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			user, pass, basic, ok := credentials(c.Request().Header.Get(echo.HeaderAuthorization))
			if !ok {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="simgate"`)
				return errorf(http.StatusUnauthorized, "this API needs Basic auth: the API key's name as user, the key as password")
			}
			key, err := a.svc.Authenticate(c.Request().Context(), pass)
			if err == nil && basic && subtle.ConstantTimeCompare([]byte(user), []byte(key.Name)) != 1 {
				err = gateway.ErrUnauthorized
			}
			if errors.Is(err, gateway.ErrUnauthorized) {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="simgate"`)
				return errorf(http.StatusUnauthorized, "the user is not the name of this API key, or the key is not valid or was revoked")
			}
			if err != nil {
				return fmt.Errorf("authenticate: %w", err)
			}
			c.Set(ctxKey, key)
			if !key.Has(scope) {
				return errorf(http.StatusForbidden, "this call needs an API key with the scope %q (or admin)", scope)
			}
			return next(c)
		}
	}
}

// credentials reads "Basic base64(user:pass)" or "Bearer key".
func credentials(h string) (user, pass string, basic, ok bool) {
	scheme, rest, found := strings.Cut(h, " ")
	rest = strings.TrimSpace(rest)
	switch {
	case !found || rest == "":
		return "", "", false, false
	case strings.EqualFold(scheme, "Bearer"):
		return "", rest, false, true
	case !strings.EqualFold(scheme, "Basic"):
		return "", "", false, false
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return "", "", false, false
	}
	user, pass, found = strings.Cut(string(raw), ":")
	return user, pass, true, found && user != "" && pass != ""
}

// apiError is an answer in SMSGate's error shape.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// errorBody is SMSGate's error answer.
type errorBody struct {
	Message string `json:"message"`
}

// answerErrors writes the errors of the routes in SMSGate's shape,
// {"message": "…"}: the one place where they become statuses.
func (a *API) answerErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil || c.Response().Committed {
			return err
		}
		status, msg := a.statusOf(c, err)
		return c.JSON(status, errorBody{Message: msg})
	}
}

func (a *API) statusOf(c echo.Context, err error) (int, string) {
	var (
		ae *apiError
		ve *gateway.ValidationError
		ra *gateway.RetryAfterError
		he *echo.HTTPError
	)
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.msg
	case errors.As(err, &ve):
		return http.StatusBadRequest, ve.Error()
	case errors.As(err, &ra):
		c.Response().Header().Set("Retry-After", fmt.Sprint(int(ra.Wait.Seconds()+0.999)))
		return http.StatusTooManyRequests, ra.Error()
	case errors.Is(err, gateway.ErrNotFound):
		return http.StatusNotFound, "not found"
	case errors.Is(err, gateway.ErrStorageFull):
		c.Response().Header().Set("Retry-After", "30")
		return http.StatusServiceUnavailable, "the gateway's disk is full: nothing was accepted; retry later"
	case errors.Is(err, gateway.ErrStoreBusy):
		c.Response().Header().Set("Retry-After", "2")
		return http.StatusServiceUnavailable, "the gateway's database did not answer in time: nothing was accepted; retry shortly"
	case errors.As(err, &he):
		return he.Code, fmt.Sprint(he.Message)
	}
	a.log.Error("smsgate request failed", "method", c.Request().Method, "path", c.Path(), "err", err)
	return http.StatusInternalServerError, "the server could not complete the request; see its log"
}
