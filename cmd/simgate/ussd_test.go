package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/modem/modemsim"
)

// ptyModem is a virtual modem on a real pty, in this process, so a test
// can set how it answers USSD.
func ptyModem(t *testing.T) (*modemsim.Modem, string) {
	t.Helper()
	n := modemsim.NewNetwork()
	t.Cleanup(func() { n.Close() })
	sim := n.AddModem(modemsim.Config{})
	path, err := sim.OpenPTY(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return sim, path
}

// TestUSSD_CLI runs "simgate ussd PORT CODE" on a virtual modem over a pty
// that answers in UCS-2 under dcs 15, as Quectel modems do: the reply is
// decoded, and --json is the API's {code, reply, status}.
func TestUSSD_CLI(t *testing.T) {
	sim, path := ptyModem(t)
	sim.SetUSSDStyle(modemsim.USSDUCS2)
	sim.SetUSSDReply("*100#", modemsim.USSDReply{Text: "Баланс: 12,50 ₽\n1 Пополнить", Status: 1})

	stdout, stderr, err := runCmd(t, t.Context(), "", "ussd", path, "*100#", "--json")
	if err != nil {
		t.Fatalf("ussd: %v\n%s", err, stderr)
	}
	var got apiv1.USSDReply
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("ussd --json output is not JSON: %v\n%s", err, stdout)
	}
	want := apiv1.USSDReply{Code: "*100#", Reply: "Баланс: 12,50 ₽\n1 Пополнить", Status: apiv1.USSDStatusMore}
	if got != want {
		t.Errorf("ussd --json = %+v, want %+v", got, want)
	}

	sim.SetUSSDStyle(modemsim.USSDRawGSM)
	sim.SetUSSDReply("*101#", modemsim.USSDReply{Text: "Ihr Guthaben beträgt 5,00 EUR", Status: 2})
	stdout, stderr, err = runCmd(t, t.Context(), "", "ussd", path, "*101#")
	if err != nil {
		t.Fatalf("ussd: %v\n%s", err, stderr)
	}
	if stdout != "Ihr Guthaben beträgt 5,00 EUR\n" || !strings.Contains(stderr, "ended the session") {
		t.Errorf("ussd = %q, stderr %q; want the decoded text and the end of the session said", stdout, stderr)
	}
}

func TestUSSD_CLIErrors(t *testing.T) {
	_, path := ptyModem(t)
	if _, _, err := runCmd(t, t.Context(), "", "ussd", path, "*999#"); err == nil || !strings.Contains(err.Error(), "does not support") {
		t.Errorf("a code the network refuses: %v, want it said", err)
	}
	var ue usageError
	if _, _, err := runCmd(t, t.Context(), "", "ussd", path, "balance"); !errors.As(err, &ue) || !strings.Contains(err.Error(), "digits") {
		t.Errorf("a code that is no code: %v, want a usage error naming what a code is", err)
	}
	if _, _, err := runCmd(t, t.Context(), "", "ussd", path); !errors.As(err, &ue) {
		t.Errorf("no code: %v, want a usage error", err)
	}
}
