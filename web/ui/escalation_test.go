package ui

import (
	"html"
	"strings"
	"testing"
	"time"
)

// The overview's card and the modem's page show the last step taken to
// bring the modem back from a hang, and when; a card of a modem never
// escalated says nothing of it.
func TestUI_ModemLastEscalation(t *testing.T) {
	r := mustUI(t)
	r.login(t)
	if _, body := r.get(t, "/"); strings.Contains(body, "Last recovery step") {
		t.Error("the card of a modem never escalated shows a recovery step")
	}
	at := time.Now().Add(-3 * time.Minute).UTC().Truncate(time.Second)
	r.mu.Lock()
	r.modems[0].LastEscalation, r.modems[0].LastEscalationAt = "cfun_reset", at
	r.mu.Unlock()
	for _, path := range []string{"/", "/modems/" + testIMEI} {
		_, body := r.get(t, path)
		body = html.UnescapeString(body)
		i := strings.Index(body, "Last recovery step")
		if i < 0 {
			t.Errorf("%s does not show the last recovery step", path)
			continue
		}
		row := body[i:min(len(body), i+300)]
		if !strings.Contains(row, "cfun reset") || !strings.Contains(row, `datetime="`+at.Format("2006-01-02T15:04:05")) {
			t.Errorf("%s shows %q, want cfun reset at %v", path, row, at)
		}
	}
}

// A modem paused after a network error says so on its card and its page,
// with the time it takes messages again and the error.
func TestUI_ModemPaused(t *testing.T) {
	r := mustUI(t)
	r.login(t)
	if _, body := r.get(t, "/"); strings.Contains(body, `class="paused"`) {
		t.Error("the card of a modem not paused shows a pause")
	}
	until := time.Now().Add(30 * time.Second).UTC().Truncate(time.Second)
	r.mu.Lock()
	r.modems[0].PausedUntil, r.modems[0].PauseReason = until, "+CMS ERROR: 332 (network timeout)"
	r.mu.Unlock()
	for _, path := range []string{"/", "/modems/" + testIMEI} {
		_, body := r.get(t, path)
		body = html.UnescapeString(body)
		i := strings.Index(body, `class="paused"`)
		if i < 0 {
			t.Errorf("%s does not show the pause", path)
			continue
		}
		row := body[i:min(len(body), i+300)]
		if !strings.Contains(row, "+CMS ERROR: 332 (network timeout)") || !strings.Contains(row, `datetime="`+until.Format("2006-01-02T15:04:05")) {
			t.Errorf("%s shows %q, want the pause until %v and its reason", path, row, until)
		}
	}
}
