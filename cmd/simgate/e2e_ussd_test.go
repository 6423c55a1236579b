package main

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/simgate/simgate/apiv1"
)

// TestE2E_USSD: the real binary serves POST /api/v1/modems/{imei}/ussd on
// a "simgate sim" modem over a pty: the network's answer, a code it
// refuses, a modem it does not know.
func TestE2E_USSD(t *testing.T) {
	n := startNetwork(t, 1)
	data := t.TempDir()
	out, err := exec.Command(simgateBin(t), "apikey", "create", "--data", data, "--name", "admin", "--scopes", "admin").Output()
	if err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	g := startGateway(t, data, freePort(t), lines[len(lines)-1], n.ports)
	defer g.stop(t)
	path := "/api/v1/modems/" + n.imeis[0] + "/ussd"

	var got apiv1.USSDReply
	if st := g.call(t, http.MethodPost, path, strings.NewReader(`{"code":"*100#"}`), &got); st != http.StatusOK {
		t.Fatalf("ussd: %d %+v", st, got)
	}
	want := apiv1.USSDReply{Code: "*100#", Reply: "Your balance is 10.00 USD, valid until 31.12.2099.", Status: apiv1.USSDStatusDone}
	if got != want {
		t.Errorf("ussd = %+v, want %+v", got, want)
	}
	var p apiv1.Problem
	if st := g.call(t, http.MethodPost, path, strings.NewReader(`{"code":"*999#"}`), &p); st != http.StatusUnprocessableEntity || p.Type != apiv1.ProblemUSSDUnsupported {
		t.Errorf("a code the network refuses: %d %+v", st, p)
	}
	p = apiv1.Problem{}
	if st := g.call(t, http.MethodPost, "/api/v1/modems/490154203237518/ussd", strings.NewReader(`{"code":"*100#"}`), &p); st != http.StatusNotFound {
		t.Errorf("an unknown modem: %d %+v", st, p)
	}
}
