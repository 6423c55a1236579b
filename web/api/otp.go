package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/otp"
	"github.com/simgate/simgate/web/internal/problem"
)

// OTPAPI is what /api/v1/otp needs of the OTP service; *otp.Service
// is one.
type OTPAPI interface {
	Send(ctx context.Context, r otp.Request) (*gateway.Verification, error)
	Check(ctx context.Context, id, code string) (*gateway.Verification, error)
	CheckByNumber(ctx context.Context, owner int64, to, code, purpose string) (*gateway.Verification, error)
	Resend(ctx context.Context, id string) (*gateway.Verification, error)
	Cancel(ctx context.Context, id string) (*gateway.Verification, error)
	Get(ctx context.Context, id string) (*gateway.Verification, error)
}

var _ OTPAPI = (*otp.Service)(nil)

// otpSendRequest is the body of POST /api/v1/otp with ttl parsed.
type otpSendRequest struct {
	apiv1.OTPSendRequest

	ttl time.Duration
}

// Valid checks the shape; the service checks the rest.
func (r *otpSendRequest) Valid(context.Context) map[string]string {
	problems := map[string]string{}
	if strings.TrimSpace(r.To) == "" && (r.Channel != gateway.ChannelEmail || strings.TrimSpace(r.Email) == "") {
		problems["to"] = "is required"
	}
	if ttl, err := parseTTL(r.TTL); err != nil {
		problems["ttl"] = err.Error()
	} else {
		r.ttl = ttl
	}
	return problems
}

// newVerificationJSON is v as the API shows it: never the code, and a
// blocked one as pending.
func newVerificationJSON(v *gateway.Verification) apiv1.Verification {
	out := apiv1.Verification{
		ID:           v.ID,
		To:           v.To,
		Status:       v.PublicStatus(),
		Channel:      v.Channel,
		Purpose:      v.Purpose,
		ExpiresAt:    v.ExpiresAt.UTC(),
		CreatedAt:    v.CreatedAt.UTC(),
		MessageID:    optString(v.MessageID),
		AttemptsLeft: v.AttemptsLeft,
		Sends:        v.Sends,
		Fallback:     v.Fallback,
		Channels:     make([]apiv1.Attempt, 0, len(v.Channels)),
	}
	if v.Status == gateway.OTPBlocked {
		// What a real one would show: one SMS queued.
		out.Sends = 1
		if v.Channel == gateway.ChannelSMS {
			out.Channels = append(out.Channels, apiv1.Attempt{Channel: v.Channel, MessageID: optString(v.MessageID), Status: gateway.AttemptQueued, At: v.CreatedAt.UTC()})
		}
		return out
	}
	for _, a := range v.Channels {
		out.Channels = append(out.Channels, apiv1.Attempt{Channel: a.Channel, MessageID: optString(a.MessageID), Status: a.Status,
			Error: a.Error, At: a.At.UTC(), Modem: a.Modem, Route: a.Route, Reroute: a.Reroute})
	}
	return out
}

// otpError turns a RetryAfterError into 429 with Retry-After; the rest goes
// to handleError.
func otpError(c echo.Context, op string, err error) error {
	return retryAfter(c, fmt.Errorf("%s: %w", op, err))
}

// retryAfter turns a RetryAfterError (a limit that lifts after a while)
// into 429 with Retry-After in whole seconds, rounded up; other errors go
// to handleError as they are.
func retryAfter(c echo.Context, err error) error {
	var ra *gateway.RetryAfterError
	if errors.As(err, &ra) {
		secs := max(int((ra.Wait+time.Second-1)/time.Second), 1)
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return problem.New(http.StatusTooManyRequests, apiv1.ProblemTooManyRequests, ra.Error())
	}
	return err
}

// ownVerification refuses, as not found, a verification of another key
// (admin sees all) before anything is done with it.
func ownVerification(c echo.Context, svc OTPAPI, id string) error {
	if callerOf(c).Admin {
		return nil
	}
	v, err := svc.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if !callerOf(c).Owns(v.OwnerKey) {
		return fmt.Errorf("verification %s of another key: %w", id, gateway.ErrNotFound)
	}
	return nil
}

