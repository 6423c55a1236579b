package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
)

// TestE2E_CLI drives a running gateway with the CLI clients, and manages
// API keys, as an admin would.
func TestE2E_CLI(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	netw := startNetwork(t, 2)
	data := t.TempDir()
	g := startGateway(t, data, freePort(t), "", netw.ports)
	cli := func(args ...string) (string, error) { t.Helper(); return g.cli(t, args...) }

	// --wait returns once the message left queued and sending: sent, or
	// delivered when the report came first (a busy machine decides which).
	out, err := cli("send", "--to", netw.numbers[1], "--text", "sent by the CLI", "--modem", netw.imeis[0], "--wait")
	if err != nil || !(strings.Contains(out, "delivered") || strings.Contains(out, "sent")) {
		t.Fatalf("send --wait: %v\n%s", err, out)
	}
	var inbox apiv1.Inbox
	waitFor(t, 10*time.Second, "the inbox to show it", func() bool {
		out, err := cli("inbox", "--json")
		if err != nil {
			t.Fatalf("inbox: %v\n%s", err, out)
		}
		if err := json.Unmarshal([]byte(out), &inbox); err != nil {
			t.Fatalf("inbox --json: %v\n%s", err, out)
		}
		return len(inbox.Messages) == 1 && inbox.Messages[0].Text == "sent by the CLI"
	})
	if out, err := cli("inbox"); err != nil || !strings.Contains(out, "sent by the CLI") || !strings.Contains(out, netw.numbers[0]) {
		t.Errorf("inbox: %v\n%s", err, out)
	}
	if out, err := cli("modems"); err != nil || !strings.Contains(out, netw.imeis[0]) || !strings.Contains(out, "online") {
		t.Errorf("modems: %v\n%s", err, out)
	}
	out, err = cli("send", "--to", "+1202", "--text", "x")
	if err == nil || !strings.Contains(out, "to:") {
		t.Errorf("send to an invalid number: err %v, output %q; want a failure naming the field", err, out)
	}

	// Keys: list shows the one in use; revoking it locks the client out.
	out, err = cli("apikey", "list", "--data", data)
	if err != nil || !strings.Contains(out, "e2e") {
		t.Fatalf("apikey list: %v\n%s", err, out)
	}
	if out, err := cli("apikey", "revoke", "e2e", "--data", data); err != nil {
		t.Fatalf("apikey revoke: %v\n%s", err, out)
	}
	// The gateway trusts a key it checked for a second (keyCacheFor).
	waitFor(t, 10*time.Second, "401 for the revoked key", func() bool {
		out, err := cli("modems")
		return err != nil && strings.Contains(out, "401")
	})
}
