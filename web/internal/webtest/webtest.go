// Package webtest holds what the tests of web, web/api and web/ui share: a
// hand-written fake of gateway.ServiceAPI, a log buffer to wait on, and a
// client for a server behind a real loopback listener. Only tests import
// it.
package webtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/gateway"
)

// Key is the one API key FakeService knows, named KeyName.
const (
	Key     = "sk_test_good"
	KeyName = "billing-app"
)

// FakeService is a hand-written gateway.ServiceAPI; each method calls its
// function field, and a nil field is an unexpected call.
type FakeService struct {
	SendFn         func(ctx context.Context, r gateway.SendRequest) (*gateway.Message, bool, error)
	MessageFn      func(ctx context.Context, id string) (*gateway.Message, error)
	MessagesFn     func(ctx context.Context, f gateway.MessageFilter) ([]*gateway.Message, string, error)
	CancelFn       func(ctx context.Context, id string) (*gateway.Message, error)
	InboxFn        func(ctx context.Context, since time.Time, limit int) ([]*gateway.InboundMessage, error)
	ModemsFn       func(ctx context.Context) ([]gateway.ModemView, error)
	AuthenticateFn func(ctx context.Context, key string) (gateway.APIKey, error)
	ReadyFn        func(ctx context.Context) error

	Sends atomic.Int64 // calls of Send
}

var _ gateway.ServiceAPI = (*FakeService)(nil)

// ErrUnexpectedCall is what a FakeService method without its function
// field returns.
var ErrUnexpectedCall = errors.New("unexpected call of the fake service")

func (f *FakeService) Send(ctx context.Context, r gateway.SendRequest) (*gateway.Message, bool, error) {
	f.Sends.Add(1)
	if f.SendFn == nil {
		return nil, false, ErrUnexpectedCall
	}
	return f.SendFn(ctx, r)
}

func (f *FakeService) Message(ctx context.Context, id string) (*gateway.Message, error) {
	if f.MessageFn == nil {
		return nil, ErrUnexpectedCall
	}
	return f.MessageFn(ctx, id)
}

func (f *FakeService) Messages(ctx context.Context, flt gateway.MessageFilter) ([]*gateway.Message, string, error) {
	if f.MessagesFn == nil {
		return nil, "", ErrUnexpectedCall
	}
	return f.MessagesFn(ctx, flt)
}

func (f *FakeService) Cancel(ctx context.Context, id string) (*gateway.Message, error) {
	if f.CancelFn == nil {
		return nil, ErrUnexpectedCall
	}
	return f.CancelFn(ctx, id)
}

func (f *FakeService) Inbox(ctx context.Context, since time.Time, limit int) ([]*gateway.InboundMessage, error) {
	if f.InboxFn == nil {
		return nil, ErrUnexpectedCall
	}
	return f.InboxFn(ctx, since, limit)
}

func (f *FakeService) Modems(ctx context.Context) ([]gateway.ModemView, error) {
	if f.ModemsFn == nil {
		return nil, ErrUnexpectedCall
	}
	return f.ModemsFn(ctx)
}

// Authenticate knows one key, an admin key (every scope, every key's rows),
// unless AuthenticateFn says otherwise.
func (f *FakeService) Authenticate(ctx context.Context, key string) (gateway.APIKey, error) {
	if f.AuthenticateFn != nil {
		return f.AuthenticateFn(ctx, key)
	}
	if key != Key {
		return gateway.APIKey{}, gateway.ErrUnauthorized
	}
	return gateway.APIKey{ID: 7, Name: KeyName, Scopes: []string{gateway.ScopeAdmin}}, nil
}

func (f *FakeService) Ready(ctx context.Context) error {
	if f.ReadyFn == nil {
		return nil
	}
	return f.ReadyFn(ctx)
}

// LogBuffer collects slog JSON output and lets a test wait for a line: the
// access log is written after the response, so it may lag the client.
type LogBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

// NewLogBuffer is an empty log.
func NewLogBuffer() *LogBuffer { return &LogBuffer{changed: make(chan struct{})} }

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return n, err
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// WaitFor returns the log once one of its lines contains every part,
// failing the test after a generous deadline.
func (l *LogBuffer) WaitFor(t testing.TB, parts ...string) string {
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

// Server is an HTTP handler behind a real loopback listener, with the fake
// and the log it was built on.
type Server struct {
	URL      string
	Svc      *FakeService
	Log      *LogBuffer
	Registry *prometheus.Registry
	Client   *http.Client
}

// Start serves h on a loopback listener until the test ends.
func Start(t testing.TB, h http.Handler) *Server {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return &Server{URL: hs.URL, Client: hs.Client()}
}

// Response is what a test looks at in an answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request (a body is sent as JSON) and reads the answer.
func (ts *Server) Do(t testing.TB, method, path, body string, header map[string]string) Response {
	t.Helper()
	if body == "" {
		return ts.send(t, method, path, nil, header)
	}
	return ts.DoExact(t, method, path, body, header)
}

// DoExact is Do with body sent as JSON exactly as given, even an empty one.
func (ts *Server) DoExact(t testing.TB, method, path, body string, header map[string]string) Response {
	t.Helper()
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range header {
		h[k] = v
	}
	return ts.send(t, method, path, strings.NewReader(body), h)
}

func (ts *Server) send(t testing.TB, method, path string, body io.Reader, header map[string]string) Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, ts.URL+path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := ts.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// Authed is the Authorization header with Key, and extra as name, value
// pairs.
func Authed(extra ...string) map[string]string {
	h := map[string]string{"Authorization": "Bearer " + Key}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

// AssertJSON compares a body to the expected JSON as values, so that names,
// nulls and absent fields all count and formatting does not.
func AssertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body:\n got %s\nwant %s", Compact(t, got), Compact(t, []byte(want)))
	}
}

// Compact is b as compact JSON, or as is when it is not JSON.
func Compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

// MustProblem checks that r is a problem with status and returns it.
func MustProblem(t *testing.T, r Response, status int) apiv1.Problem {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p apiv1.Problem
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
