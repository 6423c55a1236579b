package ui

import (
	"bufio"
	"context"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/web/internal/webtest"
)

const testPassword = "correct horse battery staple"

// fakeAdminStore keeps sessions in memory and answers the history reads
// from its fields.
type fakeAdminStore struct {
	mu       sync.Mutex
	hash     string
	sessions map[string]string // token hash → csrf
	expires  map[string]time.Time
	searches []gateway.MessageFilter
	messages []*gateway.Message
}

var _ AdminStore = (*fakeAdminStore)(nil)

func newFakeAdminStore(t testing.TB) *fakeAdminStore {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeAdminStore{hash: string(h), sessions: map[string]string{}, expires: map[string]time.Time{}}
}

func (f *fakeAdminStore) CheckAdminPassword(_ context.Context, pw string) error {
	if f.hash == "" {
		return gateway.ErrNotFound
	}
	if bcrypt.CompareHashAndPassword([]byte(f.hash), []byte(pw)) != nil {
		return gateway.ErrUnauthorized
	}
	return nil
}

func (f *fakeAdminStore) CreateSession(_ context.Context, h, csrf string, _, expires time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[h] = csrf
	f.expires[h] = expires
	return nil
}

func (f *fakeAdminStore) Session(_ context.Context, h string, now time.Time) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.sessions[h]
	if !ok || !now.Before(f.expires[h]) {
		return "", gateway.ErrNotFound
	}
	return c, nil
}

func (f *fakeAdminStore) DeleteSession(_ context.Context, h string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sessions, h)
	return nil
}

func (f *fakeAdminStore) ModemSamples(context.Context, string, time.Time) ([]gateway.ModemSample, error) {
	return nil, nil
}

func (f *fakeAdminStore) HourlySends(context.Context, string, time.Time) ([]gateway.HourCount, error) {
	return nil, nil
}

func (f *fakeAdminStore) RecentErrors(context.Context, string, int) ([]gateway.ErrorEvent, error) {
	return []gateway.ErrorEvent{{At: time.Now(), Error: "+CMS ERROR: 21"}}, nil
}

func (f *fakeAdminStore) DeliveredSince(context.Context, time.Time) (map[string]int, error) {
	return map[string]int{testIMEI: 2}, nil
}

func (f *fakeAdminStore) QueueDepth(context.Context) (int, error) { return 3, nil }

func (f *fakeAdminStore) Messages(_ context.Context, q gateway.MessageFilter) ([]*gateway.Message, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.searches = append(f.searches, q)
	return f.messages, "", nil
}

const testIMEI = "356938035643809"

// uiRig is a Server with the status page behind a real listener, and a
// browser-like client that keeps cookies and does not follow redirects.
type uiRig struct {
	URL    string
	svc    *webtest.FakeService
	store  *fakeAdminStore
	client *http.Client
	now    *fakeNow

	mu     sync.Mutex
	modems []gateway.ModemView
}

type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeNow) Add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

// newEcho serves the status page alone on echo's defaults: the server
// around it (package web, which imports this one) is tested there and, in
// a browser, by cmd/simgate.
func newEcho(svc gateway.ServiceAPI, u *UI) *echo.Echo {
	e := echo.New()
	Routes(e, svc, u)
	return e
}

