package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestE2E_HungModemEscalates: a "simgate sim" modem stops answering until
// it is reset; the real gateway notices on its health polls, resyncs in
// vain, resets it with AT+CFUN=1,1, counts both steps on /metrics, and the
// modem is online again and sends.
func TestE2E_HungModemEscalates(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	netw := startNetwork(t, 1)
	conf := filepath.Join(t.TempDir(), "simgate.yaml")
	if err := os.WriteFile(conf, []byte("poll_interval: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, t.TempDir(), freePort(t), "", netw.ports, "--config", conf)
	imei := netw.imeis[0]

	netw.control(t, "hang 1 until-reset")
	want := regexp.MustCompile(`simgate_modem_escalations_total\{modem="` + imei + `",step="cfun_reset"\} 1\b`)
	var metrics string
	waitFor(t, 4*time.Minute, "the cfun_reset step on /metrics", func() bool {
		resp, err := http.Get(g.url + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		metrics = string(b)
		return want.MatchString(metrics)
	})
	if !regexp.MustCompile(`simgate_modem_escalations_total\{modem="` + imei + `",step="resync"\} 1\b`).MatchString(metrics) {
		t.Errorf("no resync step on /metrics:\n%s", tail(metrics, 2000))
	}
	waitFor(t, time.Minute, "the modem online again", func() bool { return g.modemState(t, imei) == "online" })
	_, sent := g.send(t, map[string]any{"to": "+12025550150", "text": "after the reset", "status_report": false})
	if _, m := g.waitStatus(t, sent.ID, 30*time.Second, "sent", "failed"); m.Status != "sent" {
		t.Errorf("message after the reset: %s (%s)", m.Status, m.Error)
	}
}
