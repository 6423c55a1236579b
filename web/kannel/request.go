package kannel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/webhook"
)

// Kind names the adapter's callbacks in the store.
const Kind = "kannel"

// DLR types (Kannel's dlr-mask bits).
const (
	dlrDelivered   = 1
	dlrFailed      = 2
	dlrBuffered    = 4
	dlrSMSCSuccess = 8
	dlrSMSCFail    = 16
	dlrAll         = dlrDelivered | dlrFailed | dlrBuffered | dlrSMSCSuccess | dlrSMSCFail
)

// registration is a message's dlr-url and what its escapes need that the
// message does not keep: the numbers as the client wrote them, the smsc
// it named and the user.
type registration struct {
	URL      string `json:"url"`
	Mask     int    `json:"mask"`
	Receiver string `json:"to"`
	Sender   string `json:"from,omitempty"`
	SMSC     string `json:"smsc,omitempty"`
	User     string `json:"user"`
}

// requests turns p into one SendRequest per receiver and checks each with
// the gateway, so that a bad receiver refuses the whole request before
// anything is queued.
func (k *Kannel) requests(ctx context.Context, key gateway.APIKey, p params) ([]gateway.SendRequest, *answer) {
	if wantsDLR(p) {
		if err := webhook.ValidURL(expand(p.dlrURL, sample)); err != nil {
			return nil, reject(answerDLRURL)
		}
	}
	modem, smscName, a := k.resolveSMSC(ctx, p.smsc)
	if a != nil {
		return nil, a
	}
	now := k.clock.Now()
	base := content(p)
	base.Priority, base.Modem, base.APIKey, base.OwnerKey = priorityName(p.priority), modem, key.Name, key.ID
	reports := p.dlrMask > 0 && p.dlrMask&(dlrDelivered|dlrFailed|dlrBuffered) != 0
	base.StatusReport = &reports
	if p.deferred > 0 {
		base.SendAt = now.Add(time.Duration(p.deferred) * time.Minute)
	}
	out := make([]gateway.SendRequest, 0, len(p.to))
	for _, to := range p.to {
		r := base
		r.To = to
		if wantsDLR(p) {
			data, err := json.Marshal(registration{URL: p.dlrURL, Mask: p.dlrMask, Receiver: to, Sender: p.from,
				SMSC: smscName, User: key.Name})
			if err != nil {
				return nil, &answer{status: http.StatusServiceUnavailable, text: answerTemporal}
			}
			r.Callback = &gateway.MessageCallback{Kind: Kind, Data: data}
		}
		if err := k.svc.Check(ctx, r); err != nil {
			return nil, k.sendError(err)
		}
		out = append(out, r)
	}
	return out, nil
}

// wantsDLR: a dlr-url and a mask that asks for some DLR (Kannel's
// DLR_IS_ENABLED).
func wantsDLR(p params) bool { return p.dlrURL != "" && p.dlrMask > 0 && p.dlrMask&dlrAll != 0 }

// content is what p sends: coding 0 a text in the alphabet that fits it
// (GSM 7-bit, else UCS-2), 2 a text in UCS-2, 1 the bytes as 8-bit data;
// the UDH first in each segment; mclass 0 a flash SMS (1–3 go without a
// class: the core has no other); validity the TP-VP.
func content(p params) gateway.SendRequest {
	r := gateway.SendRequest{Text: p.text, Flash: p.mclass == 0}
	switch p.coding {
	case 1:
		r.Text, r.Data = "", p.raw
	case 2:
		r.Encoding = "ucs2"
	}
	if len(p.udh) > 0 {
		r.UDH = p.udh
	}
	if p.validity > 0 {
		r.Validity = time.Duration(p.validity) * time.Minute
	}
	return r
}

// priorityName maps Kannel's 0–3 onto the gateway's lanes: 0 low, 1 (and
// none) normal, 2 and 3 high.
func priorityName(p int) string {
	switch {
	case p == 0:
		return "low"
	case p >= 2:
		return "high"
	}
	return "normal"
}

// resolveSMSC finds the modem smsc names: a configured name, an IMEI or a
// port. It returns the IMEI and the name %i shows; Kannel's answer for an
// smsc no modem has.
func (k *Kannel) resolveSMSC(ctx context.Context, smsc string) (imei, name string, a *answer) {
	if smsc == "" {
		return "", "", nil
	}
	if imei, ok := k.cfg.SMSC[smsc]; ok {
		return imei, smsc, nil
	}
	mods, err := k.store.Modems(ctx)
	if err != nil {
		k.log.Error("kannel: list modems", "err", err)
		return "", "", &answer{status: http.StatusServiceUnavailable, text: answerTemporal}
	}
	for _, m := range mods {
		if m.IMEI == smsc || m.Port == smsc {
			return m.IMEI, smsc, nil
		}
	}
	return "", "", forbidden(answerNotRoutable)
}

// smscName is the name %i shows for a message sent by imei: the smsc the
// client named, else the configured name of that modem, else its IMEI.
func (k *Kannel) smscName(asked, imei string) string {
	if asked != "" {
		return asked
	}
	for _, name := range slices.Sorted(maps.Keys(k.cfg.SMSC)) {
		if k.cfg.SMSC[name] == imei {
			return name
		}
	}
	return imei
}

var errNoRegistration = errors.New("no registration")

func readRegistration(data json.RawMessage) (registration, error) {
	var r registration
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("kannel registration: %w", err)
	}
	if r.URL == "" {
		return r, errNoRegistration
	}
	return r, nil
}