func mustUI(t testing.TB) *uiRig {
	t.Helper()
	r := &uiRig{store: newFakeAdminStore(t), now: &fakeNow{t: time.Now()}}
	r.modems = []gateway.ModemView{{
		ModemInfo: gateway.ModemInfo{IMEI: testIMEI, Manufacturer: "SIMCOM", Model: "SIM800L", Operator: "Virtual",
			Registration: "registered", DBM: -71, Bars: 3, SignalKnown: true, State: gateway.ModemOnline, Number: "+12025550100"},
		ModemCounters: gateway.ModemCounters{QueueDepth: 1, Sent: 5, Failed: 1},
	}}
	r.svc = &webtest.FakeService{
		ModemsFn: func(context.Context) ([]gateway.ModemView, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			return append([]gateway.ModemView(nil), r.modems...), nil
		},
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	region := func() gateway.RegionInfo {
		return gateway.RegionInfo{Region: "DE", Source: gateway.RegionFromSIM, Modem: testIMEI, IMSI: "262011234567890"}
	}
	ui := New(Config{DailyCap: 100, LiveInterval: 5 * time.Millisecond, SessionCheck: 20 * time.Millisecond, Done: done, Now: r.now.Now,
		Region: region},
		r.store, nil, nil, slog.New(slog.DiscardHandler))
	hs := httptest.NewServer(newEcho(r.svc, ui))
	t.Cleanup(hs.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	r.URL = hs.URL
	r.client = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return r
}

func (r *uiRig) setState(s gateway.ModemState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.modems[0].State = s
}

func (r *uiRig) get(t testing.TB, path string) (*http.Response, string) {
	t.Helper()
	return r.send(t, http.MethodGet, path, nil, nil)
}

func (r *uiRig) post(t testing.TB, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	return r.send(t, http.MethodPost, path, form, nil)
}

func (r *uiRig) send(t testing.TB, method, path string, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, r.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := r.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func formToken(t testing.TB, body string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in:\n%s", body)
	}
	return m[1]
}

// login logs the rig's client in and returns the session's CSRF token.
func (r *uiRig) login(t testing.TB) string {
	t.Helper()
	_, body := r.get(t, "/login")
	res, _ := r.post(t, "/login", url.Values{"csrf": {formToken(t, body)}, "password": {testPassword}, "next": {"/"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("login: %d → %q, want 303 → /", res.StatusCode, res.Header.Get("Location"))
	}
	_, body = r.get(t, "/")
	return formToken(t, body)
}

// adminPages are every status page route, with a path to request it by.
var adminPages = []struct{ method, path string }{
	{"GET", "/"},
	{"GET", "/live"},
	{"GET", "/modems/" + testIMEI},
	{"POST", "/modems/" + testIMEI + "/reinit"},
	{"POST", "/modems/" + testIMEI + "/test-sms"},
	{"POST", "/modems/" + testIMEI + "/ussd"},
	{"GET", "/messages"},
	{"GET", "/messages/msg_1"},
	{"POST", "/messages/msg_1/cancel"},
	{"GET", "/inbox"},
	{"GET", "/otp"},
	{"GET", "/try"},
	{"POST", "/try/send"},
	{"POST", "/try/check"},
	{"GET", "/try/phone"},
	{"POST", "/logout"},
}

func TestUI_RoutesCovered(t *testing.T) {
	e := newEcho(&webtest.FakeService{}, New(Config{}, newFakeAdminStore(t), nil, nil, nil))
	listed := map[string]bool{}
	for _, p := range adminPages {
		listed[p.method+" "+routePattern(p.path)] = true
	}
	public := map[string]bool{"GET /login": true, "POST /login": true, "GET /static/*": true, "GET /favicon.ico": true}
	for _, rt := range e.Routes() {
		if strings.HasPrefix(rt.Path, "/api/") || rt.Path == "/healthz" || rt.Path == "/readyz" || rt.Path == "/metrics" {
			continue
		}
		key := rt.Method + " " + rt.Path
		if !listed[key] && !public[key] {
			t.Errorf("route %s is not in adminPages: its redirect to login is untested", key)
		}
	}
}

func routePattern(p string) string {
	p = strings.Replace(p, testIMEI, ":imei", 1)
	return strings.Replace(p, "msg_1", ":id", 1)
}

func TestUI_UnauthenticatedRedirects(t *testing.T) {
	r := mustUI(t)
	for _, p := range adminPages {
		t.Run(p.method+" "+p.path, func(t *testing.T) {
			res, _ := r.send(t, p.method, p.path, url.Values{"csrf": {"x"}}, nil)
			loc := res.Header.Get("Location")
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
				t.Errorf("status %d, Location %q; want 303 to /login", res.StatusCode, loc)
			}
			if p.method == "GET" && p.path != "/" && loc != "/login?next="+url.QueryEscape(p.path) {
				t.Errorf("Location %q does not come back to %s", loc, p.path)
			}
		})
	}
	// A forged cookie is no session.
	u, _ := url.Parse(r.URL)
	r.client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "forged"}})
	if res, _ := r.get(t, "/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("forged session: status %d, want 303", res.StatusCode)
	}
}

