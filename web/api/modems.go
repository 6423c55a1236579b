package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
)

type modemLister interface {
	Modems(ctx context.Context) ([]gateway.ModemView, error)
}

func handleModems(svc modemLister) echo.HandlerFunc {
	return func(c echo.Context) error {
		views, err := svc.Modems(c.Request().Context())
		if err != nil {
			return fmt.Errorf("list modems: %w", err)
		}
		out := apiv1.ModemList{Modems: make([]apiv1.Modem, 0, len(views))}
		for _, v := range views {
			mj := apiv1.Modem{
				ID:           v.IMEI,
				Host:         v.Host,
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
			if !v.PausedUntil.IsZero() {
				until := v.PausedUntil.UTC()
				mj.PausedUntil, mj.PauseReason = &until, &v.PauseReason
			}
			if b := v.Balance; b != nil {
				mj.Balance = &apiv1.Balance{Amount: b.Amount, Reply: b.Reply, Low: b.Low, CheckedAt: b.CheckedAt.UTC()}
				if b.HasThreshold {
					mj.Balance.Threshold = &b.Threshold
				}
			}
			if v.SignalKnown {
				mj.Signal = &apiv1.Signal{CSQ: v.CSQ, DBM: v.DBM, Bars: v.Bars}
			}
			out.Modems = append(out.Modems, mj)
		}
		return c.JSON(http.StatusOK, out)
	}
}
