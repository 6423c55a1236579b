package gateway_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
)

// countWaker counts Wake and WakeAt calls.
type countWaker struct {
	mu    sync.Mutex
	wakes int
	at    []time.Time
}

func (w *countWaker) Wake() {
	w.mu.Lock()
	w.wakes++
	w.mu.Unlock()
}

func (w *countWaker) WakeAt(t time.Time) {
	w.mu.Lock()
	w.at = append(w.at, t)
	w.mu.Unlock()
}

func (w *countWaker) counts() (int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.wakes, len(w.at)
}

var svcNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// Two modems' IMEIs (valid Luhn check digits) and a recipient.
const (
	imeiA  = "356938035643809"
	imeiB  = "490154203237518"
	numOK  = "+12025550101"
	numOK2 = "+12025550102"
)

func newTestService(t *testing.T, cfg gateway.ServiceConfig) (*gateway.Service, *countWaker, *testkit.Clock, gateway.Store) {
	t.Helper()
	st := testkit.OpenStore(t)
	w := &countWaker{}
	clock := testkit.NewClock(svcNow)
	return gateway.NewService(cfg, st, w, clock, nil), w, clock, st
}

func ptr[T any](v T) *T { return &v }

func TestService_SendValidation(t *testing.T) {
	svc, w, _, st := newTestService(t, gateway.ServiceConfig{})
	if err := st.UpsertModem(t.Context(), gateway.ModemInfo{IMEI: imeiA, State: gateway.ModemOnline}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		req    gateway.SendRequest
		field  string
		reason string
	}{
		{"empty number", gateway.SendRequest{Text: "hi"}, "to", "empty"},
		{"not a number", gateway.SendRequest{To: "bob", Text: "hi"}, "to", "not a phone number"},
		{"invalid number", gateway.SendRequest{To: "+11235550101", Text: "hi"}, "to", "not a valid number"},
		{"unknown country", gateway.SendRequest{To: "+999555", Text: "hi"}, "to", "country code"},
		{"short code off", gateway.SendRequest{To: "72345", Text: "hi"}, "to", "short code"},
		{"empty text", gateway.SendRequest{To: numOK}, "text", "is empty"},
		{"invalid UTF-8", gateway.SendRequest{To: numOK, Text: "caf\xe9"}, "text", "UTF-8"},
		{"11 segments", gateway.SendRequest{To: numOK, Text: strings.Repeat("a", 153*10+1)}, "text", "needs 11 segments in gsm7, more than the limit of 10"},
		{"11 UCS-2 segments", gateway.SendRequest{To: numOK, Text: strings.Repeat("ж", 67*10+1)}, "text", "needs 11 segments in ucs2"},
		{"bad priority", gateway.SendRequest{To: numOK, Text: "hi", Priority: "urgent"}, "priority", `"urgent"`},
		{"negative ttl", gateway.SendRequest{To: numOK, Text: "hi", TTL: -time.Second}, "ttl", "negative"},
		{"ttl too long", gateway.SendRequest{To: numOK, Text: "hi", TTL: 8 * 24 * time.Hour}, "ttl", "longer than the maximum of 168h0m0s"},
		{"unknown modem", gateway.SendRequest{To: numOK, Text: "hi", Modem: "123"}, "modem", "no modem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, err := svc.Send(t.Context(), tt.req)
			if m != nil || err == nil {
				t.Fatalf("Send = %v, %v; want an error", m, err)
			}
			var ve *gateway.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, gateway.ErrInvalid) {
				t.Fatalf("error %v (%T) is no ValidationError", err, err)
			}
			if ve.Field != tt.field || !strings.Contains(ve.Reason, tt.reason) {
				t.Errorf("error %q on %q, want %q saying %q", ve.Reason, ve.Field, tt.field, tt.reason)
			}
		})
	}
	msgs, _, err := st.Messages(t.Context(), gateway.MessageFilter{Limit: 10})
	if err != nil || len(msgs) != 0 {
		t.Errorf("after refused requests the store holds %d messages (%v)", len(msgs), err)
	}
	if n, at := w.counts(); n+at != 0 {
		t.Errorf("refused requests woke the dispatcher %d times", n+at)
	}
}