func handleOTPSend(svc OTPAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req otpSendRequest
		if err := decodeJSON(c, &req.OTPSendRequest); err != nil {
			return err
		}
		if problems := req.Valid(c.Request().Context()); len(problems) > 0 {
			return problem.Invalid(problem.Fields(problems)...)
		}
		v, err := svc.Send(c.Request().Context(), otp.Request{
			To: req.To, Template: req.Template, Locale: req.Locale, Domain: req.Domain, AppHash: req.AppHash,
			Purpose: req.Purpose, Channel: req.Channel, Email: req.Email, Length: req.Length, TTL: req.ttl,
			Fallback: req.Fallback, APIKey: KeyName(c), OwnerKey: callerOf(c).KeyID,
		})
		if err != nil {
			return otpError(c, "send otp", err)
		}
		return c.JSON(http.StatusCreated, apiv1.OTPSendResponse{
			ID: v.ID, To: v.To, Status: v.PublicStatus(), Channel: v.Channel,
			ExpiresAt: v.ExpiresAt.UTC(), MessageID: optString(v.MessageID),
		})
	}
}

func readCheck(c echo.Context, needTo bool) (apiv1.OTPCheckRequest, error) {
	var req apiv1.OTPCheckRequest
	if err := decodeJSON(c, &req); err != nil {
		return req, err
	}
	problems := map[string]string{}
	if strings.TrimSpace(req.Code) == "" {
		problems["code"] = "is required"
	} else if len(req.Code) > 32 {
		problems["code"] = "is too long"
	}
	if needTo && strings.TrimSpace(req.To) == "" {
		problems["to"] = "is required"
	}
	if !needTo && (req.To != "" || req.Purpose != "") {
		problems["to"] = "belongs to POST /api/v1/otp/check; this route checks the verification in its path"
	}
	if len(problems) > 0 {
		return req, problem.Invalid(problem.Fields(problems)...)
	}
	return req, nil
}

func handleOTPCheck(svc OTPAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
		req, err := readCheck(c, false)
		if err != nil {
			return err
		}
		if err := ownVerification(c, svc, c.Param("id")); err != nil {
			return otpError(c, "check otp", err)
		}
		v, err := svc.Check(c.Request().Context(), c.Param("id"), req.Code)
		if err != nil {
			return otpError(c, "check otp", err)
		}
		return c.JSON(http.StatusOK, apiv1.OTPCheckResponse{ID: v.ID, Status: v.PublicStatus(), AttemptsLeft: v.AttemptsLeft})
	}
}

func handleOTPCheckByNumber(svc OTPAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
		req, err := readCheck(c, true)
		if err != nil {
			return err
		}
		v, err := svc.CheckByNumber(c.Request().Context(), callerOf(c).KeyID, req.To, req.Code, req.Purpose)
		if err != nil {
			return otpError(c, "check otp", err)
		}
		return c.JSON(http.StatusOK, apiv1.OTPCheckResponse{ID: v.ID, Status: v.PublicStatus(), AttemptsLeft: v.AttemptsLeft})
	}
}

func handleOTPResend(svc OTPAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := ownVerification(c, svc, c.Param("id")); err != nil {
			return otpError(c, "resend otp", err)
		}
		v, err := svc.Resend(c.Request().Context(), c.Param("id"))
		if err != nil {
			return otpError(c, "resend otp", err)
		}
		return c.JSON(http.StatusOK, newVerificationJSON(v))
	}
}

func handleOTPCancel(svc OTPAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := ownVerification(c, svc, c.Param("id")); err != nil {
			return otpError(c, "cancel otp", err)
		}
		v, err := svc.Cancel(c.Request().Context(), c.Param("id"))
		if err != nil {
			return otpError(c, "cancel otp", err)
		}
		return c.JSON(http.StatusOK, newVerificationJSON(v))
	}
}

func handleOTPGet(svc OTPAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
		v, err := svc.Get(c.Request().Context(), c.Param("id"))
		if err == nil && !callerOf(c).Owns(v.OwnerKey) {
			err = fmt.Errorf("verification %s of another key: %w", v.ID, gateway.ErrNotFound)
		}
		if err != nil {
			return otpError(c, "get otp", err)
		}
		return c.JSON(http.StatusOK, newVerificationJSON(v))
	}
}
