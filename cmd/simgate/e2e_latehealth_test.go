package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/pdu"
)

// TestE2E_LateHealthAnswer replays issue 9's finding (d) with the real
// binary on a "simgate sim" modem: one health check's +CSQ answer comes
// 12 s late (past the 10 s command timeout) while a message asking for a
// report waits for the line and then for its prompt. Before the engine's
// resynchronisation that late answer ended the send's AT+CMGS early with
// no ESC, the modem stayed at "> " for 17 s, and the AT+CMGR of the
// delivery report went into the prompt as text: the report was never
// read, the message stayed sent and the report stayed on the SIM. Here
// the message must end delivered, sent once, its report read and deleted
// from the SIM's status-report storage.
func TestE2E_LateHealthAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	dir := t.TempDir()
	deleted := filepath.Join(dir, "deleted.jsonl")
	netw := startNetwork(t, 1, "--deleted-log", deleted)
	conf := filepath.Join(dir, "simgate.yaml")
	if err := os.WriteFile(conf, []byte("poll_interval: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, filepath.Join(dir, "data"), freePort(t), "", netw.ports, "--config", conf)
	imei := netw.imeis[0]

	netw.control(t, "delay 1 12s +CSQ once")
	// A health check (every second) writes its AT+CSQ meanwhile; the send
	// comes while that answer is outstanding.
	time.Sleep(2500 * time.Millisecond)
	const to, text = "+12025550150", "report after a late health answer"
	status, sent := g.send(t, map[string]any{"to": to, "text": text, "status_report": true})
	if status != 202 {
		t.Fatalf("send: %d", status)
	}
	_, m := g.waitStatus(t, sent.ID, 2*time.Minute, "delivered", "failed")
	if m.Status != "delivered" || len(m.Parts) != 1 || m.Parts[0].MR == nil {
		t.Fatalf("message %s: %s (%v), parts %+v; want delivered", sent.ID, m.Status, m.Error, m.Parts)
	}
	// The line was brought back in step by the engine, not by the hung-modem
	// ladder, and the send was not refused on the way: without the resync
	// the late answer ends the AT+CMGS early ("final result before the
	// prompt"), the message is retried and the modem escalated.
	if n := scrape(t, g.url+"/metrics")["simgate_modem_escalations_total"]; n != 0 {
		t.Errorf("%v escalation steps for a modem that only answered late once\n%s", n, tail(g.stderr.String(), 3000))
	}
	for _, line := range strings.Split(g.stderr.String(), "\n") {
		if strings.Contains(line, sent.ID) && (strings.Contains(line, "will retry") || strings.Contains(line, "back to the queue")) {
			t.Errorf("the message was refused on the way: %s", line)
		}
	}
	copies := 0
	for _, rec := range netw.records(t) {
		if rec.Text == text {
			copies++
		}
	}
	if copies != 1 {
		t.Errorf("the network got the message %d times, want once", copies)
	}
	waitFor(t, 30*time.Second, "its report deleted from the SIM", func() bool {
		for _, d := range readDeletionLog(t, deleted) {
			if d.IMEI != imei || d.Mem != "SR" {
				continue
			}
			if r, err := pdu.Decode(d.PDU); err == nil && r.Type == pdu.TypeStatusReport && r.MR == *m.Parts[0].MR {
				return true
			}
		}
		return false
	})
}