func findCookie(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestUI_Login(t *testing.T) {
	tests := []struct {
		name       string
		password   string
		csrf       func(form string) string
		header     http.Header
		wantStatus int
		wantSecure bool
	}{
		{"OK", testPassword, func(f string) string { return f }, nil, http.StatusSeeOther, false},
		{"OKBehindTLSProxy", testPassword, func(f string) string { return f }, http.Header{"X-Forwarded-Proto": {"https"}}, http.StatusSeeOther, true},
		{"ErrWrongPassword", "hunter2", func(f string) string { return f }, nil, http.StatusUnauthorized, false},
		{"ErrNoCSRF", testPassword, func(string) string { return "" }, nil, http.StatusForbidden, false},
		{"ErrWrongCSRF", testPassword, func(string) string { return "forged" }, nil, http.StatusForbidden, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustUI(t)
			res, body := r.send(t, "GET", "/login", nil, tt.header)
			lc := findCookie(res, loginCSRFCookie)
			if lc == nil || !lc.HttpOnly || lc.SameSite != http.SameSiteStrictMode || lc.Secure != tt.wantSecure {
				t.Fatalf("login CSRF cookie = %+v; want HttpOnly, SameSite=Strict, Secure=%v", lc, tt.wantSecure)
			}
			form := url.Values{"csrf": {tt.csrf(formToken(t, body))}, "password": {tt.password}, "next": {"/messages"}}
			res, _ = r.send(t, "POST", "/login", form, tt.header)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("POST /login: status %d, want %d", res.StatusCode, tt.wantStatus)
			}
			sc := findCookie(res, sessionCookie)
			if tt.wantStatus != http.StatusSeeOther {
				if sc != nil {
					t.Errorf("failed login set a session cookie %+v", sc)
				}
				return
			}
			if got := res.Header.Get("Location"); got != "/messages" {
				t.Errorf("Location = %q, want the next page /messages", got)
			}
			if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Secure != tt.wantSecure || sc.Path != "/" {
				t.Fatalf("session cookie = %+v; want HttpOnly, SameSite=Strict, Path=/, Secure=%v", sc, tt.wantSecure)
			}
			if len(r.store.sessions) != 1 {
				t.Fatalf("sessions = %d, want 1", len(r.store.sessions))
			}
			for h := range r.store.sessions {
				if h == sc.Value {
					t.Error("the session is stored under the cookie itself, not its hash")
				}
			}
		})
	}
}

// Browsers drop tabs and line feeds from a URL and read "\\" as "/", so
// each of these would leave the site after login.
var offsiteNexts = []string{"//evil.example", "https://evil.example/", `/\evil.example`, "/\t/evil.example",
	"/\n/evil.example", "/\r\n/evil.example", "\t//evil.example", "/\x00/evil.example", `\\evil.example`,
	"javascript:alert(1)", "/\x7f/evil.example", "http:/evil.example", "//user@evil.example"}

func TestUI_LoginOpenRedirect(t *testing.T) {
	for _, next := range offsiteNexts {
		r := mustUI(t)
		_, body := r.get(t, "/login")
		res, _ := r.post(t, "/login", url.Values{"csrf": {formToken(t, body)}, "password": {testPassword}, "next": {next}})
		if got := res.Header.Get("Location"); got != "/" {
			t.Errorf("POST next=%q: Location %q, want /", next, got)
		}
		// Logged in, GET /login goes straight to next.
		res, _ = r.get(t, "/login?next="+url.QueryEscape(next))
		if got := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || got != "/" {
			t.Errorf("GET next=%q: %d Location %q, want 303 to /", next, res.StatusCode, got)
		}
	}
	for _, next := range []string{"/messages?status=failed&page=2", "/modems/" + testIMEI, "/%2F%2Fstill-a-path"} {
		if got := safeNext(next); got != next {
			t.Errorf("safeNext(%q) = %q, want it kept", next, got)
		}
	}
}

