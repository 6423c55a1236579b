package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/session"
)

// uiAPIKey names the status page in a message's audit column.
const uiAPIKey = "status-page"

// modemCard is one modem on the overview.
type modemCard struct {
	gateway.ModemView
	Delivered int
	Cap       int     // daily cap, 0 = none
	CapUsed   float64 // Sent/Cap
}

// overviewData is the live part of the overview.
type overviewData struct {
	Modems                  []modemCard
	Online, Total           int
	Queue                   int
	Sent, Failed, Delivered int
	Problems                []gateway.ErrorEvent
	Region                  gateway.RegionInfo // Region == "" when not told
	// SilentHosts are the hosts of a shared database not seen for longer
	// than the lease (their modems are listed offline), by name.
	SilentHosts []silentHost
	Updated     time.Time
}

// silentHost is a host without a heartbeat for For.
type silentHost struct {
	Host string
	For  time.Duration
}

func (h *handlers) overviewData(ctx context.Context) (overviewData, error) {
	views, err := h.svc.Modems(ctx)
	if err != nil {
		return overviewData{}, fmt.Errorf("list modems: %w", err)
	}
	now := h.cfg.Now()
	delivered, err := h.store.DeliveredSince(ctx, gateway.DayStart(now))
	if err != nil {
		return overviewData{}, err
	}
	queue, err := h.store.QueueDepth(ctx)
	if err != nil {
		return overviewData{}, err
	}
	d := overviewData{Total: len(views), Queue: queue, Updated: now}
	if h.cfg.Region != nil {
		d.Region = h.cfg.Region()
	}
	for _, v := range views {
		card := modemCard{ModemView: v, Delivered: delivered[v.IMEI], Cap: h.cfg.DailyCap}
		if card.Cap > 0 {
			card.CapUsed = min(float64(v.Sent)/float64(card.Cap), 1)
		}
		if v.State == gateway.ModemOnline {
			d.Online++
		}
		d.Sent += v.Sent
		d.Failed += v.Failed
		d.Delivered += card.Delivered
		d.Modems = append(d.Modems, card)
		if v.HostSilent > 0 && (len(d.SilentHosts) == 0 || d.SilentHosts[len(d.SilentHosts)-1].Host != v.Host) {
			d.SilentHosts = append(d.SilentHosts, silentHost{Host: v.Host, For: v.HostSilent}) // listed by host
		}
	}
	return d, nil
}

func (h *handlers) overview(c echo.Context) error {
	d, err := h.overviewData(c.Request().Context())
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "overview.html", page{Title: "Overview", Nav: "overview", Data: d})
}

// modemData is the modem detail page.
type modemData struct {
	Modem    modemCard
	Signal   signalChart
	Sends    sendsChart
	Messages []*gateway.Message
	Errors   []gateway.ErrorEvent
	Actions  bool
	USSD     string // the network's answer to the last USSD code
	Form     actionForm
}

type actionForm struct {
	To, Text, Code string
}

func (h *handlers) modemPage(c echo.Context, status int, p page, form actionForm, ussd string) error {
	ctx := c.Request().Context()
	d, err := h.overviewData(ctx)
	if err != nil {
		return err
	}
	imei := c.Param("imei")
	i := slices.IndexFunc(d.Modems, func(m modemCard) bool { return m.IMEI == imei })
	if i < 0 {
		return h.notFound(c, "modem "+imei)
	}
	now := h.cfg.Now()
	since := now.Add(-24 * time.Hour)
	samples, err := h.store.ModemSamples(ctx, imei, since)
	if err != nil {
		return err
	}
	hours, err := h.store.HourlySends(ctx, imei, since)
	if err != nil {
		return err
	}
	msgs, _, err := h.store.Messages(ctx, gateway.MessageFilter{Modem: imei, Limit: 20})
	if err != nil {
		return err
	}
	errs, err := h.store.RecentErrors(ctx, imei, 20)
	if err != nil {
		return err
	}
	if form.Text == "" {
		form.Text = "simgate test message"
	}
	m := d.Modems[i]
	p.Title, p.Nav = "Modem "+modemName(m.ModemInfo), "overview"
	p.Data = modemData{
		Modem:    m,
		Signal:   newSignalChart(samples, since, now),
		Sends:    newSendsChart(hours, since, now),
		Messages: msgs,
		Errors:   errs,
		Actions:  h.actions != nil,
		USSD:     ussd,
		Form:     form,
	}
	return h.render(c, status, "modem.html", p)
}

