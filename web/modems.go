package web

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
)

// modemJSON is a modem with today's counters. Signal is null until
// measured; LastError is null when there has been none.
type modemJSON struct {
	ID           string      `json:"id"` // IMEI
	Port         string      `json:"port"`
	Manufacturer string      `json:"manufacturer"`
	Model        string      `json:"model"`
	Operator     string      `json:"operator"`
	Registration string      `json:"registration"`
	Signal       *signalJSON `json:"signal"`
	State        string      `json:"state"`
	QueueDepth   int         `json:"queue_depth"`
	Sent         int         `json:"sent"`
	Failed       int         `json:"failed"`
	LastError    *string     `json:"last_error"`
}

// signalJSON is +CSQ as read, in dBm, and as 0–4 bars.
type signalJSON struct {
	CSQ  int `json:"csq"`
	DBM  int `json:"dbm"`
	Bars int `json:"bars"`
}

type modemsResponse struct {
	Modems []modemJSON `json:"modems"`
}

type modemLister interface {
	Modems(ctx context.Context) ([]gateway.ModemView, error)
}

func handleModems(svc modemLister) echo.HandlerFunc {
	return func(c echo.Context) error {
		views, err := svc.Modems(c.Request().Context())
		if err != nil {
			return fmt.Errorf("list modems: %w", err)
		}
		out := modemsResponse{Modems: make([]modemJSON, 0, len(views))}
		for _, v := range views {
			mj := modemJSON{
				ID:           v.IMEI,
				Port:         v.Port,
				Manufacturer: v.Manufacturer,
				Model:        v.Model,
				Operator:     v.Operator,
				Registration: v.Registration,
				State:        string(v.State),
				QueueDepth:   v.QueueDepth,
				Sent:         v.Sent,
				Failed:       v.Failed,
				LastError:    optString(v.LastError),
			}
			if v.SignalKnown {
				mj.Signal = &signalJSON{CSQ: v.CSQ, DBM: v.DBM, Bars: v.Bars}
			}
			out.Modems = append(out.Modems, mj)
		}
		return c.JSON(http.StatusOK, out)
	}
}