func TestUI_LoginRateLimited(t *testing.T) {
	r := mustUI(t)
	attempt := func() int {
		_, body := r.get(t, "/login")
		res, _ := r.post(t, "/login", url.Values{"csrf": {formToken(t, body)}, "password": {"guess"}})
		return res.StatusCode
	}
	for i := range loginBurst {
		if got := attempt(); got != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d, want 401", i+1, got)
		}
	}
	_, body := r.get(t, "/login")
	res, _ := r.post(t, "/login", url.Values{"csrf": {formToken(t, body)}, "password": {testPassword}})
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("attempt over the limit, even with the right password: status %d, Retry-After %q; want 429 with Retry-After",
			res.StatusCode, res.Header.Get("Retry-After"))
	}
	if len(r.store.sessions) != 0 {
		t.Fatal("a rate-limited attempt logged in")
	}
	r.now.Add(loginRefill)
	if got := attempt(); got != http.StatusUnauthorized {
		t.Errorf("after the refill: status %d, want 401 (the attempt is let through)", got)
	}
}

func TestLoginLimiter_Global(t *testing.T) {
	now := &fakeNow{t: time.Now()}
	l := newLoginLimiter(now.Now)
	allowed := 0
	for i := range 3 * loginGlobalBurst {
		if _, ok := l.allow("10.0.0."+strconv.Itoa(i%250), ""); ok {
			allowed++
		}
	}
	// Distinct addresses each have a full bucket; only the global one
	// stops them.
	if allowed != loginGlobalBurst {
		t.Errorf("allowed %d attempts from many addresses, want %d", allowed, loginGlobalBurst)
	}
}

