package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/gateway"
)

const (
	testKey     = "sk_test_good"
	testKeyName = "billing-app"
)

// fakeService is a hand-written gateway.ServiceAPI; each method calls its
// function field, and a nil field is an unexpected call.
type fakeService struct {
	SendFn         func(ctx context.Context, r gateway.SendRequest) (*gateway.Message, bool, error)
	MessageFn      func(ctx context.Context, id string) (*gateway.Message, error)
	MessagesFn     func(ctx context.Context, f gateway.MessageFilter) ([]*gateway.Message, string, error)
	CancelFn       func(ctx context.Context, id string) (*gateway.Message, error)
	InboxFn        func(ctx context.Context, since time.Time, limit int) ([]*gateway.InboundMessage, error)
	ModemsFn       func(ctx context.Context) ([]gateway.ModemView, error)
	AuthenticateFn func(ctx context.Context, key string) (gateway.APIKey, error)
	ReadyFn        func(ctx context.Context) error

	sends atomic.Int64 // calls of Send
}

var _ gateway.ServiceAPI = (*fakeService)(nil)

var errUnexpectedCall = errors.New("unexpected call of the fake service")

func (f *fakeService) Send(ctx context.Context, r gateway.SendRequest) (*gateway.Message, bool, error) {
	f.sends.Add(1)
	if f.SendFn == nil {
		return nil, false, errUnexpectedCall
	}
	return f.SendFn(ctx, r)
}

func (f *fakeService) Message(ctx context.Context, id string) (*gateway.Message, error) {
	if f.MessageFn == nil {
		return nil, errUnexpectedCall
	}
	return f.MessageFn(ctx, id)
}

func (f *fakeService) Messages(ctx context.Context, flt gateway.MessageFilter) ([]*gateway.Message, string, error) {
	if f.MessagesFn == nil {
		return nil, "", errUnexpectedCall
	}
	return f.MessagesFn(ctx, flt)
}

func (f *fakeService) Cancel(ctx context.Context, id string) (*gateway.Message, error) {
	if f.CancelFn == nil {
		return nil, errUnexpectedCall
	}
	return f.CancelFn(ctx, id)
}

func (f *fakeService) Inbox(ctx context.Context, since time.Time, limit int) ([]*gateway.InboundMessage, error) {
	if f.InboxFn == nil {
		return nil, errUnexpectedCall
	}
	return f.InboxFn(ctx, since, limit)
}

func (f *fakeService) Modems(ctx context.Context) ([]gateway.ModemView, error) {
	if f.ModemsFn == nil {
		return nil, errUnexpectedCall
	}
	return f.ModemsFn(ctx)
}

// Authenticate knows one key unless AuthenticateFn says otherwise.
func (f *fakeService) Authenticate(ctx context.Context, key string) (gateway.APIKey, error) {
	if f.AuthenticateFn != nil {
		return f.AuthenticateFn(ctx, key)
	}
	if key != testKey {
		return gateway.APIKey{}, gateway.ErrUnauthorized
	}
	return gateway.APIKey{ID: 7, Name: testKeyName}, nil
}

func (f *fakeService) Ready(ctx context.Context) error {
	if f.ReadyFn == nil {
		return nil
	}
	return f.ReadyFn(ctx)
}

// logBuffer collects slog JSON output and lets a test wait for a line: the
// access log is written after the response, so it may lag the client.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{})} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return n, err
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor returns the log once one of its lines contains every part,
// failing the test after a generous deadline.
func (l *logBuffer) waitFor(t testing.TB, parts ...string) string {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		s, changed := l.buf.String(), l.changed
		l.mu.Unlock()
		for line := range strings.Lines(s) {
			if containsAll(line, parts) {
				return s
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no log line contains all of %q; log:\n%s", parts, s)
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// testServer is a Server behind a real loopback listener.
type testServer struct {
	URL      string
	svc      *fakeService
	log      *logBuffer
	registry *prometheus.Registry
	client   *http.Client
}

func mustServer(t testing.TB, svc *fakeService, cfg Config) *testServer {
	t.Helper()
	logs := newLogBuffer()
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := NewServer(cfg, svc, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return &testServer{URL: hs.URL, svc: svc, log: logs, registry: cfg.Registry, client: hs.Client()}
}

// response is what a test looks at in an answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (ts *testServer) do(t testing.TB, method, path, body string, header map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, ts.URL+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := ts.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

func authed(extra ...string) map[string]string {
	h := map[string]string{"Authorization": "Bearer " + testKey}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

// assertJSON compares a body to the expected JSON as values, so that names,
// nulls and absent fields all count and formatting does not.
func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body:\n got %s\nwant %s", compact(t, got), compact(t, []byte(want)))
	}
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

// problemBody is the RFC 9457 document as a client reads it.
type problemBody struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail"`
	Errors    []fieldError `json:"errors"`
	RequestID string       `json:"request_id"`
}

// mustProblem checks that r is a problem with status and returns it.
func mustProblem(t *testing.T, r response, status int) problemBody {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problemBody
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("problem is not JSON: %v\n%s", err, r.Body)
	}
	if p.Status != status {
		t.Errorf("problem status = %d, want %d", p.Status, status)
	}
	if p.Type == "" || p.Title == "" || p.Detail == "" {
		t.Errorf("problem lacks type, title or detail: %s", r.Body)
	}
	if p.RequestID == "" || p.RequestID != r.Header.Get("X-Request-Id") {
		t.Errorf("problem request_id = %q, header X-Request-Id = %q", p.RequestID, r.Header.Get("X-Request-Id"))
	}
	return p
}

func TestServer_Serve(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		// A request in flight when ctx ends is allowed to finish.
		entered, release := make(chan struct{}), make(chan struct{})
		svc := &fakeService{ModemsFn: func(context.Context) ([]gateway.ModemView, error) {
			close(entered)
			<-release
			return nil, nil
		}}
		logs := newLogBuffer()
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
			req.Header.Set("Authorization", "Bearer "+testKey)
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
		logs.waitFor(t, "http server shutting down")
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
		s := NewServer(Config{}, &fakeService{}, nil)
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
	a := mustServer(t, &fakeService{}, Config{Registry: reg})
	b := mustServer(t, &fakeService{}, Config{Registry: reg})
	a.do(t, http.MethodGet, "/healthz", "", nil)
	b.do(t, http.MethodGet, "/healthz", "", nil)
	b.log.waitFor(t, `"route":"/healthz"`)
	a.log.waitFor(t, `"route":"/healthz"`)
	r := b.do(t, http.MethodGet, "/metrics", "", nil)
	want := `simgate_http_requests_total{method="GET",route="/healthz",status="200"} 2`
	if !strings.Contains(string(r.Body), want) {
		t.Errorf("metrics lack %q:\n%s", want, r.Body)
	}
}

func BenchmarkPostMessage(b *testing.B) {
	svc := &fakeService{SendFn: func(_ context.Context, r gateway.SendRequest) (*gateway.Message, bool, error) {
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
			req.Header.Set("Authorization", "Bearer "+testKey)
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