func modemName(m gateway.ModemInfo) string {
	if n := strings.TrimSpace(m.Manufacturer + " " + m.Model); n != "" {
		return n
	}
	return m.IMEI
}

func (h *handlers) modem(c echo.Context) error {
	return h.modemPage(c, http.StatusOK, page{}, actionForm{}, "")
}

func (h *handlers) reinit(c echo.Context) error {
	if h.actions == nil {
		return h.modemPage(c, http.StatusNotImplemented, page{Error: "This gateway cannot re-initialise modems."}, actionForm{}, "")
	}
	imei := c.Param("imei")
	if err := h.actions.Reinit(imei); err != nil {
		if errors.Is(err, session.ErrNotAttached) {
			return h.modemPage(c, http.StatusConflict, page{Error: "The modem is not connected."}, actionForm{}, "")
		}
		return err
	}
	h.logger.Info("modem re-init requested from the status page", "modem", imei)
	return h.modemPage(c, http.StatusOK, page{Notice: "The modem's port was closed; the gateway opens and initialises it again in a few seconds."}, actionForm{}, "")
}

func (h *handlers) testSMS(c echo.Context) error {
	form := actionForm{To: strings.TrimSpace(c.FormValue("to")), Text: c.FormValue("text")}
	m, _, err := h.svc.Send(c.Request().Context(), gateway.SendRequest{
		To: form.To, Text: form.Text, Modem: c.Param("imei"), Priority: "high", APIKey: uiAPIKey,
	})
	var ve *gateway.ValidationError
	if errors.As(err, &ve) {
		return h.modemPage(c, http.StatusUnprocessableEntity, page{Error: "Not sent: " + ve.Error()}, form, "")
	}
	if err != nil {
		return err
	}
	return h.modemPage(c, http.StatusOK, page{Notice: "Test message " + m.ID + " queued."}, form, "")
}

func (h *handlers) ussd(c echo.Context) error {
	form := actionForm{Code: strings.TrimSpace(c.FormValue("code"))}
	if h.actions == nil {
		return h.modemPage(c, http.StatusNotImplemented, page{Error: "This gateway cannot run USSD codes."}, form, "")
	}
	if !validUSSD(form.Code) {
		return h.modemPage(c, http.StatusUnprocessableEntity, page{Error: "A USSD code is digits, * and #, such as *100#."}, form, "")
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 20*time.Second)
	defer cancel()
	reply, err := h.actions.USSD(ctx, c.Param("imei"), form.Code)
	switch {
	case errors.Is(err, session.ErrNotAttached):
		return h.modemPage(c, http.StatusConflict, page{Error: "The modem is not connected."}, form, "")
	case err != nil:
		return h.modemPage(c, http.StatusBadGateway, page{Error: "USSD failed: " + err.Error()}, form, "")
	}
	text := reply.Text
	switch reply.Status {
	case gateway.USSDMore:
		text += "\n\n(The network waits for an answer: send your choice as the next code.)"
	case gateway.USSDEnded:
		text += "\n\n(The network ended the session.)"
	}
	return h.modemPage(c, http.StatusOK, page{}, form, text)
}

func validUSSD(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != '*' && r != '#' {
			return false
		}
	}
	return true
}

// messagesData is the message log.
type messagesData struct {
	Query    messagesQuery
	Messages []*gateway.Message
	Modems   []gateway.ModemView
	Statuses []gateway.Status
	Prev     string // query strings of the neighbour pages; "" = none
	Next     string
	Page     int
}

// messagesQuery is the log's filter form as typed.
type messagesQuery struct {
	Status, Modem, Number, Text, From, Until string
	Page                                     int
}

const (
	uiPageSize      = 50
	datetimeLocal   = "2006-01-02T15:04"
	statusesForForm = "queued sending sent delivered failed expired canceled"
)

