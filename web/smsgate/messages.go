package smsgate

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
)

// sendRequest is the body of POST /messages (and /message): one of
// textMessage, dataMessage and the deprecated message.
type sendRequest struct {
	ID                 string       `json:"id"`
	Message            *string      `json:"message"`
	TextMessage        *textMessage `json:"textMessage"`
	DataMessage        *dataMessage `json:"dataMessage"`
	PhoneNumbers       []string     `json:"phoneNumbers"`
	SimNumber          *int         `json:"simNumber"`
	WithDeliveryReport *bool        `json:"withDeliveryReport"`
	Priority           int          `json:"priority"`
	TTL                *int64       `json:"ttl"`
	ValidUntil         *time.Time   `json:"validUntil"`
	ScheduleAt         *time.Time   `json:"scheduleAt"`
	IsEncrypted        bool         `json:"isEncrypted"`
	DeviceID           string       `json:"deviceId"`
}

type textMessage struct {
	Text string `json:"text"`
}

type dataMessage struct {
	Data string `json:"data"`
	Port *int   `json:"port"`
}

// Limits of SMSGate's API.
const (
	maxRecipients = 100
	maxIDLength   = 36
	highPriority  = 100 // SMSGate: ≥ 100 skips limits and delays; here the high lane
	maxListLimit  = 100
)

func (a *API) handleSend(c echo.Context) error {
	var req sendRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	content, err := req.content()
	if err != nil {
		return err
	}
	pin, err := a.pin(c.Request().Context(), req.SimNumber, req.DeviceID)
	if err != nil {
		return err
	}
	base, err := a.baseRequest(c, &req, content, pin)
	if err != nil {
		return err
	}
	now := a.clock.Now()
	id := req.ID
	if id == "" {
		id = gateway.NewID("", now)
	}
	reqs := make([]gateway.SendRequest, len(req.PhoneNumbers))
	g := gateway.MessageGroup{Owner: base.OwnerKey, ID: id, Kind: gateway.GroupSMSGate, CreatedAt: now,
		Members: make([]gateway.GroupMember, len(req.PhoneNumbers))}
	for i, n := range req.PhoneNumbers {
		reqs[i] = base
		reqs[i].To = n
		g.Members[i].Recipient = n
	}
	msgs, err := a.svc.SendBatch(c.Request().Context(), reqs, func(ctx context.Context, msgs []*gateway.Message) error {
		for i, m := range msgs {
			g.Members[i].MessageID = m.ID
		}
		return a.group.CreateGroup(ctx, g, msgs)
	})
	if err != nil {
		return sendError(err, id)
	}
	c.Response().Header().Set(echo.HeaderLocation, Prefix+"/messages/"+id)
	return c.JSON(http.StatusAccepted, a.stateOf(g, msgs))
}

// content is what a message says: a text, or data to a port.
type content struct {
	text string
	data []byte
	port int
}

// content checks the request's fields that need no lookup and returns
// what it sends.
func (r *sendRequest) content() (content, error) {
	kinds := 0
	for _, set := range []bool{r.Message != nil, r.TextMessage != nil, r.DataMessage != nil} {
		if set {
			kinds++
		}
	}
	switch {
	case kinds != 1:
		return content{}, errorf(http.StatusBadRequest, "exactly one of textMessage, dataMessage and message is required")
	case len(r.PhoneNumbers) == 0:
		return content{}, errorf(http.StatusBadRequest, "phoneNumbers: at least one number is required")
	case len(r.PhoneNumbers) > maxRecipients:
		return content{}, errorf(http.StatusBadRequest, "phoneNumbers: %d numbers, more than the limit of %d", len(r.PhoneNumbers), maxRecipients)
	case len(r.ID) > maxIDLength:
		return content{}, errorf(http.StatusBadRequest, "id: longer than %d characters", maxIDLength)
	case r.ID != "" && strings.TrimSpace(r.ID) != r.ID:
		return content{}, errorf(http.StatusBadRequest, "id: has leading or trailing white space")
	case r.Priority < -128 || r.Priority > 127:
		return content{}, errorf(http.StatusBadRequest, "priority: %d is outside -128..127", r.Priority)
	case r.TTL != nil && r.ValidUntil != nil:
		return content{}, errorf(http.StatusBadRequest, "ttl and validUntil conflict: give one")
	case r.TTL != nil && *r.TTL <= 0:
		return content{}, errorf(http.StatusBadRequest, "ttl: must be a positive number of seconds")
	case r.IsEncrypted:
		return content{}, errorf(http.StatusBadRequest, "isEncrypted: encrypted messages are not supported; send them in clear over TLS")
	}
	switch {
	case r.Message != nil:
		return content{text: *r.Message}, nil
	case r.TextMessage != nil:
		return content{text: r.TextMessage.Text}, nil
	}
	return r.DataMessage.content()
}