func TestService_Send(t *testing.T) {
	tests := []struct {
		name    string
		cfg     gateway.ServiceConfig
		req     gateway.SendRequest
		check   func(t *testing.T, m *gateway.Message)
		wakeAt  bool
		wantErr string
	}{
		{
			name: "national number, defaults",
			req:  gateway.SendRequest{To: "(202) 555-0101", Text: "hello", APIKey: "app"},
			check: func(t *testing.T, m *gateway.Message) {
				if m.To != "+12025550101" || m.Encoding != "gsm7" || m.Segments != 1 || len(m.Parts) != 1 {
					t.Errorf("to %q, %s, %d segments, %d parts", m.To, m.Encoding, m.Segments, len(m.Parts))
				}
				if m.Priority != gateway.PriorityNormal || !m.StatusReport || m.Pin != "" || m.APIKey != "app" {
					t.Errorf("priority %v, status report %v, pin %q, key %q", m.Priority, m.StatusReport, m.Pin, m.APIKey)
				}
				if m.Status != gateway.StatusQueued || m.Parts[0].Status != gateway.StatusQueued {
					t.Errorf("status %s, part %s", m.Status, m.Parts[0].Status)
				}
				if !m.CreatedAt.Equal(svcNow) || !m.SendAt.IsZero() || !m.ExpiresAt.IsZero() {
					t.Errorf("created %v, send at %v, expires %v", m.CreatedAt, m.SendAt, m.ExpiresAt)
				}
				if !strings.HasPrefix(m.ID, "msg_") || len(m.ID) != 30 {
					t.Errorf("id %q", m.ID)
				}
			},
		},
		{
			name: "region DE",
			cfg:  gateway.ServiceConfig{DefaultRegion: "de"},
			req:  gateway.SendRequest{To: "0151 12345678", Text: "hallo"},
			check: func(t *testing.T, m *gateway.Message) {
				if m.To != "+4915112345678" {
					t.Errorf("to %q", m.To)
				}
			},
		},
		{
			name: "short code allowed",
			cfg:  gateway.ServiceConfig{AllowShortCodes: true},
			req:  gateway.SendRequest{To: "72345", Text: "STOP"},
			check: func(t *testing.T, m *gateway.Message) {
				if m.To != "72345" {
					t.Errorf("to %q", m.To)
				}
			},
		},
		{
			name: "UCS-2 multipart, options",
			req: gateway.SendRequest{To: numOK, Text: strings.Repeat("привет ", 20), Priority: "high",
				StatusReport: ptr(false), TTL: time.Hour},
			check: func(t *testing.T, m *gateway.Message) {
				if m.Encoding != "ucs2" || m.Segments != 3 || len(m.Parts) != 3 {
					t.Errorf("%s, %d segments, %d parts", m.Encoding, m.Segments, len(m.Parts))
				}
				for i, p := range m.Parts {
					if p.Index != i+1 || p.Status != gateway.StatusQueued || p.HasMR {
						t.Errorf("part %d = %+v", i, p)
					}
				}
				if m.Priority != gateway.PriorityHigh || m.StatusReport {
					t.Errorf("priority %v, status report %v", m.Priority, m.StatusReport)
				}
				if m.ConcatRef < 0 || m.ConcatRef > 255 {
					t.Errorf("concat ref %d", m.ConcatRef)
				}
				if want := svcNow.Add(time.Hour); !m.ExpiresAt.Equal(want) {
					t.Errorf("expires %v, want %v", m.ExpiresAt, want)
				}
			},
		},
		{
			name: "default TTL",
			cfg:  gateway.ServiceConfig{DefaultTTL: 10 * time.Minute},
			req:  gateway.SendRequest{To: numOK, Text: "x"},
			check: func(t *testing.T, m *gateway.Message) {
				if want := svcNow.Add(10 * time.Minute); !m.ExpiresAt.Equal(want) {
					t.Errorf("expires %v, want %v", m.ExpiresAt, want)
				}
			},
		},
		{
			name: "send_at in the past is now",
			req:  gateway.SendRequest{To: numOK, Text: "x", SendAt: svcNow.AddDate(-5, 0, 0), TTL: time.Minute},
			check: func(t *testing.T, m *gateway.Message) {
				if !m.SendAt.IsZero() || !m.ExpiresAt.Equal(svcNow.Add(time.Minute)) {
					t.Errorf("send at %v, expires %v", m.SendAt, m.ExpiresAt)
				}
			},
		},
		{
			name:   "send_at later: TTL counts from it",
			req:    gateway.SendRequest{To: numOK, Text: "x", SendAt: svcNow.Add(time.Hour), TTL: time.Minute},
			wakeAt: true,
			check: func(t *testing.T, m *gateway.Message) {
				if !m.SendAt.Equal(svcNow.Add(time.Hour)) || !m.ExpiresAt.Equal(svcNow.Add(time.Hour+time.Minute)) {
					t.Errorf("send at %v, expires %v", m.SendAt, m.ExpiresAt)
				}
			},
		},
		{
			name:    "segment limit",
			cfg:     gateway.ServiceConfig{MaxSegments: 2},
			req:     gateway.SendRequest{To: numOK, Text: strings.Repeat("a", 307)},
			wantErr: "needs 3 segments",
		},
		{
			name: "10 segments is the default limit",
			req:  gateway.SendRequest{To: numOK, Text: strings.Repeat("a", 1530)},
			check: func(t *testing.T, m *gateway.Message) {
				if m.Segments != 10 {
					t.Errorf("%d segments", m.Segments)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, w, _, st := newTestService(t, tt.cfg)
			m, replayed, err := svc.Send(t.Context(), tt.req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Send error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || replayed {
				t.Fatalf("Send = %v, %v", replayed, err)
			}
			tt.check(t, m)
			stored, err := st.Message(t.Context(), m.ID)
			if err != nil {
				t.Fatalf("stored: %v", err)
			}
			tt.check(t, stored)
			wakes, at := w.counts()
			if tt.wakeAt && (wakes != 0 || at != 1) || !tt.wakeAt && (wakes != 1 || at != 0) {
				t.Errorf("%d wakes and %d WakeAt after commit", wakes, at)
			}
		})
	}
}

func TestService_ConcatRefsDiffer(t *testing.T) {
	svc, _, _, _ := newTestService(t, gateway.ServiceConfig{})
	seen := map[int]bool{}
	for range 10 {
		m, _, err := svc.Send(t.Context(), gateway.SendRequest{To: numOK, Text: strings.Repeat("0123456789", 40)})
		if err != nil {
			t.Fatal(err)
		}
		if seen[m.ConcatRef] {
			t.Errorf("reference %d used twice in 10 messages", m.ConcatRef)
		}
		seen[m.ConcatRef] = true
	}
}

func TestService_Idempotency(t *testing.T) {
	svc, w, _, _ := newTestService(t, gateway.ServiceConfig{})
	req := gateway.SendRequest{To: numOK, Text: "once", APIKey: "app", IdempotencyKey: "k1", BodyHash: "h1"}
	first, replayed, err := svc.Send(t.Context(), req)
	if err != nil || replayed {
		t.Fatalf("first Send = %v, %v", replayed, err)
	}
	again, replayed, err := svc.Send(t.Context(), req)
	if err != nil || !replayed || again.ID != first.ID {
		t.Fatalf("replay = %v, %v, %v; want %s replayed", again, replayed, err, first.ID)
	}
	if n, _ := w.counts(); n != 1 {
		t.Errorf("%d wakes, want 1: a replay queues nothing", n)
	}

	other := req
	other.BodyHash, other.Text = "h2", "twice"
	if _, _, err := svc.Send(t.Context(), other); !errors.Is(err, gateway.ErrIdempotencyReused) {
		t.Errorf("same key, other body: %v, want ErrIdempotencyReused", err)
	}

	otherKey := req
	otherKey.APIKey = "other-app"
	m, replayed, err := svc.Send(t.Context(), otherKey)
	if err != nil || replayed || m.ID == first.ID {
		t.Errorf("same key under another API key = %v, %v, %v; want a new message", m, replayed, err)
	}

	t.Run("HashFromFields", func(t *testing.T) {
		req := gateway.SendRequest{To: "(202) 555-0101", Text: "x", APIKey: "app", IdempotencyKey: "k2"}
		a, _, err := svc.Send(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		req.To = "+12025550101" // the same number spelt otherwise
		b, replayed, err := svc.Send(t.Context(), req)
		if err != nil || !replayed || a.ID != b.ID {
			t.Errorf("replay with the number in E.164 = %v, %v", replayed, err)
		}
		req.Text = "y"
		if _, _, err := svc.Send(t.Context(), req); !errors.Is(err, gateway.ErrIdempotencyReused) {
			t.Errorf("other text: %v, want ErrIdempotencyReused", err)
		}
	})
}

func TestService_APIKeys(t *testing.T) {
	svc, _, clock, _ := newTestService(t, gateway.ServiceConfig{})
	secret, k, err := svc.CreateAPIKey(t.Context(), "billing-app", []string{"messages:send"})
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	if !strings.HasPrefix(secret, "sg_") || len(secret) != 35 {
		t.Errorf("secret %q, want sg_ and 32 characters", secret)
	}
	if k.Hash == secret || strings.Contains(k.Hash, secret[3:]) || k.Hash != gateway.HashAPIKey(secret) {
		t.Errorf("stored hash %q", k.Hash)
	}
	secret2, _, err := svc.CreateAPIKey(t.Context(), "other", nil)
	if err != nil || secret2 == secret {
		t.Fatalf("second key %q, %v", secret2, err)
	}

	got, err := svc.Authenticate(t.Context(), secret)
	if err != nil || got.Name != "billing-app" {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	keys, err := svc.APIKeys(t.Context())
	if err != nil || len(keys) != 2 {
		t.Fatalf("APIKeys = %d, %v", len(keys), err)
	}
	for _, k := range keys {
		if k.Name == "billing-app" && !k.LastUsed.Equal(svcNow) {
			t.Errorf("last used %v, want %v", k.LastUsed, svcNow)
		}
	}

	for _, bad := range []string{"", "sg_nope", secret + "x", strings.ToUpper(secret)} {
		if _, err := svc.Authenticate(t.Context(), bad); !errors.Is(err, gateway.ErrUnauthorized) {
			t.Errorf("Authenticate(%q) = %v, want ErrUnauthorized", bad, err)
		}
	}

	clock.Add(time.Hour)
	if _, err := svc.Authenticate(t.Context(), secret); err != nil { // cached now
		t.Fatal(err)
	}
	if err := svc.RevokeAPIKey(t.Context(), "billing-app"); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	if _, err := svc.Authenticate(t.Context(), secret); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Errorf("revoked key: %v, want ErrUnauthorized at once", err)
	}
	if _, err := svc.Authenticate(t.Context(), secret2); err != nil {
		t.Errorf("the other key: %v", err)
	}

	for _, name := range []string{"", "has space", "user:pass", strings.Repeat("n", 65)} {
		if _, _, err := svc.CreateAPIKey(t.Context(), name, nil); !errors.Is(err, gateway.ErrInvalid) {
			t.Errorf("CreateAPIKey(%q) = %v, want ErrInvalid", name, err)
		}
	}
}

// TestService_APIKeyRevokedElsewhere: a key revoked by another process on
// the same database (the CLI, another host) is refused within a second —
// Authenticate trusts a key it found valid for that long.
func TestService_APIKeyRevokedElsewhere(t *testing.T) {
	svc, _, clock, st := newTestService(t, gateway.ServiceConfig{})
	secret, _, err := svc.CreateAPIKey(t.Context(), "app", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(t.Context(), secret); err != nil {
		t.Fatal(err)
	}
	cli := gateway.NewService(gateway.ServiceConfig{}, st, nil, clock, nil)
	if err := cli.RevokeAPIKey(t.Context(), "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Authenticate(t.Context(), secret); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Errorf("the revoking service: %v, want ErrUnauthorized", err)
	}
	clock.Add(time.Second)
	if _, err := svc.Authenticate(t.Context(), secret); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Errorf("a second after a revoke elsewhere: %v, want ErrUnauthorized", err)
	}
}

func TestService_Ready(t *testing.T) {
	svc, _, _, st := newTestService(t, gateway.ServiceConfig{})
	err := svc.Ready(t.Context())
	if err == nil || !strings.Contains(err.Error(), "no modem") {
		t.Errorf("no modems: %v", err)
	}
	upsert := func(imei string, s gateway.ModemState) {
		t.Helper()
		if err := st.UpsertModem(t.Context(), gateway.ModemInfo{IMEI: imei, State: s}); err != nil {
			t.Fatal(err)
		}
	}
	upsert(imeiA, gateway.ModemOffline)
	upsert(imeiB, gateway.ModemPINRequired)
	err = svc.Ready(t.Context())
	if err == nil || !strings.Contains(err.Error(), "1 offline") || !strings.Contains(err.Error(), "1 pin_required") {
		t.Errorf("none online: %v", err)
	}
	upsert(imeiB, gateway.ModemOnline)
	if err := svc.Ready(t.Context()); err != nil {
		t.Errorf("one online: %v", err)
	}
}

func TestService_ModemsAndLists(t *testing.T) {
	svc, _, _, st := newTestService(t, gateway.ServiceConfig{})
	if err := st.UpsertModem(t.Context(), gateway.ModemInfo{IMEI: imeiA, State: gateway.ModemOnline, Operator: "op"}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, to := range []string{numOK, numOK, numOK2} {
		m, _, err := svc.Send(t.Context(), gateway.SendRequest{To: to, Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	mods, err := svc.Modems(t.Context())
	if err != nil || len(mods) != 1 {
		t.Fatalf("Modems = %v, %v", mods, err)
	}
	if mods[0].IMEI != imeiA || mods[0].Operator != "op" || mods[0].QueueDepth != 3 {
		t.Errorf("modem view %+v", mods[0])
	}

	got, _, err := svc.Messages(t.Context(), gateway.MessageFilter{To: "(202) 555-0101"})
	if err != nil || len(got) != 2 {
		t.Errorf("Messages to a national number: %d, %v; want 2", len(got), err)
	}
	for _, f := range []gateway.MessageFilter{{Status: "lost"}, {Limit: 501}, {Limit: -1}, {To: "nobody"}} {
		if _, _, err := svc.Messages(t.Context(), f); !errors.Is(err, gateway.ErrInvalid) {
			t.Errorf("Messages(%+v) = %v, want ErrInvalid", f, err)
		}
	}
	if _, err := svc.Inbox(t.Context(), time.Time{}, 1000); !errors.Is(err, gateway.ErrInvalid) {
		t.Errorf("Inbox limit 1000: %v, want ErrInvalid", err)
	}
	if in, err := svc.Inbox(t.Context(), time.Time{}, 0); err != nil || len(in) != 0 {
		t.Errorf("Inbox = %v, %v", in, err)
	}

	m, err := svc.Cancel(t.Context(), ids[0])
	if err != nil || m.Status != gateway.StatusCanceled {
		t.Fatalf("Cancel = %v, %v", m, err)
	}
	if _, err := svc.Cancel(t.Context(), ids[0]); !errors.Is(err, gateway.ErrConflict) {
		t.Errorf("second Cancel: %v, want ErrConflict", err)
	}
	if _, err := svc.Message(t.Context(), "msg_nope"); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("Message(unknown): %v, want ErrNotFound", err)
	}
	if got, err := svc.Message(t.Context(), ids[1]); err != nil || got.ID != ids[1] {
		t.Errorf("Message = %v, %v", got, err)
	}
}

// fixedRouter chooses imeiB for every number, and counts its decisions.
type fixedRouter struct{ calls int }

func (r *fixedRouter) Route(to string, exclude []string) gateway.RouteDecision {
	r.calls++
	return gateway.RouteDecision{Modem: imeiB, Network: "US/+1202", Reason: "fastest to US/+1202"}
}

// TestService_SendRouted: with a Router (routing.messages), a message sent
// without a modem is pinned where the router says, with its reason; one
// that names a modem keeps it; an idempotent replay returns the message as
// first routed.
func TestService_SendRouted(t *testing.T) {
	r := &fixedRouter{}
	svc, _, _, st := newTestService(t, gateway.ServiceConfig{Router: r})
	m, _, err := svc.Send(t.Context(), gateway.SendRequest{To: numOK, Text: "routed", IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.Message(t.Context(), m.ID)
	if err != nil || got.Pin != imeiB || got.Route != "fastest to US/+1202" {
		t.Fatalf("stored %+v, %v: want pinned to %s with the router's reason", got, err, imeiB)
	}
	if again, replayed, err := svc.Send(t.Context(), gateway.SendRequest{To: numOK, Text: "routed", IdempotencyKey: "k1"}); err != nil || !replayed || again.ID != m.ID {
		t.Errorf("replay: %v, replayed %v, id %s; want the same message", err, replayed, again.ID)
	}
	if err := st.UpsertModem(t.Context(), gateway.ModemInfo{IMEI: imeiA, State: gateway.ModemOnline, UpdatedAt: svcNow}); err != nil {
		t.Fatal(err)
	}
	calls := r.calls
	pinned, _, err := svc.Send(t.Context(), gateway.SendRequest{To: numOK, Text: "pinned", Modem: imeiA})
	if err != nil || pinned.Pin != imeiA || pinned.Route != "" || r.calls != calls {
		t.Errorf("a message naming its modem: %+v, %v, router asked %d more times; want it kept, not routed", pinned, err, r.calls-calls)
	}
}
