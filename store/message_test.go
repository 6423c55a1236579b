package store

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func TestCreateMessage_RoundTrip(t *testing.T) {
	s := mustOpen(t)
	in := &gateway.Message{
		ID:           "msg_01",
		To:           "+447700900123",
		Text:         "Ünïcödé ✓ long enough for three parts",
		Encoding:     "ucs2",
		Segments:     3,
		Priority:     gateway.PriorityHigh,
		Pin:          "356938035643809",
		StatusReport: true,
		ConcatRef:    201,
		APIKey:       "crm",
		CreatedAt:    t0.Add(123456789 * time.Nanosecond),
		SendAt:       t0.Add(time.Hour),
		ExpiresAt:    t0.Add(2 * time.Hour),
	}
	got := mustCreate(t, s, in)
	for name, m := range map[string]*gateway.Message{"returned": got, "read back": mustMessage(t, s, "msg_01")} {
		t.Run(name, func(t *testing.T) {
			if m.ID != in.ID || m.To != in.To || m.Text != in.Text || m.Encoding != in.Encoding ||
				m.Segments != 3 || m.Priority != in.Priority || m.Pin != in.Pin || !m.StatusReport ||
				m.ConcatRef != 201 || m.APIKey != "crm" || m.Status != gateway.StatusQueued {
				t.Errorf("got %+v, want fields of %+v", m, in)
			}
			if !m.CreatedAt.Equal(in.CreatedAt) || !m.SendAt.Equal(in.SendAt) || !m.ExpiresAt.Equal(in.ExpiresAt) {
				t.Errorf("times %v %v %v, want %v %v %v", m.CreatedAt, m.SendAt, m.ExpiresAt, in.CreatedAt, in.SendAt, in.ExpiresAt)
			}
			if !m.NextAttempt.IsZero() || !m.SentAt.IsZero() || !m.FinishedAt.IsZero() {
				t.Errorf("unset times not zero: %+v", m)
			}
			if len(m.Parts) != 3 {
				t.Fatalf("%d parts, want 3", len(m.Parts))
			}
			for i, p := range m.Parts {
				want := gateway.Part{Index: i + 1, Status: gateway.StatusQueued, ReportCode: -1}
				if !reflect.DeepEqual(p, want) {
					t.Errorf("part %d = %+v, want %+v", i, p, want)
				}
			}
		})
	}
}