// clientFrom is a browser-like client whose connections come from ip, an
// address of the loopback network.
func clientFrom(t testing.TB, ip string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Jar: jar, Transport: &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// A flood of wrong passwords from many addresses drains the budget they
// share, but not the admin's: a browser that logged in before has its own.
func TestUI_LoginFloodDoesNotLockOutKnownAdmin(t *testing.T) {
	r := mustUI(t)
	token := r.login(t)
	if res, _ := r.post(t, "/logout", url.Values{"csrf": {token}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	limited := 0
	for i := range loginGlobalBurst + 5 {
		attacker := &uiRig{URL: r.URL, client: clientFrom(t, "127.0.1."+strconv.Itoa(i+1))}
		_, body := attacker.get(t, "/login")
		res, _ := attacker.post(t, "/login", url.Values{"csrf": {formToken(t, body)}, "password": {"guess"}})
		if res.StatusCode == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("the flood was never limited: the shared budget is not tested")
	}
	_, body := r.get(t, "/login")
	res, _ := r.post(t, "/login", url.Values{"csrf": {formToken(t, body)}, "password": {testPassword}, "next": {"/"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the admin's login during the flood: status %d, want 303", res.StatusCode)
	}
	// A stranger from a fresh address is still held by the shared budget.
	stranger := &uiRig{URL: r.URL, client: clientFrom(t, "127.0.2.1")}
	_, body = stranger.get(t, "/login")
	if res, _ := stranger.post(t, "/login", url.Values{"csrf": {formToken(t, body)}, "password": {testPassword}}); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a new address during the flood: status %d, want 429", res.StatusCode)
	}
}

func TestLoginLimiter_Keys(t *testing.T) {
	now := &fakeNow{t: time.Now()}
	l := newLoginLimiter(now.Now)
	for range loginBurst {
		if _, ok := l.allow("2001:db8:0:1::1", ""); !ok {
			t.Fatal("refused within the burst")
		}
	}
	for addr, want := range map[string]bool{
		"2001:db8:0:1::ffff": false, // the same /64
		"2001:db8:0:2::1":    true,  // the next /64
		"10.0.0.1":           true,
	} {
		if _, ok := l.allow(addr, ""); ok != want {
			t.Errorf("allow(%s) = %v, want %v", addr, ok, want)
		}
	}
	for a, b := range map[string]string{"::ffff:10.0.0.1": "10.0.0.1", "fe80::1%eth0": "fe80::/64", "2001:db8::1": "2001:db8::/64"} {
		if limitKey(a) != limitKey(b) && limitKey(a) != b {
			t.Errorf("limitKey(%s) = %s, want %s's", a, limitKey(a), b)
		}
	}
	k := knownClients{key: []byte("0123456789abcdef0123456789abcdef"), now: now.Now}
	v := k.issue()
	if k.check(v) == "" {
		t.Fatal("a fresh known-client cookie is not recognised")
	}
	for _, bad := range []string{"", v + "x", "A" + v, strings.Replace(v, ".", ".1", 1)} {
		if k.check(bad) != "" {
			t.Errorf("forged cookie %q recognised", bad)
		}
	}
	other := knownClients{key: []byte("another key, another installation"), now: now.Now}
	if other.check(v) != "" {
		t.Error("a cookie signed with another key is recognised")
	}
	now.Add(knownClientTTL + time.Hour)
	if k.check(v) != "" {
		t.Error("an expired known-client cookie is recognised")
	}
}

func TestUI_CSRF(t *testing.T) {
	r := mustUI(t)
	var canceled []string
	r.svc.CancelFn = func(_ context.Context, id string) (*gateway.Message, error) {
		canceled = append(canceled, id)
		return &gateway.Message{ID: id, Status: gateway.StatusCanceled}, nil
	}
	r.svc.MessageFn = func(_ context.Context, id string) (*gateway.Message, error) {
		return &gateway.Message{ID: id, Status: gateway.StatusCanceled}, nil
	}
	token := r.login(t)
	for _, form := range []url.Values{{}, {"csrf": {""}}, {"csrf": {"forged"}}} {
		res, _ := r.post(t, "/messages/msg_1/cancel", form)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("cancel with csrf %q: status %d, want 403", form.Get("csrf"), res.StatusCode)
		}
	}
	// The right token in the query string is not the form's.
	res, _ := r.post(t, "/messages/msg_1/cancel?csrf="+url.QueryEscape(token), url.Values{})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cancel with the token in the query string: status %d, want 403", res.StatusCode)
	}
	if len(canceled) != 0 {
		t.Fatalf("a form without a valid CSRF token canceled %v", canceled)
	}
	res, body := r.post(t, "/messages/msg_1/cancel", url.Values{"csrf": {token}})
	if res.StatusCode != http.StatusOK || len(canceled) != 1 || !strings.Contains(body, "Canceled.") {
		t.Errorf("cancel with the token: status %d, canceled %v", res.StatusCode, canceled)
	}
}

// The login form's token, too, counts only in the body.
func TestUI_LoginCSRFNotFromQuery(t *testing.T) {
	r := mustUI(t)
	_, body := r.get(t, "/login")
	token := formToken(t, body)
	res, _ := r.post(t, "/login?csrf="+url.QueryEscape(token), url.Values{"password": {testPassword}})
	if res.StatusCode != http.StatusForbidden || len(r.store.sessions) != 0 {
		t.Errorf("login with the token in the query string: status %d, %d sessions; want 403 and none",
			res.StatusCode, len(r.store.sessions))
	}
}

func TestUI_Logout(t *testing.T) {
	r := mustUI(t)
	token := r.login(t)
	res, _ := r.post(t, "/logout", url.Values{"csrf": {token}})
	if res.StatusCode != http.StatusSeeOther || len(r.store.sessions) != 0 {
		t.Fatalf("logout: status %d, sessions left %d", res.StatusCode, len(r.store.sessions))
	}
	if c := findCookie(res, sessionCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("logout cookie = %+v, want it deleted", c)
	}
	if res, _ := r.get(t, "/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: status %d, want 303", res.StatusCode)
	}
}

func TestUI_Overview(t *testing.T) {
	r := mustUI(t)
	r.login(t)
	res, body := r.get(t, "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	body = html.UnescapeString(body)
	for _, want := range []string{testIMEI, "-71 dBm", `data-state="online"`, "SIM800L", "+12025550100",
		"5 sent · 1 failed · 2 delivered", `max="100" value="5"`, "3 of 4 bars",
		"Home region <strong>DE</strong>", "from the SIM of modem", "(country code 262)"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q", csp)
	}
	if strings.Contains(body, "style=") || strings.Contains(body, "<script>") {
		t.Error("the page has inline styles or scripts the CSP would block")
	}
}

// sseEvent is one Server-Sent Event as a browser sees it.
type sseEvent struct{ name, data string }

// openLive opens the live stream with the rig's client and returns a
// function that waits for its next event; ok is false when the stream
// ended.
func (r *uiRig) openLive(t *testing.T) func() (ev sseEvent, ok bool) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", r.URL+"/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	events := make(chan sseEvent)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			if line == "" && ev.name != "" {
				select {
				case events <- ev:
				case <-t.Context().Done():
					return
				}
				ev = sseEvent{}
				continue
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				ev.data += data + "\n"
			} else if name, ok := strings.CutPrefix(line, "event: "); ok {
				ev.name = name
			}
		}
	}()
	return func() (sseEvent, bool) {
		select {
		case ev, ok := <-events:
			return ev, ok
		case <-time.After(10 * time.Second):
			t.Fatal("no event in 10 s, and the stream did not end")
		}
		return sseEvent{}, false
	}
}

