package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/web/internal/problem"
)

// ctxAPIKey is the key of the authenticated gateway.APIKey in the
// echo.Context.
const ctxAPIKey = "simgate.api_key"

// KeyName is the name of the API key that authenticated the request, ""
// before requireKey or without a key: the request log shows it.
func KeyName(c echo.Context) string {
	k, _ := c.Get(ctxAPIKey).(gateway.APIKey)
	return k.Name
}

// callerOf is the key behind the request as tenancy sees it: its ID and
// whether it is admin. A request that passed requireKey always has one.
func callerOf(c echo.Context) gateway.Caller {
	k, _ := c.Get(ctxAPIKey).(gateway.APIKey)
	return gateway.CallerOf(k)
}

// authenticator is the part of the gateway that checks API keys.
type authenticator interface {
	Authenticate(ctx context.Context, key string) (gateway.APIKey, error)
}

// requireKey admits a request with "Authorization: Bearer <key>" for a key
// the gateway knows that holds scope (admin holds every scope), and leaves
// the key in the context: 401 without a valid key, 403 without the scope.
func requireKey(auth authenticator, scope string) echo.MiddlewareFunc {
	if !slices.Contains(gateway.Scopes, scope) {
		panic(fmt.Sprintf("api: route scope %q is not a gateway scope", scope))
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			token, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
			if !ok {
				return problem.New(http.StatusUnauthorized, apiv1.ProblemUnauthorized,
					`this route needs an API key: send "Authorization: Bearer <key>"`)
			}
			key, err := auth.Authenticate(c.Request().Context(), token)
			if errors.Is(err, gateway.ErrUnauthorized) {
				p := problem.New(http.StatusUnauthorized, apiv1.ProblemUnauthorized, "the API key is not valid or was revoked")
				p.InvalidToken = true
				return p
			}
			if err != nil {
				return fmt.Errorf("authenticate: %w", err)
			}
			c.Set(ctxAPIKey, key)
			if !key.Has(scope) {
				return problem.New(http.StatusForbidden, apiv1.ProblemForbidden,
					fmt.Sprintf("this route needs an API key with the scope %q (or admin); this key has %s", scope, scopeList(key.Scopes)))
			}
			return next(c)
		}
	}
}

func scopeList(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// bearerToken parses an RFC 6750 §2.1 credential; the scheme is
// case-insensitive (RFC 9110 §11.1).
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
