package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/modem/modemsim"
)

// TestE2E_RegionFollowsTheSIM: with no region configured, the real binary
// takes its home region from the SIM of the modem it finds — a German one
// on a real pty — so a German owner's national numbers and codes go
// through, and a US number is refused naming the region.
func TestE2E_RegionFollowsTheSIM(t *testing.T) {
	network := modemsim.NewNetwork()
	t.Cleanup(func() { network.Close() })
	m := network.AddModem(modemsim.Config{IMSI: "262017654321098"})
	port, err := m.OpenPTY(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "data")
	g := startGateway(t, data, freePort(t), "", []string{port})

	// The modem is online; its modem.online event makes the gateway look
	// at the SIM, a moment later at most.
	var resp struct {
		To     string `json:"to"`
		Detail string `json:"detail"`
		Errors []struct {
			Reason string `json:"reason"`
		} `json:"errors"`
	}
	waitFor(t, 30*time.Second, "a German national number accepted", func() bool {
		return g.call(t, "POST", "/api/v1/messages", strings.NewReader(`{"to":"0151 12345678","text":"Hallo"}`), &resp) == 202
	})
	if resp.To != "+4915112345678" {
		t.Errorf("national number read as %q, want +4915112345678", resp.To)
	}
	resp.Errors = nil
	if code := g.call(t, "POST", "/api/v1/messages", strings.NewReader(`{"to":"+12025550123","text":"hi"}`), &resp); code != 422 ||
		len(resp.Errors) != 1 || !strings.Contains(resp.Errors[0].Reason, "home region DE") {
		t.Errorf("US number: %d %+v, want 422 naming the home region DE", code, resp)
	}
	if code := g.call(t, "POST", "/api/v1/otp", strings.NewReader(`{"to":"0151 12345679"}`), nil); code != 201 {
		t.Errorf("OTP to a German national number: %d, want 201", code)
	}
}