func TestCreateMessage_Invalid(t *testing.T) {
	s := mustOpen(t)
	tests := []struct {
		name   string
		mutate func(*gateway.Message)
		want   error
	}{
		{"NoID", func(m *gateway.Message) { m.ID = "" }, gateway.ErrInvalid},
		{"NoCreatedAt", func(m *gateway.Message) { m.CreatedAt = time.Time{} }, gateway.ErrInvalid},
		{"NoSegments", func(m *gateway.Message) { m.Segments = 0 }, gateway.ErrInvalid},
		{"PartsMismatch", func(m *gateway.Message) { m.Parts = []gateway.Part{{Index: 1}, {Index: 2}} }, gateway.ErrInvalid},
		{"BadEncoding", func(m *gateway.Message) { m.Encoding = "latin1" }, nil},
		{"BadStatus", func(m *gateway.Message) { m.Status = "lost" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMessage("msg_"+tt.name, 0)
			tt.mutate(m)
			_, _, err := s.CreateMessage(t.Context(), m, gateway.IdempotencyKey{})
			if err == nil {
				t.Fatal("CreateMessage succeeded, want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if _, err := s.Message(t.Context(), m.ID); m.ID != "" && !errors.Is(err, gateway.ErrNotFound) {
				t.Errorf("after a refused create, Message: %v, want ErrNotFound", err)
			}
		})
	}
	mustCreate(t, s, newMessage("msg_dup", 0))
	_, _, err := s.CreateMessage(t.Context(), newMessage("msg_dup", time.Second), gateway.IdempotencyKey{})
	wantErr(t, "duplicate id", err, gateway.ErrConflict)
}

func TestCreateMessage_Idempotency(t *testing.T) {
	s := mustOpen(t)
	create := func(id, apiKey, key, hash string) (*gateway.Message, bool, error) {
		m := newMessage(id, 0)
		m.APIKey = apiKey
		return s.CreateMessage(t.Context(), m, gateway.IdempotencyKey{APIKey: apiKey, Key: key, Hash: hash})
	}
	first, replayed, err := create("msg_a", "app", "k1", "h1")
	if err != nil || replayed {
		t.Fatalf("first create: %v, replayed %v", err, replayed)
	}

	tests := []struct {
		name                  string
		id, apiKey, key, hash string
		wantID                string
		wantReplayed          bool
		wantErr               error
	}{
		{"SameKeySameBody", "msg_b", "app", "k1", "h1", "msg_a", true, nil},
		{"SameKeyOtherBody", "msg_c", "app", "k1", "h2", "", false, gateway.ErrIdempotencyReused},
		{"OtherAPIKey", "msg_d", "other", "k1", "h1", "msg_d", false, nil},
		{"OtherKey", "msg_e", "app", "k2", "h1", "msg_e", false, nil},
		{"NoKey", "msg_f", "app", "", "h1", "msg_f", false, nil},
		{"NoKeyAgain", "msg_g", "app", "", "h1", "msg_g", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, replayed, err := create(tt.id, tt.apiKey, tt.key, tt.hash)
			if tt.wantErr != nil {
				wantErr(t, "create", err, tt.wantErr)
				if _, err := s.Message(t.Context(), tt.id); !errors.Is(err, gateway.ErrNotFound) {
					t.Errorf("refused message %s was stored: %v", tt.id, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if got.ID != tt.wantID || replayed != tt.wantReplayed {
				t.Errorf("got %s replayed %v, want %s replayed %v", got.ID, replayed, tt.wantID, tt.wantReplayed)
			}
			if replayed && (len(got.Parts) != len(first.Parts) || !got.CreatedAt.Equal(first.CreatedAt)) {
				t.Errorf("replay returned %+v, want the first message %+v", got, first)
			}
		})
	}
	if _, err := s.Message(t.Context(), "msg_b"); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("replayed request stored a second message: %v", err)
	}
}

func TestMessages_Pagination(t *testing.T) {
	s := mustOpen(t)
	const n = 137
	for i := range n {
		// Groups of three share a created_at, so the id must break ties.
		m := newMessage(msgID(i), time.Duration(i/3)*time.Second)
		if i%4 == 0 {
			m.To = "+33612345678"
		}
		mustCreate(t, s, m)
	}
	mustClaim(t, s, "imei1", t0.Add(time.Hour)) // the oldest, msg_000000, becomes sending

	tests := []struct {
		name   string
		filter gateway.MessageFilter
		want   func(i int) bool
	}{
		{"All", gateway.MessageFilter{Limit: 10}, func(int) bool { return true }},
		{"ByTo", gateway.MessageFilter{To: "+33612345678", Limit: 7}, func(i int) bool { return i%4 == 0 }},
		{"ByStatus", gateway.MessageFilter{Status: gateway.StatusQueued, Limit: 500}, func(i int) bool { return i != 0 }},
		{"DefaultLimit", gateway.MessageFilter{}, func(int) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for i := n - 1; i >= 0; i-- {
				if tt.want(i) {
					want = append(want, msgID(i))
				}
			}
			var got []string
			f := tt.filter
			pages := 0
			for {
				msgs, next, err := s.Messages(t.Context(), f)
				if err != nil {
					t.Fatalf("Messages: %v", err)
				}
				limit := f.Limit
				if limit == 0 {
					limit = 50
				}
				if len(msgs) > limit {
					t.Fatalf("page of %d, limit %d", len(msgs), limit)
				}
				for _, m := range msgs {
					if len(m.Parts) != 1 {
						t.Errorf("%s has %d parts loaded, want 1", m.ID, len(m.Parts))
					}
					got = append(got, m.ID)
				}
				pages++
				if next == "" {
					break
				}
				if pages > n {
					t.Fatal("pagination does not end")
				}
				f.Cursor = next
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("walked %d ids %v…, want %d ids %v…", len(got), head(got), len(want), head(want))
			}
		})
	}

	t.Run("MaxLimit", func(t *testing.T) {
		for i := n; i < 600; i++ {
			mustCreate(t, s, newMessage(msgID(i), time.Duration(i)*time.Second))
		}
		msgs, next, err := s.Messages(t.Context(), gateway.MessageFilter{Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 500 || next == "" {
			t.Errorf("got %d rows and next %q, want 500 and a cursor", len(msgs), next)
		}
	})
	t.Run("BadCursor", func(t *testing.T) {
		for _, c := range []string{"!!", encodeCursor("yesterday", "msg_1"), encodeCursor(fmtTime(t0), ""), "bm9waXBl"} {
			_, _, err := s.Messages(t.Context(), gateway.MessageFilter{Cursor: c})
			wantErr(t, fmt.Sprintf("cursor %q", c), err, gateway.ErrInvalid)
		}
	})
}

func head(s []string) []string { return s[:min(len(s), 5)] }

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(fmtTime(t0), "msg_01"))
	f.Add("")
	f.Add("fA")
	f.Fuzz(func(t *testing.T, c string) {
		created, id, err := decodeCursor(c)
		if err != nil {
			if !errors.Is(err, gateway.ErrInvalid) {
				t.Fatalf("decodeCursor(%q): %v, not ErrInvalid", c, err)
			}
			return
		}
		c2, id2, err := decodeCursor(encodeCursor(created, id))
		if err != nil || c2 != created || id2 != id {
			t.Fatalf("round trip of (%q, %q) gave (%q, %q, %v)", created, id, c2, id2, err)
		}
	})
}

func TestCancelMessage(t *testing.T) {
	s := mustOpen(t)
	now := t0.Add(time.Minute)
	mustCreate(t, s, newMessage("msg_queued", 0))
	mustCreate(t, s, newMessage("msg_sending", time.Second))
	mustCreate(t, s, newMessage("msg_sent", 2*time.Second))
	mustCreate(t, s, newMessage("msg_after_retry", 3*time.Second))
	mp := newMessage("msg_partial", 4*time.Second)
	mp.Segments = 2
	mustCreate(t, s, mp)

	// Claims go oldest first; drive each message to its state.
	if id := claimedID(mustClaim(t, s, "imei1", now)); id != "msg_queued" {
		t.Fatalf("claimed %s, want msg_queued", id)
	}
	if err := s.Retry(t.Context(), "msg_queued", now, "modem gone", false); err != nil {
		t.Fatal(err)
	}
	// msg_queued is back first in line; claim past it by pinning it away.
	if _, err := s.w.ExecContext(t.Context(), `UPDATE messages SET pin = 'elsewhere' WHERE id = 'msg_queued'`); err != nil {
		t.Fatal(err)
	}
	if id := claimedID(mustClaim(t, s, "imei1", now)); id != "msg_sending" {
		t.Fatalf("claimed %s, want msg_sending", id)
	}
	mustClaim(t, s, "imei1", now) // msg_sent
	if err := s.PartSent(t.Context(), "msg_sent", 1, "imei1", 9, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Sent(t.Context(), "msg_sent", now); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, s, "imei1", now) // msg_after_retry
	if err := s.Retry(t.Context(), "msg_after_retry", now.Add(10*time.Second), "busy", true); err != nil {
		t.Fatal(err)
	}
	if id := claimedID(mustClaim(t, s, "imei1", now)); id != "msg_partial" {
		t.Fatalf("claimed %s, want msg_partial", id)
	}
	if err := s.PartSent(t.Context(), "msg_partial", 1, "imei1", 10, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry(t.Context(), "msg_partial", now.Add(10*time.Second), "cms 500", true); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		id        string
		wantErr   error
		wantParts []gateway.Status
	}{
		{"msg_queued", nil, []gateway.Status{gateway.StatusCanceled}},
		{"msg_sending", gateway.ErrConflict, []gateway.Status{gateway.StatusSending}},
		{"msg_sent", gateway.ErrConflict, []gateway.Status{gateway.StatusSent}},
		{"msg_after_retry", nil, []gateway.Status{gateway.StatusCanceled}},
		{"msg_partial", nil, []gateway.Status{gateway.StatusSent, gateway.StatusCanceled}},
		{"msg_queued", gateway.ErrConflict, []gateway.Status{gateway.StatusCanceled}}, // twice
		{"msg_unknown", gateway.ErrNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			m, err := s.CancelMessage(t.Context(), tt.id, now.Add(time.Second))
			if tt.wantErr != nil {
				wantErr(t, "cancel", err, tt.wantErr)
			} else {
				if err != nil {
					t.Fatalf("cancel: %v", err)
				}
				if m.Status != gateway.StatusCanceled || !m.FinishedAt.Equal(now.Add(time.Second)) {
					t.Errorf("got status %s finished %v", m.Status, m.FinishedAt)
				}
			}
			if tt.wantParts == nil {
				return
			}
			var got []gateway.Status
			for _, p := range mustMessage(t, s, tt.id).Parts {
				got = append(got, p.Status)
			}
			if !reflect.DeepEqual(got, tt.wantParts) {
				t.Errorf("parts %v, want %v", got, tt.wantParts)
			}
		})
	}
	// Past every retry time but within msg_sending's lease, nothing is left.
	if id := claimedID(mustClaim(t, s, "imei1", now.Add(30*time.Second))); id != "" {
		t.Errorf("claimed %s, want nothing", id)
	}
}

func TestPruneIdempotency(t *testing.T) {
	s := mustOpen(t)
	for i, age := range []time.Duration{0, time.Hour, 2 * time.Hour} {
		m := newMessage(msgID(i), age)
		if _, _, err := s.CreateMessage(t.Context(), m, gateway.IdempotencyKey{APIKey: "app", Key: msgID(i), Hash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.PruneIdempotency(t.Context(), t0.Add(90*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("PruneIdempotency = %d, %v; want 2", n, err)
	}
	// The pruned key is free again; the kept one still replays.
	m := newMessage("msg_new", 3*time.Hour)
	if _, replayed, err := s.CreateMessage(t.Context(), m, gateway.IdempotencyKey{APIKey: "app", Key: msgID(0), Hash: "x"}); err != nil || replayed {
		t.Errorf("reuse of a pruned key: replayed %v, %v", replayed, err)
	}
	m = newMessage("msg_new2", 3*time.Hour)
	if got, replayed, err := s.CreateMessage(t.Context(), m, gateway.IdempotencyKey{APIKey: "app", Key: msgID(2), Hash: "h"}); err != nil || !replayed || got.ID != msgID(2) {
		t.Errorf("kept key: got %v replayed %v, %v", claimedID(got), replayed, err)
	}
}