// content checks a data message: base64 data, a port 0..65535.
func (d *dataMessage) content() (content, error) {
	data, err := base64.StdEncoding.DecodeString(d.Data)
	switch {
	case err != nil:
		return content{}, errorf(http.StatusBadRequest, "dataMessage.data: not base64: %v", err)
	case len(data) == 0:
		return content{}, errorf(http.StatusBadRequest, "dataMessage.data: is empty")
	case d.Port == nil:
		return content{}, errorf(http.StatusBadRequest, "dataMessage.port: is required")
	case *d.Port < 0 || *d.Port > 0xFFFF:
		return content{}, errorf(http.StatusBadRequest, "dataMessage.port: %d is outside 0..65535", *d.Port)
	}
	return content{data: data, port: *d.Port}, nil
}

// baseRequest is the gateway request every recipient's message shares.
func (a *API) baseRequest(c echo.Context, r *sendRequest, body content, pin string) (gateway.SendRequest, error) {
	key := keyOf(c)
	base := gateway.SendRequest{Text: body.text, Modem: pin, StatusReport: r.WithDeliveryReport,
		Priority: priorityName(r.Priority), APIKey: key.Name, OwnerKey: key.ID}
	if body.data != nil {
		base.Data, base.Ports = body.data, &gateway.Ports{Dest: body.port}
	}
	now := a.clock.Now()
	if r.ScheduleAt != nil {
		base.SendAt = *r.ScheduleAt
	}
	switch {
	case r.TTL != nil:
		base.TTL = time.Duration(*r.TTL) * time.Second
	case r.ValidUntil != nil:
		start := now
		if base.SendAt.After(now) {
			start = base.SendAt
		}
		if !r.ValidUntil.After(start) {
			return base, errorf(http.StatusBadRequest, "validUntil: is not after the time the message may be sent")
		}
		base.TTL = r.ValidUntil.Sub(start)
	}
	return base, nil
}

// priorityName maps SMSGate's -128..127 to the lanes: ≥ 100 high (OTP's
// lane), below 0 low, else normal.
func priorityName(p int) string {
	switch {
	case p >= highPriority:
		return "high"
	case p < 0:
		return "low"
	}
	return "normal"
}

// pin is the IMEI simNumber (1..n, the modems in GET /devices order) or
// deviceId names; "" when neither does.
func (a *API) pin(ctx context.Context, sim *int, device string) (string, error) {
	if sim == nil && device == "" {
		return "", nil
	}
	mods, err := a.modems(ctx)
	if err != nil {
		return "", err
	}
	var bySim string
	if sim != nil {
		if *sim < 1 || *sim > len(mods) {
			return "", errorf(http.StatusBadRequest, "simNumber: %d; this gateway has %d modems (SIMs), numbered from 1", *sim, len(mods))
		}
		bySim = mods[*sim-1].IMEI
	}
	if device == "" {
		return bySim, nil
	}
	if !slices.ContainsFunc(mods, func(m gateway.ModemView) bool { return m.IMEI == device }) {
		return "", errorf(http.StatusBadRequest, "deviceId: no modem with IMEI %q is known to this gateway", device)
	}
	if bySim != "" && bySim != device {
		return "", errorf(http.StatusBadRequest, "simNumber %d is the modem %s, not deviceId %s", *sim, bySim, device)
	}
	return device, nil
}

