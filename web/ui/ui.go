package ui

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
)

// The status page: server-rendered html/template pages, a few lines of
// JavaScript for the live parts, and inline SVG charts drawn by the server.
// Everything is embedded: the gateway often runs on a LAN without internet.

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// AdminStore is what the status page keeps and reads beyond the gateway's
// Service: the admin's password and sessions, and the history behind its
// charts. Package store implements all but CheckAdminPassword, which cmd
// adds with the password hashing: web stays free of it.
type AdminStore interface {
	// CheckAdminPassword is nil when password is the admin's,
	// ErrUnauthorized when it is not, and ErrNotFound when none is set.
	CheckAdminPassword(ctx context.Context, password string) error
	CreateSession(ctx context.Context, tokenHash, csrf string, now, expires time.Time) error
	// Session returns the CSRF token of a live session; ErrNotFound when
	// there is none.
	Session(ctx context.Context, tokenHash string, now time.Time) (string, error)
	DeleteSession(ctx context.Context, tokenHash string) error

	ModemSamples(ctx context.Context, imei string, since time.Time) ([]gateway.ModemSample, error)
	HourlySends(ctx context.Context, imei string, since time.Time) ([]gateway.HourCount, error)
	RecentErrors(ctx context.Context, imei string, limit int) ([]gateway.ErrorEvent, error)
	DeliveredSince(ctx context.Context, since time.Time) (map[string]int, error)
	QueueDepth(ctx context.Context) (int, error)
	Messages(ctx context.Context, f gateway.MessageFilter) ([]*gateway.Message, string, error)
}

// ModemActions acts on a connected modem; *session.Supervisor is one.
type ModemActions interface {
	Reinit(imei string) error
	USSD(ctx context.Context, imei, code string) (gateway.USSDReply, error)
}

// VirtualPhone is a virtual modem the "Try it" page can send a code to: a
// message to its number arrives in the gateway's inbox for its IMEI.
type VirtualPhone struct {
	Number string
	IMEI   string
}

// Config tunes the status page.
type Config struct {
	// DailyCap is each modem's daily limit of parts, shown as used/cap; 0
	// means none.
	DailyCap int
	// Phones are the virtual modems; the "Try it" page shows only with
	// some.
	Phones []VirtualPhone
	// SessionTTL is how long a login lasts (default 12 h).
	SessionTTL time.Duration
	// Events, when set, wakes the live overview at each committed state
	// change; LiveInterval is then the least time between two renders.
	// Without it the overview is rendered every LiveInterval (default 1 s).
	Events       gateway.EventLog
	LiveInterval time.Duration
	// SessionCheck is how often a live stream looks whether its session
	// is still live (default 5 s): a session that expires or is ended by
	// another process (a password change) ends its streams this late at
	// most. A logout here ends them at once.
	SessionCheck time.Duration
	// Done, when closed, ends the live streams, so that a server shutting
	// down does not wait for browsers that would never hang up.
	Done <-chan struct{}
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Routes, when set, gives the OTP page each route's delivery figures.
	Routes func() []gateway.RouteStat
	// Region, when set, gives the overview the home region and where it
	// comes from (gateway.Service.Region).
	Region func() gateway.RegionInfo
	// Key signs the "known client" cookie a browser gets when it logs in,
	// which gives it a login budget of its own (see limit.go); at least 32
	// bytes. Nil means a random key per process, so such cookies are not
	// recognised after a restart.
	Key []byte
}

// UI is the status page. Build it with New and hand it to the server
// (web.Config.UI), which adds its Routes.
type UI struct {
	cfg     Config
	store   AdminStore
	actions ModemActions
	otp     OTPConsole
	logger  *slog.Logger
	limiter *loginLimiter
	known   knownClients
	streams streams
	pages   map[string]*template.Template
}

// New returns the status page on store; actions may be nil (no re-init
// or USSD), and so may otp (the OTP and "Try it" pages say the service is
// missing). A nil logger discards.
func New(cfg Config, store AdminStore, actions ModemActions, otp OTPConsole, logger *slog.Logger) *UI {
	if store == nil {
		panic("web: New: nil store")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.LiveInterval <= 0 {
		cfg.LiveInterval = time.Second
	}
	if cfg.SessionCheck <= 0 {
		cfg.SessionCheck = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Key) == 0 {
		cfg.Key = make([]byte, 32)
		_, _ = rand.Read(cfg.Key) // crypto/rand never fails (Go ≥ 1.24)
	}
	return &UI{
		cfg:     cfg,
		store:   store,
		actions: actions,
		otp:     otp,
		logger:  logger,
		limiter: newLoginLimiter(cfg.Now),
		known:   knownClients{key: cfg.Key, now: cfg.Now},
		pages:   parsePages(),
	}
}

// handlers are the pages that read the gateway.
type handlers struct {
	*UI
	svc gateway.ServiceAPI
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	v := fmt.Sprintf("public, max-age=%d", int(d.Seconds()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", v)
		h.ServeHTTP(w, r)
	})
}

// page is what every template gets.
type page struct {
	Title  string
	Nav    string // the menu entry to highlight
	CSRF   string
	HasTry bool
	Notice string
	Error  string
	Data   any
}

// templateFuncs are the helpers the templates call.
var templateFuncs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"iso": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"ago":    func(t time.Time) string { return ago(time.Since(t)) },
	"silent": silentFor,
	"bars":   signalBars,
	"add":    func(a, b int) int { return a + b },
	"dash": func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	},
	"label": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"pct":   func(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) },
	"latency": func(d time.Duration) string {
		if d <= 0 {
			return "—"
		}
		if d >= 10*time.Second {
			return d.Round(time.Second).String()
		}
		return d.Round(10 * time.Millisecond).String()
	},
}

// parsePages builds one template set per page: the layout, the shared
// partials, and the page.
func parsePages() map[string]*template.Template {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/")
		if base == "layout.html" || base == "partials.html" {
			continue
		}
		pages[base] = template.Must(template.New(base).Funcs(templateFuncs).ParseFS(templateFS,
			"templates/layout.html", "templates/partials.html", n))
	}
	return pages
}

// securityHeaders keep the pages from being framed or running scripts from
// anywhere but /static (the charts are inline SVG without style
// attributes, so style-src needs no 'unsafe-inline' either).
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// render writes the page template name, filled with p.
func (u *UI) render(c echo.Context, status int, name string, p page) error {
	t, ok := u.pages[name]
	if !ok {
		return fmt.Errorf("render: no template %q", name)
	}
	p.CSRF = csrfOf(c)
	p.HasTry = len(u.cfg.Phones) > 0
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	securityHeaders(c.Response().Header())
	return c.HTMLBlob(status, buf.Bytes())
}

// fragment renders one named partial, for the live parts.
func (u *UI) fragment(name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := u.pages["overview.html"].ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// notFound is the status page's 404.
func (u *UI) notFound(c echo.Context, what string) error {
	return u.render(c, http.StatusNotFound, "error.html", page{Title: "Not found", Error: what + " not found"})
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// silentFor says how long a host has not been seen: "42 s", "5 min",
// "3 h".
func silentFor(d time.Duration) string {
	switch {
	case d < 2*time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%d h", int(d.Hours()))
}

// signalBar is one of the four bars of a signal icon.
type signalBar struct {
	X, Y, H int
	On      bool
}

func signalBars(n int) []signalBar {
	out := make([]signalBar, 4)
	for i := range out {
		h := 4 + 3*i
		out[i] = signalBar{X: 1 + 5*i, Y: 15 - h, H: h, On: i < n}
	}
	return out
}
