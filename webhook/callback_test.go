package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/webhook"
)

// TestCallbacks_RetriedUntil2xxAndRefusedTargetsFailAtOnce: a callback
// whose receiver answers 500 is retried with backoff until it answers 200;
// one to a link-local address fails at once, never attempted again.
func TestCallbacks_RetriedUntil2xxAndRefusedTargetsFailAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	st := testkit.OpenStore(t)
	var mu sync.Mutex
	var queries []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		queries = append(queries, r.Method+" "+r.URL.RawQuery)
		if len(queries) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer recv.Close()
	now := time.Now()
	rows := []gateway.CallbackDelivery{
		{ID: gateway.NewID("cb_", now), EventID: "evt_1", Kind: "kannel", MessageID: "msg_1", URL: recv.URL + "/dlr?type=8",
			NextAttempt: now, CreatedAt: now},
		{ID: gateway.NewID("cb_", now), EventID: "evt_2", Kind: "kannel", MessageID: "msg_2", URL: "http://169.254.169.254/dlr",
			NextAttempt: now, CreatedAt: now},
	}
	if n, err := st.EnqueueCallbacks(ctx, "test", 0, rows); err != nil || n != 2 {
		t.Fatalf("EnqueueCallbacks = %d, %v", n, err)
	}
	// Enqueued again (a batch taken twice after a crash): nothing added.
	if n, err := st.EnqueueCallbacks(ctx, "test", 0, rows); err != nil || n != 0 {
		t.Fatalf("EnqueueCallbacks again = %d, %v; want 0", n, err)
	}
	cb := webhook.NewCallbacks(webhook.Config{FirstRetry: 20 * time.Millisecond, MaxRetry: 40 * time.Millisecond,
		PollEvery: 10 * time.Millisecond}, st, gateway.SystemClock{}, nil)
	done := make(chan error, 1)
	go func() { done <- cb.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitRow := func(msg, status string) gateway.CallbackDelivery {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			cs, err := st.Callbacks(ctx, msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) == 1 && cs[0].Status == status {
				return cs[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("callback of %s: %+v, want %s", msg, cs, status)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if c := waitRow("msg_1", gateway.CallbackDelivered); c.Attempts != 2 {
		t.Errorf("delivered after %d attempts, want 2 (a 500, then a 200)", c.Attempts)
	}
	if c := waitRow("msg_2", gateway.CallbackFailed); c.Attempts != 1 || c.LastError == "" {
		t.Errorf("link-local callback: %d attempts, error %q; want failed at the first", c.Attempts, c.LastError)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(queries) != 2 || queries[0] != "GET type=8" || queries[1] != "GET type=8" {
		t.Errorf("receiver got %q, want GET type=8 twice", queries)
	}
}
