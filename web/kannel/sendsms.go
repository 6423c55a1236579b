package kannel

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
)

// Service is what sendsms needs of the gateway.
type Service interface {
	Send(ctx context.Context, r gateway.SendRequest) (*gateway.Message, bool, error)
	// Check checks a request without committing it: every receiver is
	// checked before the first is queued.
	Check(ctx context.Context, r gateway.SendRequest) error
	Authenticate(ctx context.Context, key string) (gateway.APIKey, error)
}

// Store is what the adapter reads and writes itself: the modems (for
// smsc), the event log and messages (for the DLRs), and the callbacks.
type Store interface {
	gateway.EventLog
	MessageCallbacks(ctx context.Context, kind string, ids []string) (map[string]json.RawMessage, error)
	EnqueueCallbacks(ctx context.Context, consumer string, upTo int64, rows []gateway.CallbackDelivery) (int, error)
	Message(ctx context.Context, id string) (*gateway.Message, error)
	Modems(ctx context.Context) ([]gateway.ModemInfo, error)
}

// Config tunes the adapter.
type Config struct {
	// SMSC names modems for the smsc parameter: name → IMEI. A modem is
	// also found by its IMEI or its port.
	SMSC map[string]string
	// Callbacks is woken when DLRs were queued (a *webhook.Callbacks).
	Callbacks interface{ Wake() }
}

// Kannel serves /cgi-bin/sendsms and follows the events for its DLRs.
type Kannel struct {
	cfg   Config
	svc   Service
	store Store
	clock gateway.Clock
	log   *slog.Logger
}

// New builds the adapter; a nil logger discards.
func New(cfg Config, svc Service, st Store, clock gateway.Clock, logger *slog.Logger) *Kannel {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if clock == nil {
		clock = gateway.SystemClock{}
	}
	return &Kannel{cfg: cfg, svc: svc, store: st, clock: clock, log: logger}
}

// Routes registers GET and POST /cgi-bin/sendsms on e.
func (k *Kannel) Routes(e *echo.Echo) {
	e.GET("/cgi-bin/sendsms", k.sendsms)
	e.POST("/cgi-bin/sendsms", k.sendsms)
}

// sendsms checks the whole request, then queues one message per receiver.
func (k *Kannel) sendsms(c echo.Context) error {
	ctx := c.Request().Context()
	form, missingTo, bad := requestForm(c.Request())
	if bad != nil {
		return reply(c, bad)
	}
	key, ok := k.authorise(ctx, form)
	if !ok {
		return reply(c, forbidden(answerAuth))
	}
	p, bad := parseParams(form, missingTo)
	if bad != nil {
		return reply(c, bad)
	}
	reqs, bad := k.requests(ctx, key, p)
	if bad != nil {
		return reply(c, bad)
	}
	for _, r := range reqs {
		if _, _, err := k.svc.Send(ctx, r); err != nil {
			return reply(c, k.sendError(err))
		}
	}
	if p.deferred > 0 {
		return reply(c, &answer{status: http.StatusAccepted, text: answerQueued})
	}
	return reply(c, &answer{status: http.StatusAccepted, text: answerAccepted})
}

// authorise finds the key whose secret is the password and whose name is
// the user, with the scope to send.
func (k *Kannel) authorise(ctx context.Context, form map[string][]string) (gateway.APIKey, bool) {
	user, ok1 := first(form, "user", "username")
	pass, ok2 := first(form, "password", "pass")
	if !ok1 || !ok2 || user == "" || pass == "" {
		return gateway.APIKey{}, false
	}
	key, err := k.svc.Authenticate(ctx, pass)
	if err != nil {
		if !errors.Is(err, gateway.ErrUnauthorized) {
			k.log.Error("kannel: authenticate", "err", err)
		}
		return gateway.APIKey{}, false
	}
	if subtle.ConstantTimeCompare([]byte(key.Name), []byte(user)) != 1 || !key.Has(gateway.ScopeMessagesSend) {
		return gateway.APIKey{}, false
	}
	return key, true
}

// sendError is Kannel's answer for a Send that failed after every
// receiver was checked: a limit or a full disk is temporal; a destination
// the policy refuses is a denied number.
func (k *Kannel) sendError(err error) *answer {
	var ra *gateway.RetryAfterError
	var ve *gateway.ValidationError
	switch {
	case errors.As(err, &ra):
		return &answer{status: http.StatusServiceUnavailable, text: answerTemporal, retryAfter: ra.Wait}
	case errors.As(err, &ve):
		return validationAnswer(ve)
	case !errors.Is(err, gateway.ErrStorageFull):
		k.log.Error("kannel: send", "err", err)
	}
	return &answer{status: http.StatusServiceUnavailable, text: answerTemporal, retryAfter: 30 * time.Second}
}

// validationAnswer maps the gateway's refusal of a field to Kannel's words
// for that field.
func validationAnswer(ve *gateway.ValidationError) *answer {
	switch ve.Field {
	case "to":
		return reject(answerDenied)
	case "ttl", "validity":
		return reject(answerValidity)
	case "udh":
		return reject(answerUDH)
	case "encoding":
		return reject(answerCoding)
	case "send_at":
		return reject(answerDeferred)
	case "priority":
		return reject(answerPriority)
	case "modem":
		return forbidden(answerNotRoutable)
	}
	return reject(answerCharset) // the text or data: empty, too long, control characters
}
