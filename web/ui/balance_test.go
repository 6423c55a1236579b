package ui

import (
	"html"
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
