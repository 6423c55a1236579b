package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/web/internal/problem"
)

// ModemActions acts on a connected modem, by IMEI; *session.Supervisor is
// one.
type ModemActions interface {
	USSD(ctx context.Context, imei, code string) (gateway.USSDReply, error)
}

// USSDTimeout bounds a USSD request: networks answer within seconds or
// drop the session after about 30 s; the server's write timeout is 30 s.
const USSDTimeout = 25 * time.Second

// handleUSSD is POST /api/v1/modems/{imei}/ussd. A modem runs one USSD
// session at a time: a second request waits for the first.
func handleUSSD(svc modemLister, modems ModemActions) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req apiv1.USSDRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if err := gateway.CheckUSSDCode(req.Code); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), USSDTimeout)
		defer cancel()
		imei := c.Param("imei")
		r, err := modems.USSD(ctx, imei, req.Code)
		if err != nil {
			return ussdProblem(c, svc, imei, err)
		}
		return c.JSON(http.StatusOK, apiv1.USSDReply{Code: req.Code, Reply: r.Text, Status: string(r.Status)})
	}
}

// ussdProblem says why a USSD request failed: a modem unknown (404) or
// not connected (409), a code refused by the network (422), no answer in
// time (504), or the modem's own error (502, with its words).
func ussdProblem(c echo.Context, svc modemLister, imei string, err error) error {
	switch {
	case errors.Is(err, gateway.ErrModemNotConnected):
		if !knownModem(c.Request().Context(), svc, imei) {
			return problem.New(http.StatusNotFound, apiv1.ProblemNotFound, "no modem has this IMEI; GET /api/v1/modems lists them")
		}
		return problem.New(http.StatusConflict, apiv1.ProblemModemNotConnected,
			"the modem is not connected (unplugged or reconnecting); retry once GET /api/v1/modems shows it online")
	case errors.Is(err, gateway.ErrUSSDUnsupported):
		return problem.New(http.StatusUnprocessableEntity, apiv1.ProblemUSSDUnsupported,
			"the network does not support this code", apiv1.FieldError{Field: "code", Reason: "not supported by the network"})
	case errors.Is(err, gateway.ErrUSSDTimeout), errors.Is(err, context.DeadlineExceeded) && c.Request().Context().Err() == nil:
		return problem.New(http.StatusGatewayTimeout, apiv1.ProblemUSSDTimeout,
			"the network did not answer within "+USSDTimeout.String()+"; the session was canceled, try again")
	case errors.Is(err, context.Canceled):
		return err
	}
	return problem.New(http.StatusBadGateway, apiv1.ProblemModemError, "the modem refused the code: "+err.Error())
}

// knownModem says whether imei is a modem the gateway has seen.
func knownModem(ctx context.Context, svc modemLister, imei string) bool {
	views, err := svc.Modems(ctx)
	if err != nil {
		return true // say "not connected" rather than guess "unknown"
	}
	for _, v := range views {
		if v.IMEI == imei {
			return true
		}
	}
	return false
}
