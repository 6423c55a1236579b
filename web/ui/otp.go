package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/otp"
)

// OTPConsole is what the OTP and "Try it" pages need of the OTP service;
// *otp.Service is one.
type OTPConsole interface {
	Send(ctx context.Context, r otp.Request) (*gateway.Verification, error)
	Check(ctx context.Context, id, code string) (*gateway.Verification, error)
	Get(ctx context.Context, id string) (*gateway.Verification, error)
	Stats(ctx context.Context, since time.Time) ([]gateway.OTPStat, error)
	BlockedPrefixes(ctx context.Context) ([]gateway.BlockedPrefix, error)
}

var _ OTPConsole = (*otp.Service)(nil)

// otpStatsDays is how far back the OTP page looks.
const otpStatsDays = 14

// otpRow is one line of an OTP table: a day, a country, or a total.
type otpRow struct {
	Key                                      string
	Verifications, Sends, Approvals, Blocked int
	Delivered                                int
	ToDelivered, ToApproved                  time.Duration // sums, for the means
}

// MeanToDelivered is the mean time from request to delivery report.
func (r otpRow) MeanToDelivered() time.Duration { return meanOf(r.ToDelivered, r.Delivered) }

// MeanToApproved is the mean time from request to approval: how long
// people take to type the code, delivery included.
func (r otpRow) MeanToApproved() time.Duration { return meanOf(r.ToApproved, r.Approvals) }

func meanOf(sum time.Duration, n int) time.Duration {
	if n == 0 {
		return 0
	}
	return sum / time.Duration(n)
}

// Conversion is approvals over the verifications that were not blocked:
// the number that drops when someone pumps SMS through the form.
func (r otpRow) Conversion() string {
	n := r.Verifications - r.Blocked
	if n <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(r.Approvals)/float64(n))
}

// Low flags a conversion an operator should look at.
func (r otpRow) Low() bool {
	n := r.Verifications - r.Blocked
	return n >= 10 && float64(r.Approvals)/float64(n) < 0.5
}

type otpData struct {
	Available bool
	Days      []otpRow
	Countries []otpRow
	Total     otpRow
	Detail    []gateway.OTPStat
	Blocked   []gateway.BlockedPrefix
	Since     time.Time
	Routing   bool // the router runs: Routes are its figures
	Routes    []gateway.RouteStat
}

func (h *handlers) otpStats(c echo.Context) error {
	p := page{Title: "OTP", Nav: "otp"}
	if h.otp == nil {
		p.Data = otpData{}
		return h.render(c, http.StatusOK, "otp.html", p)
	}
	ctx := c.Request().Context()
	now := h.cfg.Now().UTC()
	since := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -(otpStatsDays - 1))
	stats, err := h.otp.Stats(ctx, since)
	if err != nil {
		return err
	}
	blocked, err := h.otp.BlockedPrefixes(ctx)
	if err != nil {
		return err
	}
	d := otpData{Available: true, Detail: stats, Blocked: blocked, Since: since, Total: otpRow{Key: "All"}}
	if h.cfg.Routes != nil {
		d.Routing, d.Routes = true, h.cfg.Routes()
	}
	days, countries := map[string]*otpRow{}, map[string]*otpRow{}
	add := func(m map[string]*otpRow, key string, s gateway.OTPStat) {
		r, ok := m[key]
		if !ok {
			r = &otpRow{Key: key}
			m[key] = r
		}
		r.Verifications += s.Verifications
		r.Sends += s.Sends
		r.Approvals += s.Approvals
		r.Blocked += s.Blocked
		r.Delivered += s.Delivered
		r.ToDelivered += s.ToDelivered
		r.ToApproved += s.ToApproved
	}
	for _, s := range stats {
		add(days, s.Day.Format("2006-01-02"), s)
		country := s.Country
		if country == "" {
			country = "unknown"
		}
		add(countries, country, s)
		d.Total.Verifications += s.Verifications
		d.Total.Sends += s.Sends
		d.Total.Approvals += s.Approvals
		d.Total.Blocked += s.Blocked
		d.Total.Delivered += s.Delivered
		d.Total.ToDelivered += s.ToDelivered
		d.Total.ToApproved += s.ToApproved
	}
	d.Days = sortedRows(days, func(a, b otpRow) int { return strings.Compare(b.Key, a.Key) })
	d.Countries = sortedRows(countries, func(a, b otpRow) int { return b.Verifications - a.Verifications })
	p.Data = d
	return h.render(c, http.StatusOK, "otp.html", p)
}

