package main

import (
	"encoding/base64"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
)

// TestE2E_USSDAndBalance runs the real binary on a "simgate sim" modem over
// a pty. First POST /api/v1/modems/{imei}/ussd: the network's answer, a
// code it refuses, a modem it does not know. Then, restarted with a
// balance: check in its config, the gateway reads the balance by USSD,
// shows it in /api/v1/modems, and sends modem.balance_low to a webhook:
// the sim answers 10.00 and the threshold is 20.
func TestE2E_USSDAndBalance(t *testing.T) {
	hooks := newEventReceiver(t)
	n := startNetwork(t, 1)
	data := t.TempDir()
	out, err := exec.Command(simgateBin(t), "apikey", "create", "--data", data, "--name", "admin", "--scopes", "admin").Output()
	if err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	g := startGateway(t, data, freePort(t), lines[len(lines)-1], n.ports)
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

	// Subscribe before the check runs: an endpoint gets the events that
	// happen after it exists.
	var wh struct {
		Secret string `json:"secret"`
	}
	body := `{"url":"` + hooks.srv.URL + `/events","events":["modem.balance_low"]}`
	if st := g.call(t, http.MethodPost, "/api/v1/webhooks", strings.NewReader(body), &wh); st != http.StatusCreated {
		t.Fatalf("POST /api/v1/webhooks = %d", st)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(wh.Secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	hooks.setKey(key)
	g.stop(t)

	cfg := filepath.Join(t.TempDir(), "simgate.yaml")
	yaml := "balance:\n  - modem: \"*\"\n    code: \"*100#\"\n    interval: 1h\n    pattern: 'balance is ([0-9.]+)'\n    threshold: 20\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	g = startGateway(t, data, freePort(t), g.key, n.ports, "--config", cfg)
	defer g.stop(t)
	var bal *apiv1.Balance
	waitFor(t, 60*time.Second, "the balance in /api/v1/modems", func() bool {
		var out apiv1.ModemList
		if g.get(t, "/api/v1/modems", &out) != http.StatusOK || len(out.Modems) != 1 {
			return false
		}
		bal = out.Modems[0].Balance
		return bal != nil
	})
	if bal.Amount != 10 || !bal.Low || bal.Threshold == nil || *bal.Threshold != 20 || !strings.Contains(bal.Reply, "10.00 USD") {
		t.Errorf("balance %+v, want 10, low against 20, with the reply", bal)
	}
	waitFor(t, 60*time.Second, "modem.balance_low at the webhook", func() bool {
		return hooks.accepted()["modem.balance_low "+n.imeis[0]]
	})
	for _, d := range hooks.all() {
		if d.err != "" {
			t.Errorf("webhook request: %s", d.err)
		}
	}
}
