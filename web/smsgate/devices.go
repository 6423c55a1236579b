package smsgate

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
)

// device is a modem as SMSGate shows a phone, its SIM as simCards.
type device struct {
	ID        string    `json:"id"` // the IMEI
	Name      string    `json:"name"`
	CreatedAt string    `json:"createdAt"`
	UpdatedAt string    `json:"updatedAt"`
	LastSeen  string    `json:"lastSeen"`
	DeletedAt *string   `json:"deletedAt"`
	State     string    `json:"state"` // simgate's: online, offline, no_sim…
	SimCards  []simCard `json:"simCards"`
}

type simCard struct {
	SimNumber   int    `json:"simNumber"` // what a send's simNumber names
	ICCID       string `json:"iccid,omitempty"`
	Operator    string `json:"operator,omitempty"`
	PhoneNumber string `json:"phoneNumber,omitempty"`
}

// handleDevices lists the modems as devices, in simNumber order.
func (a *API) handleDevices(c echo.Context) error {
	mods, err := a.modems(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]device, 0, len(mods))
	for i, m := range mods {
		at := m.UpdatedAt.UTC().Format(time.RFC3339Nano)
		name := strings.TrimSpace(m.Manufacturer + " " + m.Model)
		if name == "" {
			name = m.Port
		}
		d := device{ID: m.IMEI, Name: name, CreatedAt: at, UpdatedAt: at, LastSeen: at, State: string(m.State),
			SimCards: []simCard{}}
		if m.State != gateway.ModemNoSIM {
			d.SimCards = append(d.SimCards, simCard{SimNumber: i + 1, ICCID: m.ICCID, Operator: m.Operator, PhoneNumber: m.Number})
		}
		out = append(out, d)
	}
	return c.JSON(http.StatusOK, out)
}

// inboxMessage is a received SMS in SMSGate's names.
type inboxMessage struct {
	ID          string `json:"id"`
	Message     string `json:"message"`
	PhoneNumber string `json:"phoneNumber"`
	DeviceID    string `json:"deviceId"`
	ReceivedAt  string `json:"receivedAt"`
}

// handleInbox lists received SMS oldest first: since (RFC 3339) and
// limit (≤ 100).
func (a *API) handleInbox(c echo.Context) error {
	since, err := queryTime(c.QueryParam("since"), "since")
	if err != nil {
		return err
	}
	limit, err := queryInt(c.QueryParam("limit"), "limit", 50, 1, maxListLimit)
	if err != nil {
		return err
	}
	in, err := a.svc.Inbox(c.Request().Context(), since, limit)
	if err != nil {
		return err
	}
	out := make([]inboxMessage, 0, len(in))
	for _, m := range in {
		out = append(out, inboxMessage{ID: m.ID, Message: m.Text, PhoneNumber: m.From, DeviceID: m.Modem,
			ReceivedAt: m.ReceivedAt.UTC().Format(time.RFC3339Nano)})
	}
	return c.JSON(http.StatusOK, out)
}

// health is SMSGate's GET /health answer (the IETF health check draft).
type health struct {
	Status    string           `json:"status"` // pass, warn, fail
	Version   string           `json:"version"`
	ReleaseID int              `json:"releaseId"`
	Checks    map[string]check `json:"checks"`
}

type check struct {
	Status        string `json:"status"`
	Description   string `json:"description"`
	ObservedValue int    `json:"observedValue"`
	ObservedUnit  string `json:"observedUnit"`
}

// handleHealth is pass when every modem is online, warn when some are,
// and fail (503) when the gateway is not ready: no modem online, or the
// database cannot write.
func (a *API) handleHealth(c echo.Context) error {
	ctx := c.Request().Context()
	h := health{Status: "pass", Version: a.ver, ReleaseID: 1, Checks: map[string]check{}}
	ready := a.svc.Ready(ctx)
	mods, err := a.svc.Modems(ctx)
	if err != nil {
		ready = fmt.Errorf("modems: %w", err)
	}
	online := 0
	for _, m := range mods {
		if m.State == gateway.ModemOnline {
			online++
		}
	}
	st := "pass"
	if online < len(mods) {
		st = "warn"
	}
	if online == 0 {
		st = "fail"
	}
	h.Checks["modems:online"] = check{Status: st, Description: "modems online, of " + fmt.Sprint(len(mods)),
		ObservedValue: online, ObservedUnit: "modems"}
	gw := check{Status: "pass", Description: "ready to send", ObservedUnit: "boolean", ObservedValue: 1}
	if ready != nil {
		gw = check{Status: "fail", Description: ready.Error(), ObservedUnit: "boolean"}
	}
	h.Checks["gateway:ready"] = gw
	status := http.StatusOK
	switch {
	case ready != nil:
		h.Status, status = "fail", http.StatusServiceUnavailable
	case st == "warn":
		h.Status = "warn"
	}
	return c.JSON(status, h)
}
