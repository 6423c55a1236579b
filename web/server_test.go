package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/web/internal/webtest"
)

// mustServer is a Server on svc behind a loopback listener, logging JSON
// at debug into the returned server's Log.
func mustServer(t testing.TB, svc *webtest.FakeService, cfg Config) *webtest.Server {
	t.Helper()
	logs := webtest.NewLogBuffer()
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := NewServer(cfg, svc, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ts := webtest.Start(t, s.Handler())
	ts.Svc, ts.Log, ts.Registry = svc, logs, cfg.Registry
	return ts
}

func TestServer_Serve(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		// A request in flight when ctx ends is allowed to finish.
		entered, release := make(chan struct{}), make(chan struct{})
		svc := &webtest.FakeService{ModemsFn: func(context.Context) ([]gateway.ModemView, error) {
			close(entered)
			<-release
			return nil, nil
		}}
		logs := webtest.NewLogBuffer()
		s := NewServer(Config{}, svc, slog.New(slog.NewJSONHandler(logs, nil)))
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		served := make(chan error, 1)
		go func() { served <- s.Serve(ctx, ln) }()

		type result struct {
			status int
			err    error
		}
		got := make(chan result, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/api/v1/modems", nil)
			req.Header.Set("Authorization", "Bearer "+webtest.Key)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				got <- result{err: err}
				return
			}
			res.Body.Close()
			got <- result{status: res.StatusCode}
		}()
		<-entered
		cancel()
		logs.WaitFor(t, "http server shutting down")
		close(release)
		if r := <-got; r.err != nil || r.status != http.StatusOK {
			t.Errorf("request in flight at shutdown: status %d, err %v; want 200", r.status, r.err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve = %v, want nil after shutdown", err)
		}
		if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
			t.Error("server still answers after Serve returned")
		}
	})
	t.Run("ErrListenerClosed", func(t *testing.T) {
		s := NewServer(Config{}, &webtest.FakeService{}, nil)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		ln.Close()
		if err := s.Serve(t.Context(), ln); err == nil {
			t.Error("Serve on a closed listener = nil, want an error")
		}
	})
}

func TestNewServer_SharedRegistry(t *testing.T) {
	// Two servers on one registry (a restart of the HTTP side) share the
	// series instead of panicking on a duplicate registration.
	reg := prometheus.NewRegistry()
	a := mustServer(t, &webtest.FakeService{}, Config{Registry: reg})
	b := mustServer(t, &webtest.FakeService{}, Config{Registry: reg})
	a.Do(t, http.MethodGet, "/healthz", "", nil)
	b.Do(t, http.MethodGet, "/healthz", "", nil)
	b.Log.WaitFor(t, `"route":"/healthz"`)
	a.Log.WaitFor(t, `"route":"/healthz"`)
	r := b.Do(t, http.MethodGet, "/metrics", "", nil)
	want := `simgate_http_requests_total{method="GET",route="/healthz",status="200"} 2`
	if !strings.Contains(string(r.Body), want) {
		t.Errorf("metrics lack %q:\n%s", want, r.Body)
	}
}

func BenchmarkPostMessage(b *testing.B) {
	svc := &webtest.FakeService{SendFn: func(_ context.Context, r gateway.SendRequest) (*gateway.Message, bool, error) {
		return &gateway.Message{ID: "msg_01JNBENCH0000000000000000", Status: gateway.StatusQueued, To: r.To, Segments: 1, Encoding: "gsm7"}, false, nil
	}}
	s := NewServer(Config{}, svc, nil)
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	body := []byte(`{"to":"+12025550123","text":"Your code is 123456","priority":"high","ttl":"5m"}`)

	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, err := http.NewRequest(http.MethodPost, hs.URL+"/api/v1/messages", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			req.Header.Set("Authorization", "Bearer "+webtest.Key)
			req.Header.Set("Content-Type", "application/json")
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// TestServer_StorageFull: a write refused for a full disk is 503 with
// Retry-After and its own problem type, not a 500.
func TestServer_StorageFull(t *testing.T) {
	svc := &webtest.FakeService{SendFn: func(context.Context, gateway.SendRequest) (*gateway.Message, bool, error) {
		return nil, false, fmt.Errorf("create message: %w: database or disk is full", gateway.ErrStorageFull)
	}}
	ts := mustServer(t, svc, Config{})
	res := ts.Do(t, http.MethodPost, "/api/v1/messages", `{"to":"+12025550123","text":"hi"}`, webtest.Authed())
	if res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", res.Status, res.Header.Get("Retry-After"))
	}
	if !strings.Contains(string(res.Body), apiv1.ProblemStorageFull) {
		t.Errorf("body %s lacks the problem type %s", res.Body, apiv1.ProblemStorageFull)
	}
}

// TestServer_StoreBusy: a write the database did not take in time (a
// lock held by a frozen host) is 503 with Retry-After and its own problem
// type: the client tries again.
func TestServer_StoreBusy(t *testing.T) {
	svc := &webtest.FakeService{SendFn: func(context.Context, gateway.SendRequest) (*gateway.Message, bool, error) {
		return nil, false, fmt.Errorf("create message: %w: canceling statement due to lock timeout", gateway.ErrStoreBusy)
	}}
	ts := mustServer(t, svc, Config{})
	res := ts.Do(t, http.MethodPost, "/api/v1/messages", `{"to":"+12025550123","text":"hi"}`, webtest.Authed())
	if res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", res.Status, res.Header.Get("Retry-After"))
	}
	if !strings.Contains(string(res.Body), apiv1.ProblemStoreBusy) {
		t.Errorf("body %s lacks the problem type %s", res.Body, apiv1.ProblemStoreBusy)
	}
}

// With a token, /metrics answers only its bearer; without, everyone.
func TestMetricsToken(t *testing.T) {
	open := mustServer(t, &webtest.FakeService{}, Config{})
	if r := open.Do(t, http.MethodGet, "/metrics", "", nil); r.Status != http.StatusOK {
		t.Errorf("open /metrics: %d", r.Status)
	}
	ts := mustServer(t, &webtest.FakeService{}, Config{MetricsToken: "scrape-token-1"})
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer wrong", http.StatusUnauthorized},
		{"Basic scrape-token-1", http.StatusUnauthorized},
		{"Bearer scrape-token-1", http.StatusOK},
		{"bearer scrape-token-1", http.StatusOK},
	} {
		h := map[string]string{}
		if tc.auth != "" {
			h["Authorization"] = tc.auth
		}
		r := ts.Do(t, http.MethodGet, "/metrics", "", h)
		if r.Status != tc.want {
			t.Errorf("Authorization %q: status %d, want %d", tc.auth, r.Status, tc.want)
		}
		if r.Status == http.StatusOK && !strings.Contains(string(r.Body), "simgate_http_requests_total") {
			t.Errorf("Authorization %q: no metrics in %s", tc.auth, r.Body)
		}
	}
}
