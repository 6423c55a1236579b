package retention_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/retention"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

var _ retention.Store = (*fakeStore)(nil)

// fakeStore records each call as "kind before[/now]".
type fakeStore struct {
	mu    sync.Mutex
	calls []string
	fail  string // the kind that fails
}

func (f *fakeStore) record(kind string, before time.Time, now ...time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := kind + " " + before.Format(time.RFC3339)
	for _, n := range now {
		c += "/" + n.Format(time.RFC3339)
	}
	f.calls = append(f.calls, c)
	if kind == f.fail {
		return 0, errors.New("disk full")
	}
	return 1, nil
}

func (f *fakeStore) PruneIdempotency(_ context.Context, before time.Time) (int, error) {
	return f.record("idem", before)
}
func (f *fakeStore) PruneWebhookDeliveries(_ context.Context, before time.Time) (int, error) {
	return f.record("webhooks", before)
}
func (f *fakeStore) PurgeMessageTexts(_ context.Context, before, now time.Time) (int, error) {
	return f.record("messages", before, now)
}
func (f *fakeStore) PurgeInboundTexts(_ context.Context, before, now time.Time) (int, error) {
	return f.record("inbound", before, now)
}

func (f *fakeStore) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestPrune_Cutoffs(t *testing.T) {
	f := &fakeStore{}
	var logs strings.Builder
	p := retention.New(retention.DefaultConfig(), f, testkit.NewClock(t0), slog.New(slog.NewTextHandler(&logs, nil)))
	if err := p.Prune(t.Context()); err != nil {
		t.Fatal(err)
	}
	rfc := func(t time.Time) string { return t.Format(time.RFC3339) }
	want := []string{
		"idem " + rfc(t0.Add(-72*time.Hour)),
		"webhooks " + rfc(t0.Add(-7*day)),
		"messages " + rfc(t0.Add(-30*day)) + "/" + rfc(t0),
		"inbound " + rfc(t0.Add(-30*day)) + "/" + rfc(t0),
	}
	if got := f.Calls(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if l := logs.String(); !strings.Contains(l, "level=INFO") || !strings.Contains(l, "message_texts=1") {
		t.Errorf("log %q does not say at info what was pruned", l)
	}
}

func TestPrune_ZeroDisables(t *testing.T) {
	f := &fakeStore{}
	cfg := retention.DefaultConfig()
	cfg.WebhookDeliveries, cfg.InboundTexts = 0, -time.Hour
	if err := retention.New(cfg, f, testkit.NewClock(t0), discard()).Prune(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := f.Calls(); len(got) != 2 || !strings.HasPrefix(got[0], "idem") || !strings.HasPrefix(got[1], "messages") {
		t.Errorf("calls %q; want only idempotency keys and message texts", got)
	}
	f = &fakeStore{}
	if err := retention.New(retention.Config{}, f, testkit.NewClock(t0), discard()).Prune(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := f.Calls(); len(got) != 0 {
		t.Errorf("the zero Config pruned: %q", got)
	}
}

// One failing kind does not keep the others from being pruned.
func TestPrune_ErrorDoesNotStopOthers(t *testing.T) {
	f := &fakeStore{fail: "webhooks"}
	err := retention.New(retention.DefaultConfig(), f, testkit.NewClock(t0), discard()).Prune(t.Context())
	if err == nil || !strings.Contains(err.Error(), "webhook_deliveries") {
		t.Errorf("err = %v; want one naming webhook_deliveries", err)
	}
	if got := f.Calls(); len(got) != 4 {
		t.Errorf("calls %q; want all four kinds tried", got)
	}
}

// Run prunes FirstAfter after its start, then every Every, until its
// context ends.
func TestRun_Schedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStore{}
		cfg := retention.Config{IdempotencyKeys: time.Hour} // one call per run
		p := retention.New(cfg, f, gateway.SystemClock{}, discard())
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- p.Run(ctx) }()
		runs := func() int { synctest.Wait(); return len(f.Calls()) }
		time.Sleep(retention.DefaultFirstAfter - time.Second)
		if n := runs(); n != 0 {
			t.Fatalf("%d runs before FirstAfter", n)
		}
		time.Sleep(time.Second)
		if n := runs(); n != 1 {
			t.Fatalf("%d runs at FirstAfter, want 1", n)
		}
		time.Sleep(retention.DefaultEvery - time.Second)
		if n := runs(); n != 1 {
			t.Fatalf("%d runs before Every, want 1", n)
		}
		time.Sleep(time.Second)
		if n := runs(); n != 2 {
			t.Fatalf("%d runs after Every, want 2", n)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	})
}

// On a real database, the zero Config prunes nothing and the defaults
// prune each kind once it is old enough.
func TestPrune_RealStore(t *testing.T) {
	st := testkit.OpenStore(t)
	ctx := t.Context()
	m := &gateway.Message{ID: "msg_1", To: "+14155550101", Text: "hello", Encoding: "gsm7", Segments: 1,
		Priority: gateway.PriorityNormal, ConcatRef: 1, APIKey: "app", CreatedAt: t0}
	if _, _, err := st.CreateMessage(ctx, m, gateway.IdempotencyKey{APIKey: "app", Key: "k1", Hash: "h"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CancelMessage(ctx, "msg_1", t0); err != nil {
		t.Fatal(err)
	}
	in := &gateway.InboundMessage{ID: "in_1", Modem: "imeiA", From: "+14155550199", Text: "hi", Parts: 1, ReceivedAt: t0}
	if err := st.SaveInbound(ctx, in, nil); err != nil {
		t.Fatal(err)
	}
	later := testkit.NewClock(t0.Add(365 * day))
	if err := retention.New(retention.Config{}, st, later, discard()).Prune(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(wantMsg, wantIn string, wantReplay bool) {
		t.Helper()
		if got, err := st.Message(ctx, "msg_1"); err != nil || got.Text != wantMsg || got.Status != gateway.StatusCanceled {
			t.Errorf("message = %+v, %v; want text %q, canceled", got, err, wantMsg)
		}
		inbox, err := st.Inbox(ctx, time.Time{}, 10)
		if err != nil || len(inbox) != 1 || inbox[0].Text != wantIn || inbox[0].From != in.From {
			t.Errorf("inbox = %v, %v; want text %q", inbox, err, wantIn)
		}
		m2 := *m
		m2.ID = "msg_2"
		_, replayed, err := st.CreateMessage(ctx, &m2, gateway.IdempotencyKey{APIKey: "app", Key: "k1", Hash: "h"})
		if err != nil || replayed != wantReplay {
			t.Errorf("key k1 replayed %v, %v; want %v", replayed, err, wantReplay)
		}
	}
	check("hello", "hi", true)

	// Just inside every default retention: nothing goes.
	early := testkit.NewClock(t0.Add(72 * time.Hour))
	if err := retention.New(retention.DefaultConfig(), st, early, discard()).Prune(ctx); err != nil {
		t.Fatal(err)
	}
	check("hello", "hi", true)
	if err := retention.New(retention.DefaultConfig(), st, later, discard()).Prune(ctx); err != nil {
		t.Fatal(err)
	}
	check("", "", false)
}
