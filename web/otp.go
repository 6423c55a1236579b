package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/otp"
)

// OTPAPI is what /api/v1/otp needs of the OTP service; *gateway.OTPService
// is one.
type OTPAPI interface {
	Send(ctx context.Context, r otp.Request) (*gateway.Verification, error)
	Check(ctx context.Context, id, code string) (*gateway.Verification, error)
	CheckByNumber(ctx context.Context, to, code, purpose string) (*gateway.Verification, error)
	Resend(ctx context.Context, id string) (*gateway.Verification, error)
	Cancel(ctx context.Context, id string) (*gateway.Verification, error)
	Get(ctx context.Context, id string) (*gateway.Verification, error)
}

var _ OTPAPI = (*otp.Service)(nil)

const typeTooManyRequests = "urn:simgate:problem:too-many-requests"

// otpSendRequest is the body of POST /api/v1/otp.
type otpSendRequest struct {
	To       string          `json:"to"`
	Length   int             `json:"length"`
	TTL      json.RawMessage `json:"ttl"` // seconds or a duration string, as for messages
	Template string          `json:"template"`
	Locale   string          `json:"locale"`
	Domain   string          `json:"domain"`
	AppHash  string          `json:"app_hash"`
	Purpose  string          `json:"purpose"`
	Channel  string          `json:"channel"`
	Email    string          `json:"email"`
	Fallback bool            `json:"fallback"`

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

// otpCheckRequest is the body of the check routes.
type otpCheckRequest struct {
	Code    string `json:"code"`
	To      string `json:"to"`      // POST /otp/check only
	Purpose string `json:"purpose"` // POST /otp/check only
}

// verificationJSON is a verification as the API shows it: never the code,
// and a blocked one as pending.
type verificationJSON struct {
	ID           string        `json:"id"`
	To           string        `json:"to"`
	Status       string        `json:"status"`
	Channel      string        `json:"channel"`
	Purpose      string        `json:"purpose"`
	ExpiresAt    time.Time     `json:"expires_at"`
	CreatedAt    time.Time     `json:"created_at"`
	MessageID    *string       `json:"message_id"`
	AttemptsLeft int           `json:"attempts_left"`
	Sends        int           `json:"sends"`
	Fallback     bool          `json:"fallback"`
	Channels     []attemptJSON `json:"channels"`
}

type attemptJSON struct {
	Channel   string    `json:"channel"`
	MessageID *string   `json:"message_id,omitempty"`
	Status    string    `json:"status"`
	Error     string    `json:"error,omitempty"`
	At        time.Time `json:"at"`
}

func newVerificationJSON(v *gateway.Verification) verificationJSON {
	out := verificationJSON{
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
		Channels:     make([]attemptJSON, 0, len(v.Channels)),
	}
	if v.Status == gateway.OTPBlocked {
		// What a real one would show: one SMS queued.
		out.Sends = 1
		if v.Channel == gateway.ChannelSMS {
			out.Channels = append(out.Channels, attemptJSON{Channel: v.Channel, MessageID: optString(v.MessageID), Status: gateway.AttemptQueued, At: v.CreatedAt.UTC()})
		}
		return out
	}
	for _, a := range v.Channels {
		out.Channels = append(out.Channels, attemptJSON{Channel: a.Channel, MessageID: optString(a.MessageID), Status: a.Status, Error: a.Error, At: a.At.UTC()})
	}
	return out
}

// otpSendResponse is the 201 answer to POST /api/v1/otp.
type otpSendResponse struct {
	ID        string    `json:"id"`
	To        string    `json:"to"`
	Status    string    `json:"status"`
	Channel   string    `json:"channel"`
	ExpiresAt time.Time `json:"expires_at"`
	MessageID *string   `json:"message_id"`
}

// otpCheckResponse is the 200 answer to a check.
type otpCheckResponse struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	AttemptsLeft int    `json:"attempts_left"`
}

// otpError turns a RetryAfterError into 429 with Retry-After; the rest goes
// to handleError.
func otpError(c echo.Context, op string, err error) error {
	var ra *gateway.RetryAfterError
	if errors.As(err, &ra) {
		secs := max(int((ra.Wait+time.Second-1)/time.Second), 1)
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return newProblem(http.StatusTooManyRequests, typeTooManyRequests, ra.Error())
	}
	return fmt.Errorf("%s: %w", op, err)
}

func handleOTPSend(svc OTPAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req otpSendRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if problems := req.Valid(c.Request().Context()); len(problems) > 0 {
			return invalid(sortedFields(problems)...)
		}
		v, err := svc.Send(c.Request().Context(), otp.Request{
			To: req.To, Template: req.Template, Locale: req.Locale, Domain: req.Domain, AppHash: req.AppHash,
			Purpose: req.Purpose, Channel: req.Channel, Email: req.Email, Length: req.Length, TTL: req.ttl,
			Fallback: req.Fallback, APIKey: apiKeyOf(c),
		})
		if err != nil {
			return otpError(c, "send otp", err)
		}
		return c.JSON(http.StatusCreated, otpSendResponse{
			ID: v.ID, To: v.To, Status: v.PublicStatus(), Channel: v.Channel,
			ExpiresAt: v.ExpiresAt.UTC(), MessageID: optString(v.MessageID),
		})
	}
}

func readCheck(c echo.Context, needTo bool) (otpCheckRequest, error) {
	var req otpCheckRequest
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
		return req, invalid(sortedFields(problems)...)
	}
	return req, nil
}

func handleOTPCheck(svc OTPAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
		req, err := readCheck(c, false)
		if err != nil {
			return err
		}
		v, err := svc.Check(c.Request().Context(), c.Param("id"), req.Code)
		if err != nil {
			return otpError(c, "check otp", err)
		}
		return c.JSON(http.StatusOK, otpCheckResponse{ID: v.ID, Status: v.PublicStatus(), AttemptsLeft: v.AttemptsLeft})
	}
}

func handleOTPCheckByNumber(svc OTPAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
		req, err := readCheck(c, true)
		if err != nil {
			return err
		}
		v, err := svc.CheckByNumber(c.Request().Context(), req.To, req.Code, req.Purpose)
		if err != nil {
			return otpError(c, "check otp", err)
		}
		return c.JSON(http.StatusOK, otpCheckResponse{ID: v.ID, Status: v.PublicStatus(), AttemptsLeft: v.AttemptsLeft})
	}
}

func handleOTPResend(svc OTPAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
		v, err := svc.Resend(c.Request().Context(), c.Param("id"))
		if err != nil {
			return otpError(c, "resend otp", err)
		}
		return c.JSON(http.StatusOK, newVerificationJSON(v))
	}
}

func handleOTPCancel(svc OTPAPI) echo.HandlerFunc {
	return func(c echo.Context) error {
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
		if err != nil {
			return otpError(c, "get otp", err)
		}
		return c.JSON(http.StatusOK, newVerificationJSON(v))
	}
}