func sortedRows(m map[string]*otpRow, cmp func(a, b otpRow) int) []otpRow {
	out := make([]otpRow, 0, len(m))
	for _, r := range m {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b otpRow) int {
		if c := cmp(a, b); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

// tryData is the "Try it" page: pick a virtual phone, send it a code,
// read the SMS on the phone, type the code in.
type tryData struct {
	Available    bool
	Phones       []VirtualPhone
	Phone        int // index into Phones
	Verification *gateway.Verification
	Status       string // after a check
	Since        string // the phone panel shows SMS received after this
	Code         string
}

func (h *handlers) tryPage(c echo.Context, status int, p page, d tryData) error {
	d.Available = h.otp != nil && len(h.cfg.Phones) > 0
	d.Phones = h.cfg.Phones
	p.Title, p.Nav, p.Data = "Try it", "try", d
	return h.render(c, status, "try.html", p)
}

func (h *handlers) try(c echo.Context) error {
	if len(h.cfg.Phones) == 0 {
		return h.notFound(c, "Try it (it needs virtual modems: serve --sim 2)")
	}
	return h.tryPage(c, http.StatusOK, page{}, tryData{Phone: min(1, len(h.cfg.Phones)-1)})
}

func (h *handlers) phoneArg(c echo.Context) (int, bool) {
	i, err := strconv.Atoi(c.FormValue("phone"))
	return i, err == nil && i >= 0 && i < len(h.cfg.Phones)
}

func (h *handlers) trySend(c echo.Context) error {
	i, ok := h.phoneArg(c)
	if h.otp == nil || !ok {
		return h.tryPage(c, http.StatusUnprocessableEntity, page{Error: "Pick one of the virtual phones."}, tryData{})
	}
	// The phone shows what arrives from now on: the code's SMS cannot be
	// older (the inbox is stamped by the same clock).
	since := h.cfg.Now().UTC().Format(time.RFC3339Nano)
	v, err := h.otp.Send(c.Request().Context(), otp.Request{
		To: h.cfg.Phones[i].Number, Purpose: "try-it", APIKey: uiAPIKey,
	})
	var (
		ve *gateway.ValidationError
		re *gateway.RetryAfterError
	)
	switch {
	case errors.As(err, &ve):
		return h.tryPage(c, http.StatusUnprocessableEntity, page{Error: "Not sent: " + ve.Error()}, tryData{Phone: i})
	case errors.As(err, &re):
		return h.tryPage(c, http.StatusTooManyRequests, page{Error: "Not sent: " + re.Error()}, tryData{Phone: i})
	case err != nil:
		return fmt.Errorf("send otp: %w", err)
	}
	return h.tryPage(c, http.StatusOK, page{}, tryData{Phone: i, Verification: v, Since: since})
}

func (h *handlers) tryCheck(c echo.Context) error {
	i, ok := h.phoneArg(c)
	if h.otp == nil || !ok {
		return h.tryPage(c, http.StatusUnprocessableEntity, page{Error: "Pick one of the virtual phones."}, tryData{})
	}
	ctx := c.Request().Context()
	d := tryData{Phone: i, Since: c.FormValue("since"), Code: c.FormValue("code")}
	id := c.FormValue("id")
	v, err := h.otp.Check(ctx, id, d.Code)
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		// Approved already (a code is good once) or never existed.
		if got, gerr := h.otp.Get(ctx, id); gerr == nil {
			v = got
		} else {
			return h.tryPage(c, http.StatusNotFound, page{Error: "No such verification."}, d)
		}
	case err != nil:
		return fmt.Errorf("check otp: %w", err)
	}
	d.Verification, d.Status = v, v.PublicStatus()
	return h.tryPage(c, http.StatusOK, page{}, d)
}

// phoneData is the virtual phone's screen.
type phoneData struct {
	Number   string
	Messages []*gateway.InboundMessage
}

// tryPhone is the phone panel's content: the SMS the phone's modem
// received since the code was sent, oldest first as a phone shows them.
func (h *handlers) tryPhone(c echo.Context) error {
	i, ok := h.phoneArg(c)
	if !ok {
		return h.notFound(c, "phone")
	}
	since, err := time.Parse(time.RFC3339Nano, c.QueryParam("since"))
	if err != nil {
		since = h.cfg.Now().Add(-time.Hour)
	}
	msgs, err := h.svc.Inbox(c.Request().Context(), since, 50)
	if err != nil {
		return fmt.Errorf("read inbox: %w", err)
	}
	ph := h.cfg.Phones[i]
	d := phoneData{Number: ph.Number}
	for _, m := range slices.Backward(msgs) {
		if m.Modem == ph.IMEI {
			d.Messages = append(d.Messages, m)
		}
	}
	html, err := h.fragment("phone", d)
	if err != nil {
		return err
	}
	securityHeaders(c.Response().Header())
	return c.HTMLBlob(http.StatusOK, html)
}