func TestUI_Live(t *testing.T) {
	r := mustUI(t)
	r.login(t)
	events := r.openLive(t)
	next := func() string {
		ev, ok := events()
		if !ok {
			t.Fatal("stream ended")
		}
		return ev.data
	}
	if ev := next(); !strings.Contains(ev, `data-state="online"`) || !strings.Contains(ev, testIMEI) {
		t.Fatalf("first event lacks the online modem:\n%s", ev)
	}
	r.setState(gateway.ModemOffline)
	if ev := next(); !strings.Contains(ev, `data-state="offline"`) {
		t.Fatalf("event after the modem went offline:\n%s", ev)
	}
}

// A live stream ends with its session: at logout, at expiry, and when the
// session is ended elsewhere (a password change from the command line).
func TestUI_LiveEndsWithSession(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(t *testing.T, r *uiRig, token string)
	}{
		{"Logout", func(t *testing.T, r *uiRig, token string) {
			if res, _ := r.post(t, "/logout", url.Values{"csrf": {token}}); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("logout: %d", res.StatusCode)
			}
		}},
		{"Expiry", func(_ *testing.T, r *uiRig, _ string) { r.now.Add(12*time.Hour + time.Second) }},
		{"EndedElsewhere", func(_ *testing.T, r *uiRig, _ string) {
			r.store.mu.Lock()
			defer r.store.mu.Unlock()
			clear(r.store.sessions)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := mustUI(t)
			token := r.login(t)
			events := r.openLive(t)
			if ev, ok := events(); !ok || ev.name != "overview" {
				t.Fatalf("first event %+v (open %v), want the overview", ev, ok)
			}
			tt.end(t, r, token)
			for {
				ev, ok := events()
				if !ok {
					t.Fatal("the stream ended without a logout event")
				}
				if ev.name == "logout" {
					break
				}
			}
			if ev, ok := events(); ok {
				t.Fatalf("the stream goes on after its logout event: %+v", ev)
			}
		})
	}
}

func TestUI_Messages(t *testing.T) {
	r := mustUI(t)
	r.store.messages = []*gateway.Message{{ID: "msg_1", To: "+14155550101", Text: "hello <b>", Status: gateway.StatusDelivered,
		Segments: 1, CreatedAt: time.Now()}}
	r.login(t)
	_, body := r.get(t, "/messages?status=delivered&modem="+testIMEI+"&number=%2B1+(415)&text=hello&from=2026-01-02T15:04&page=2")
	if !strings.Contains(body, "hello &lt;b&gt;") || strings.Contains(body, "hello <b>") {
		t.Error("the message text is missing or not escaped")
	}
	got := r.store.searches[len(r.store.searches)-1]
	wantFrom := time.Date(2026, 1, 2, 15, 4, 0, 0, time.Local)
	want := gateway.MessageFilter{Status: gateway.StatusDelivered, Modem: testIMEI, Number: "1415", Text: "hello",
		From: wantFrom, Limit: uiPageSize, Offset: uiPageSize}
	if got != want {
		t.Errorf("search = %+v, want %+v", got, want)
	}
	if !strings.Contains(body, `rel="prev"`) {
		t.Error("page 2 has no link to page 1")
	}
	_, body = r.get(t, "/messages?status=bogus")
	if !strings.Contains(body, "Unknown status") {
		t.Error("an unknown status is not reported")
	}
}

