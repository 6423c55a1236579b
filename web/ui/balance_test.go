package ui

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// The overview's card and the modem's page show the last balance check's
// amount, whether it is low, and when it was read; a modem never checked
// has no balance on its card.
func TestUI_ModemBalance(t *testing.T) {
	r := mustUI(t)
	r.login(t)
	if _, body := r.get(t, "/"); strings.Contains(body, ">Balance<") {
		t.Error("the card of a modem never checked shows a balance")
	}
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	r.mu.Lock()
	r.modems[0].Balance = &gateway.Balance{Amount: 4.5, Reply: "Your balance is 4.50 EUR", Threshold: 5, HasThreshold: true, Low: true, CheckedAt: at}
	r.mu.Unlock()
	for _, path := range []string{"/", "/modems/" + testIMEI} {
		_, body := r.get(t, path)
		body = html.UnescapeString(body)
		i := strings.Index(body, ">Balance<")
		if i < 0 {
			t.Errorf("%s does not show the balance", path)
			continue
		}
		row := body[i:min(len(body), i+400)]
		for _, want := range []string{"4.50", ">low<", `datetime="` + at.Format("2006-01-02T15:04:05")} {
			if !strings.Contains(row, want) {
				t.Errorf("%s shows %q, want %q in it", path, row, want)
			}
		}
	}
	if _, body := r.get(t, "/modems/"+testIMEI); !strings.Contains(html.UnescapeString(body), "Your balance is 4.50 EUR") {
		t.Error("the modem's page does not quote the reply the amount was read from")
	}
}

// ussdActions answers every code with a menu that waits for a choice.
type ussdActions struct{}

func (ussdActions) Reinit(string) error { return nil }
func (ussdActions) USSD(context.Context, string, string) (gateway.USSDReply, error) {
	return gateway.USSDReply{Text: "1 Balance\n2 Top-up", Status: gateway.USSDMore}, nil
}

// The modem page shows a USSD reply decoded, and says when the network
// waits for a choice.
func TestUI_USSDMenu(t *testing.T) {
	r := mustUIWith(t, ussdActions{})
	csrf := r.login(t)
	res, body := r.post(t, "/modems/"+testIMEI+"/ussd", url.Values{"csrf": {csrf}, "code": {"*100#"}})
	body = html.UnescapeString(body)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "1 Balance\n2 Top-up") || !strings.Contains(body, "waits for an answer") {
		t.Errorf("USSD page %d lacks the menu or the hint:\n%s", res.StatusCode, body)
	}
}