// modems are the modems in the order simNumber counts them: by IMEI.
func (a *API) modems(ctx context.Context) ([]gateway.ModemView, error) {
	mods, err := a.svc.Modems(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(mods, func(x, y gateway.ModemView) int { return strings.Compare(x.IMEI, y.IMEI) })
	return mods, nil
}

// fieldNames are the gateway's field names in SMSGate's words.
var fieldNames = map[string]string{
	"text":     "textMessage.text",
	"data":     "dataMessage.data",
	"port":     "dataMessage.port",
	"ttl":      "ttl (or validUntil)",
	"send_at":  "scheduleAt",
	"modem":    "simNumber (or deviceId)",
	"priority": "priority",
}

// sendError says which recipient a refusal is about, in SMSGate's words.
func sendError(err error, id string) error {
	var item *gateway.ItemError
	var ve *gateway.ValidationError
	if errors.As(err, &item) && errors.As(item.Err, &ve) {
		field, ok := fieldNames[ve.Field]
		switch {
		case ve.Field == "to":
			field = fmt.Sprintf("phoneNumbers[%d]", item.Index)
		case !ok:
			field = ve.Field
		}
		return errorf(http.StatusBadRequest, "%s: %s", field, ve.Reason)
	}
	if errors.Is(err, gateway.ErrConflict) {
		return errorf(http.StatusConflict, "a message with the id %q exists already", id)
	}
	return err
}

// decodeBody reads one JSON object into dst; unknown fields are ignored,
// as SMSGate's server does, but the wrong type or broken JSON is a 400.
func decodeBody(c echo.Context, dst any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", mbe.Limit)
		}
		return errorf(http.StatusBadRequest, "the body could not be read")
	}
	if err := json.Unmarshal(body, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errorf(http.StatusBadRequest, "%s: want a JSON %s, not %s", te.Field, te.Type, te.Value)
		}
		return errorf(http.StatusBadRequest, "the body is not valid JSON: %v", err)
	}
	return nil
}

func (a *API) handleGet(c echo.Context) error {
	g, msgs, err := a.group.Group(c.Request().Context(), callerOf(c).OwnerFilter(), c.Param("id"))
	if err != nil {
		return notFound(err, "message", c.Param("id"))
	}
	return c.JSON(http.StatusOK, a.stateOf(g, msgs))
}

func notFound(err error, what, id string) error {
	if errors.Is(err, gateway.ErrNotFound) {
		return errorf(http.StatusNotFound, "no %s with the id %q", what, id)
	}
	return err
}

// handleCancel cancels every recipient's message still queued: 204 when one
// was, 409 when all are being sent or finished.
func (a *API) handleCancel(c echo.Context) error {
	ctx := c.Request().Context()
	_, msgs, err := a.group.Group(ctx, callerOf(c).OwnerFilter(), c.Param("id"))
	if err != nil {
		return notFound(err, "message", c.Param("id"))
	}
	canceled := 0
	for _, m := range msgs {
		_, err := a.svc.Cancel(ctx, m.ID)
		switch {
		case err == nil:
			canceled++
		case !errors.Is(err, gateway.ErrConflict):
			return err
		}
	}
	if canceled == 0 {
		return errorf(http.StatusConflict, "the message is being sent or finished for every recipient; it can no longer be cancelled")
	}
	return c.NoContent(http.StatusNoContent)
}

// handleList lists the key's messages newest first: from and to bound
// their creation (RFC 3339), state is one of SMSGate's, limit ≤ 100 and
// offset page; the total before paging is in X-Total-Count.
func (a *API) handleList(c echo.Context) error {
	q := c.QueryParams()
	f := gateway.GroupFilter{Owner: callerOf(c).OwnerFilter()}
	var err error
	if f.From, err = queryTime(q.Get("from"), "from"); err != nil {
		return err
	}
	if f.Until, err = queryTime(q.Get("to"), "to"); err != nil {
		return err
	}
	limit, err := queryInt(q.Get("limit"), "limit", 50, 1, maxListLimit)
	if err != nil {
		return err
	}
	offset, err := queryInt(q.Get("offset"), "offset", 0, 0, 1<<31-1)
	if err != nil {
		return err
	}
	want := q.Get("state")
	if want != "" && !slices.Contains(states, want) {
		return errorf(http.StatusBadRequest, "state: %q; want one of %s", want, strings.Join(states, ", "))
	}
	if want == "" { // the store pages; otherwise the state is derived first
		f.Limit, f.Offset = limit, offset
	}
	gs, msgs, total, err := a.group.GroupsOf(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]messageState, 0, len(gs))
	for i, g := range gs {
		if st := a.stateOf(g, msgs[i]); want == "" || st.State == want {
			out = append(out, st)
		}
	}
	if want != "" {
		total = len(out)
		out = out[min(offset, len(out)):]
		out = out[:min(limit, len(out))]
	}
	c.Response().Header().Set("X-Total-Count", strconv.Itoa(total))
	return c.JSON(http.StatusOK, out)
}

func queryTime(v, name string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, errorf(http.StatusBadRequest, "%s: %q is not an RFC 3339 time (2006-01-02T15:04:05Z)", name, v)
	}
	return t, nil
}

func queryInt(v, name string, def, lo, hi int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errorf(http.StatusBadRequest, "%s: %q; want a whole number from %d to %d", name, v, lo, hi)
	}
	return n, nil
}