// An SMS whose PDU did not decode shows the decoder's reason and its hex.
func TestUI_InboxUndecodable(t *testing.T) {
	r := mustUI(t)
	r.svc.InboxFn = func(context.Context, time.Time, int) ([]*gateway.InboundMessage, error) {
		return []*gateway.InboundMessage{
			{ID: "in_raw", Modem: testIMEI, Parts: 1, ReceivedAt: time.Now(), RawPDU: "0004FF", DecodeError: "oa.addr at offset 2: underflow"},
			{ID: "in_ok", Modem: testIMEI, From: "+14155550101", Text: "fine", Parts: 1, ReceivedAt: time.Now()},
		}, nil
	}
	r.login(t)
	_, body := r.get(t, "/inbox")
	if !strings.Contains(body, "undecodable: oa.addr at offset 2: underflow") || !strings.Contains(body, "<code>0004FF</code>") {
		t.Errorf("inbox does not show the undecodable SMS:\n%s", body)
	}
	if strings.Count(body, "undecodable") != 1 {
		t.Errorf("inbox marks %d rows undecodable, want 1", strings.Count(body, "undecodable"))
	}
}

// A data SMS shows as its size, port and class, not as bytes.
func TestUI_InboxData(t *testing.T) {
	r := mustUI(t)
	r.svc.InboxFn = func(context.Context, time.Time, int) ([]*gateway.InboundMessage, error) {
		return []*gateway.InboundMessage{{ID: "in_data", Modem: testIMEI, From: "+14155550101", Parts: 2,
			Data: make([]byte, 200), Ports: &gateway.Ports{Dest: 2948}, Flash: true, ReceivedAt: time.Now()}}, nil
	}
	r.login(t)
	_, body := r.get(t, "/inbox")
	for _, want := range []string{"8-bit data, 200 octets", "port 2948", ">flash<"} {
		if !strings.Contains(body, want) {
			t.Errorf("inbox lacks %q:\n%s", want, body)
		}
	}
}

func TestUI_ModemNotFound(t *testing.T) {
	r := mustUI(t)
	r.login(t)
	if res, _ := r.get(t, "/modems/000000000000000"); res.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", res.StatusCode)
	}
	res, body := r.get(t, "/modems/"+testIMEI)
	if res.StatusCode != http.StatusOK || !strings.Contains(html.UnescapeString(body), "+CMS ERROR: 21") || !strings.Contains(body, `class="chart"`) {
		t.Errorf("modem page: status %d, missing errors or charts", res.StatusCode)
	}
}

func TestUI_Static(t *testing.T) {
	r := mustUI(t)
	for _, p := range []string{"/static/app.css", "/static/app.js", "/static/favicon.svg"} {
		if res, _ := r.get(t, p); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", p, res.StatusCode)
		}
	}
	// No listing of the files, at the root or anywhere.
	for _, p := range []string{"/static/", "/static/.", "/static/./", "/static//"} {
		if res, body := r.get(t, p); res.StatusCode != http.StatusNotFound || strings.Contains(body, "app.css") {
			t.Errorf("GET %s: status %d, want 404 and no listing:\n%s", p, res.StatusCode, body)
		}
	}
}

func TestUI_NoPassword(t *testing.T) {
	r := mustUI(t)
	r.store.hash = ""
	_, body := r.get(t, "/login")
	res, body := r.post(t, "/login", url.Values{"csrf": {formToken(t, body)}, "password": {""}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "set-password") {
		t.Errorf("status %d; want 401 telling how to set a password", res.StatusCode)
	}
}

func TestValidUSSD(t *testing.T) {
	for s, want := range map[string]bool{"*100#": true, "#123#": true, "": false, "*100#;ATD": false, "AT": false} {
		if got := validUSSD(s); got != want {
			t.Errorf("validUSSD(%q) = %v, want %v", s, got, want)
		}
	}
}
