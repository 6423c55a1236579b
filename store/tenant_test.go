package store

import (
	"database/sql"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// A message keeps its owner key; a listing for a key holds its messages
// only; the quota counts a key's messages of a day.
func TestOwnerKey_Messages(t *testing.T) {
	s := mustOpen(t)
	for i, owner := range []int64{1, 2, 1, 0} {
		m := newMessage(msgID(i), time.Duration(i)*time.Minute)
		m.OwnerKey = owner
		mustCreate(t, s, m)
	}
	if m := mustMessage(t, s, msgID(2)); m.OwnerKey != 1 {
		t.Errorf("owner of %s = %d, want 1", msgID(2), m.OwnerKey)
	}
	for _, tc := range []struct {
		owner int64
		want  []string
	}{
		{1, []string{msgID(2), msgID(0)}},
		{2, []string{msgID(1)}},
		{-1, nil},
		{0, []string{msgID(3), msgID(2), msgID(1), msgID(0)}},
	} {
		msgs, _, err := s.Messages(t.Context(), gateway.MessageFilter{Owner: tc.owner, Limit: 10})
		var got []string
		for _, m := range msgs {
			got = append(got, m.ID)
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Messages(owner %d) = %v, %v; want %v", tc.owner, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		since time.Time
		want  int
	}{{t0, 2}, {t0.Add(time.Minute), 1}, {t0.Add(time.Hour), 0}} {
		if n, err := s.KeyMessagesSince(t.Context(), 1, tc.since); err != nil || n != tc.want {
			t.Errorf("KeyMessagesSince(1, %v) = %d, %v; want %d", tc.since, n, err, tc.want)
		}
	}
}

// An endpoint of a key that is not admin gets the message events of its
// own key's messages only; an admin endpoint (all_events) gets them all;
// events about no message (an SMS received, a modem) go to every endpoint
// subscribed, the API having checked the scope when it was made.
func TestOwnerKey_WebhookFanOut(t *testing.T) {
	s := mustOpen(t)
	for _, e := range []gateway.WebhookEndpoint{
		{ID: "wh_admin", AllEvents: true, OwnerKey: 9},
		{ID: "wh_one", OwnerKey: 1},
		{ID: "wh_two", OwnerKey: 2},
	} {
		e.URL, e.Secret, e.CreatedAt = "http://127.0.0.1:9/", "whsec_AAAA", t0
		e.Events = []string{gateway.EventMessageQueued, gateway.EventModemOnline}
		if err := s.CreateWebhook(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	m := newMessage("msg_of_one", time.Second)
	m.OwnerKey = 1
	mustCreate(t, s, m)

	var seq int64
	fanOut := func(typ, subject string) []string {
		t.Helper()
		seq++
		ev, err := gateway.NewEvent(typ, subject, map[string]string{"id": subject}, t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		ev.Seq = seq
		if _, err := s.EnqueueEvents(t.Context(), "test", seq, []gateway.OutboxEvent{{Event: ev, Payload: []byte(`{}`)}}, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		due, err := s.DueWebhooks(t.Context(), t0.Add(time.Hour), 10, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range due {
			if d.EventID == ev.ID {
				got = append(got, d.Endpoint)
			}
		}
		slices.Sort(got)
		return got
	}
	if got := fanOut(gateway.EventMessageQueued, "msg_of_one"); !slices.Equal(got, []string{"wh_admin", "wh_one"}) {
		t.Errorf("message.queued of key 1 went to %v, want wh_admin and wh_one", got)
	}
	if got := fanOut(gateway.EventModemOnline, "356938035643809"); !slices.Equal(got, []string{"wh_admin", "wh_one", "wh_two"}) {
		t.Errorf("modem.online went to %v, want every endpoint", got)
	}

	// A revoked key's endpoint hears nothing more.
	k, err := s.CreateAPIKey(t.Context(), gateway.APIKey{Name: "gone", Hash: "h-gone", Scopes: []string{"webhooks", "modems:read"}, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	e := gateway.WebhookEndpoint{ID: "wh_gone", OwnerKey: k.ID, URL: "http://127.0.0.1:9/", Secret: "whsec_AAAA", CreatedAt: t0,
		Events: []string{gateway.EventModemOnline}}
	if err := s.CreateWebhook(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if got := fanOut(gateway.EventModemOnline, "356938035643809"); !slices.Contains(got, "wh_gone") {
		t.Fatalf("modem.online went to %v, want wh_gone too while its key lives", got)
	}
	if err := s.RevokeAPIKey(t.Context(), "gone", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := fanOut(gateway.EventModemOnline, "356938035643809"); slices.Contains(got, "wh_gone") {
		t.Errorf("modem.online went to %v: the revoked key's endpoint still hears", got)
	}
}

// Migration 0050 gives rows made before it the key whose name they kept
// (names are never reused), leaves the others to no key (admin only), keeps
// old endpoints receiving every event, and gives keys made when no scopes
// meant "all" the default scopes.
func TestMigration0050_Owners(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	old, err := sql.Open("sqlite", dsn(path, "_pragma=journal_mode(WAL)"))
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	qs := []string{`CREATE TABLE schema_migrations (version TEXT PRIMARY KEY) STRICT`}
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		if version >= "0050" {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, string(body), `INSERT INTO schema_migrations VALUES ('`+version+`')`)
	}
	const at = "'2024-01-01T00:00:00.000000000Z'"
	seed := []string{
		`INSERT INTO api_keys (id, name, hash, scopes, created_at) VALUES (4, 'shop', 'h1', '[]', @at), (5, 'reader', 'h2', '["messages:read"]', @at)`,
		`INSERT INTO messages (id, recipient, body, encoding, segments, priority, status_report, status, concat_ref, created_at, api_key)
			VALUES ('msg_shop', '+1', 'x', 'gsm7', 1, 1, 1, 'queued', 0, '2024-01-01T00:00:00.000000000Z', 'shop'),
			       ('msg_gone', '+1', 'x', 'gsm7', 1, 1, 1, 'queued', 0, '2024-01-01T00:00:00.000000000Z', 'deleted-long-ago'),
			       ('msg_page', '+1', 'x', 'gsm7', 1, 1, 1, 'queued', 0, '2024-01-01T00:00:00.000000000Z', '')`,
		`INSERT INTO otp_verifications (id, recipient, channel, status, code_length, max_attempts, max_sends, created_at, expires_at, api_key)
			VALUES ('otp_shop', '+1', 'sms', 'expired', 6, 5, 5, @at, @at, 'shop')`,
		`INSERT INTO webhook_endpoints (id, url, events, secret, created_at) VALUES ('wh_old', 'http://x', '["sms.received"]', 'whsec_x', @at)`,
	}
	for _, q := range seed {
		qs = append(qs, strings.ReplaceAll(q, "@at", at))
	}
	for _, q := range qs {
		if _, err := old.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("old schema: %v\n%s", err, q)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s := mustOpenPath(t, path)
	for id, want := range map[string]int64{"msg_shop": 4, "msg_gone": 0, "msg_page": 0} {
		if m := mustMessage(t, s, id); m.OwnerKey != want {
			t.Errorf("%s: owner %d, want %d", id, m.OwnerKey, want)
		}
	}
	if v, err := s.Verification(t.Context(), "otp_shop"); err != nil || v.OwnerKey != 4 {
		t.Errorf("otp_shop = %+v, %v; want owner 4", v, err)
	}
	es, err := s.Webhooks(t.Context())
	if err != nil || len(es) != 1 || es[0].OwnerKey != 0 || !es[0].AllEvents {
		t.Errorf("old endpoint = %+v, %v; want no owner, every event", es, err)
	}
	keys, err := s.APIKeys(t.Context())
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys = %+v, %v", keys, err)
	}
	if !slices.Equal(keys[1].Scopes, gateway.DefaultScopes) || !slices.Equal(keys[0].Scopes, []string{"messages:read"}) {
		t.Errorf("scopes after 0050: %s %v, %s %v", keys[0].Name, keys[0].Scopes, keys[1].Name, keys[1].Scopes)
	}
}
