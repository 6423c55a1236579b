package webhook_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// onDisk reports whether s is in the database file or its WAL.
func onDisk(t *testing.T, path, s string) bool {
	t.Helper()
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

// waitDone waits until endpoint has n outbox rows, none pending.
func (r *notifierRig) waitDone(endpoint string, n int) []gateway.WebhookDelivery {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, err := r.st.WebhookDeliveries(context.Background(), endpoint)
		if err != nil {
			r.t.Fatal(err)
		}
		done := len(rows) == n
		for _, d := range rows {
			done = done && d.Status != gateway.WebhookPending
		}
		if done {
			return rows
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("outbox of %s: %+v; want %d rows, none pending", endpoint, rows, n)
		}
		time.Sleep(time.Millisecond) // polling the database for a state, not timing
	}
}

func newKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

// Signing secrets are sealed at rest under the key file's key; a rotation
// keeps the old key valid until Run has sealed every secret with the new
// one, a secret stored in clear before sealing existed is sealed too, and a
// secret no key opens fails its rows instead of retrying them for a day.
func TestNotifier_SecretsSealedAtRest(t *testing.T) {
	oldKey, newKey, otherKey := newKey(), newKey(), newKey()
	r := newNotifierRig(t)
	r.close()
	r.keys = [][]byte{oldKey}
	r.open()
	rcv, legacyRcv := newReceiver(t, always(http.StatusOK)), newReceiver(t, always(http.StatusOK))
	ep := r.endpoint(rcv.URL, gateway.EventModemOnline)
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	legacy := gateway.WebhookEndpoint{ID: gateway.NewID("wh_", r.clock.Now()), URL: legacyRcv.URL,
		Events: []string{gateway.EventModemOnline}, Secret: "whsec_" + base64.StdEncoding.EncodeToString(raw), CreatedAt: r.clock.Now()}
	if err := r.st.CreateWebhook(t.Context(), legacy); err != nil {
		t.Fatal(err)
	}
	r.close()
	if !onDisk(t, r.path, strings.TrimPrefix(legacy.Secret, "whsec_")) {
		t.Fatal("the clear legacy secret is not found on disk: the search proves nothing")
	}
	if onDisk(t, r.path, strings.TrimPrefix(ep.Secret, "whsec_")) {
		t.Fatal("the new endpoint's secret is on disk in clear")
	}

	// Rotation: the new key seals, the old one still opens.
	round := 0
	deliver := func(keys ...[]byte) {
		t.Helper()
		round++
		r.keys = keys
		r.open()
		r.run()
		r.notify(gateway.EventModemOnline, map[string]int{"round": round})
		r.waitDone(ep.ID, round)
		r.waitDone(legacy.ID, round)
		r.close()
	}
	deliver(newKey, oldKey)
	// The old key is gone: everything was sealed again with the new one.
	deliver(newKey)
	for _, c := range []struct {
		rcv    *receiver
		secret string
	}{{rcv, ep.Secret}, {legacyRcv, legacy.Secret}} {
		hits := c.rcv.all()
		if len(hits) != 2 {
			t.Fatalf("%s got %d webhooks, want 2", c.rcv.URL, len(hits))
		}
		for _, h := range hits {
			verify(t, c.secret, h)
		}
	}
	if onDisk(t, r.path, strings.TrimPrefix(ep.Secret, "whsec_")) {
		t.Error("a secret is on disk in clear after the rotation")
	}

	// A key file that opens nothing: the rows fail at once, nothing is sent.
	r.keys = [][]byte{otherKey}
	r.open()
	r.run()
	r.notify(gateway.EventModemOnline, map[string]int{"round": 3})
	rows := r.waitDone(ep.ID, 3)
	last := rows[len(rows)-1]
	if last.Status != gateway.WebhookFailed || !strings.Contains(last.LastError, "another key") {
		t.Errorf("row under a foreign key: %+v; want failed, sealed with another key", last)
	}
	if n := len(rcv.all()); n != 2 {
		t.Errorf("the receiver got %d webhooks, want still 2", n)
	}
}