func (q messagesQuery) values(page int) string {
	v := url.Values{}
	for k, s := range map[string]string{"status": q.Status, "modem": q.Modem, "number": q.Number,
		"text": q.Text, "from": q.From, "until": q.Until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return "?" + v.Encode()
}

func (h *handlers) messages(c echo.Context) error {
	ctx := c.Request().Context()
	q := messagesQuery{
		Status: c.QueryParam("status"), Modem: c.QueryParam("modem"),
		Number: strings.TrimSpace(c.QueryParam("number")), Text: c.QueryParam("text"),
		From: c.QueryParam("from"), Until: c.QueryParam("until"),
	}
	q.Page, _ = strconv.Atoi(c.QueryParam("page"))
	q.Page = max(q.Page, 1)
	search := gateway.MessageFilter{
		Status: gateway.Status(q.Status), Modem: q.Modem, Text: q.Text,
		// A number is searched by its digits: "+1 (415) 555" finds +1415555….
		Number: strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, q.Number),
		Limit: uiPageSize, Offset: (q.Page - 1) * uiPageSize,
	}
	var p page
	if q.Number != "" && search.Number == "" {
		p.Error = "A number is searched by its digits; there are none in " + strconv.Quote(q.Number) + "."
	}
	if q.Status != "" && !slices.Contains(strings.Fields(statusesForForm), q.Status) {
		p.Error, search.Status = "Unknown status "+strconv.Quote(q.Status)+".", ""
	}
	for _, f := range []struct {
		in  string
		out *time.Time
	}{{q.From, &search.From}, {q.Until, &search.Until}} {
		if f.in == "" {
			continue
		}
		t, err := time.ParseInLocation(datetimeLocal, f.in, time.Local)
		if err != nil {
			p.Error = "Times are YYYY-MM-DDTHH:MM."
			continue
		}
		*f.out = t
	}
	msgs, next, err := h.store.Messages(ctx, search)
	if err != nil {
		return err
	}
	more := next != ""
	modems, err := h.svc.Modems(ctx)
	if err != nil {
		return fmt.Errorf("list modems: %w", err)
	}
	d := messagesData{Query: q, Messages: msgs, Modems: modems, Page: q.Page}
	for _, s := range strings.Fields(statusesForForm) {
		d.Statuses = append(d.Statuses, gateway.Status(s))
	}
	if q.Page > 1 {
		d.Prev = q.values(q.Page - 1)
	}
	if more {
		d.Next = q.values(q.Page + 1)
	}
	p.Title, p.Nav, p.Data = "Messages", "messages", d
	return h.render(c, http.StatusOK, "messages.html", p)
}

func (h *handlers) messagePage(c echo.Context, status int, p page) error {
	m, err := h.svc.Message(c.Request().Context(), c.Param("id"))
	if errors.Is(err, gateway.ErrNotFound) {
		return h.notFound(c, "message "+c.Param("id"))
	}
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	p.Title, p.Nav, p.Data = "Message "+m.ID, "messages", m
	return h.render(c, status, "message.html", p)
}

func (h *handlers) message(c echo.Context) error { return h.messagePage(c, http.StatusOK, page{}) }

func (h *handlers) cancel(c echo.Context) error {
	_, err := h.svc.Cancel(c.Request().Context(), c.Param("id"))
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		return h.notFound(c, "message "+c.Param("id"))
	case errors.Is(err, gateway.ErrConflict):
		return h.messagePage(c, http.StatusConflict, page{Error: "Too late: the message is no longer queued."})
	case err != nil:
		return fmt.Errorf("cancel message: %w", err)
	}
	return h.messagePage(c, http.StatusOK, page{Notice: "Canceled."})
}

func (h *handlers) inbox(c echo.Context) error {
	msgs, err := h.svc.Inbox(c.Request().Context(), time.Time{}, 200)
	if err != nil {
		return fmt.Errorf("read inbox: %w", err)
	}
	return h.render(c, http.StatusOK, "inbox.html", page{Title: "Inbox", Nav: "inbox", Data: msgs})
}
