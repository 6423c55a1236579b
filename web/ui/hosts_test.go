package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// On a shared database, a host silent past the lease is named at the top
// of the overview with how long, and its modems' cards say it; a live
// host's are as they were.
func TestUI_OverviewSilentHost(t *testing.T) {
	r := mustUI(t)
	r.mu.Lock()
	r.modems[0].Host = "host-a"
	r.modems = append(r.modems,
		gateway.ModemView{ModemInfo: gateway.ModemInfo{IMEI: "490154203237518", Host: "host-b", State: gateway.ModemOffline},
			HostSilent: 42 * time.Second},
		gateway.ModemView{ModemInfo: gateway.ModemInfo{IMEI: "490154203237526", Host: "host-b", State: gateway.ModemOffline},
			HostSilent: 42 * time.Second})
	r.mu.Unlock()
	r.login(t)
	_, body := r.get(t, "/")
	if n := strings.Count(body, `<p class="host-down"`); n != 1 ||
		!strings.Contains(body, "Host <strong>host-b</strong>: not seen for 42 s") {
		t.Errorf("overview has %d host-down notes, want one saying host-b not seen for 42 s:\n%s", n, body)
	}
	if n := strings.Count(body, "not seen for 42 s</span>"); n != 2 {
		t.Errorf("%d cards say their host was not seen, want host-b's 2", n)
	}
	if strings.Contains(body, "host-a</strong>") {
		t.Error("the live host-a is named as not seen")
	}
}
