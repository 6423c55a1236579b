package ui

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
)

// Sessions are server-side: the cookie holds a random token, the database
// its SHA-256 and the session's CSRF token, so logout and a password change
// end a session for real, which a signed cookie could not do.
const (
	sessionCookie   = "simgate_session"
	loginCSRFCookie = "simgate_login_csrf"
	csrfField       = "csrf"
	ctxCSRF         = "simgate.csrf"
	knownCookie     = "simgate_known"
)

func csrfOf(c echo.Context) string {
	s, _ := c.Get(ctxCSRF).(string)
	return s
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// secure reports whether the browser reached us over TLS, directly or
// through a proxy saying so. Trusting the header is harmless here: a
// client lying about it only gets a cookie it will not send back over
// plain HTTP.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (u *UI) setCookie(c echo.Context, name, value, path string, maxAge int) {
	c.SetCookie(&http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		MaxAge:   maxAge,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   secure(c.Request()),
	})
}

// session returns the CSRF token of the request's live session, "" when it
// has none.
func (u *UI) session(c echo.Context) (string, error) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return "", nil
	}
	csrf, err := u.store.Session(c.Request().Context(), hashToken(ck.Value), u.cfg.Now())
	if errors.Is(err, gateway.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read session: %w", err)
	}
	return csrf, nil
}

// requireAdmin sends a request without a live session to the login page,
// with the page it wanted to come back to.
func (u *UI) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		csrf, err := u.session(c)
		if err != nil {
			return err
		}
		if csrf == "" {
			target := "/login"
			if r := c.Request(); r.Method == http.MethodGet && r.URL.Path != "/" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			c.Response().Header().Set("Cache-Control", "no-store")
			return c.Redirect(http.StatusSeeOther, target)
		}
		c.Set(ctxCSRF, csrf)
		return next(c)
	}
}

// checkCSRF refuses a form that does not carry its session's token (the
// synchronizer token pattern; SameSite=Strict is the second line).
func (u *UI) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !tokensEqual(bodyValue(c, csrfField), csrfOf(c)) {
			return u.render(c, http.StatusForbidden, "error.html", page{Title: "Forbidden",
				Error: "This form is stale or did not come from this site (missing or wrong CSRF token). Reload the page and try again."})
		}
		return next(c)
	}
}

// bodyValue reads a field of the posted form only, never of the query
// string: a token or password in a URL ends up in logs, history and
// Referer headers, and a link carrying one could be followed by anyone.
func bodyValue(c echo.Context, name string) string {
	return c.Request().PostFormValue(name)
}

func tokensEqual(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// safeNext keeps a post-login redirect on this site: a path on this host
// and nothing else. Browsers drop tabs and line feeds from a URL and read a
// backslash as a slash, so "/\t/evil.example" or "/\evil.example" would
// become "//evil.example", another origin: any control byte, any backslash
// and any scheme, host or user info sends the admin to "/" instead.
func safeNext(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || len(s) > 2048 {
		return "/"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\\' || (r >= 0x80 && r < 0xa0) || r == '\uFFFD' {
			return "/"
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return s
}

type loginData struct {
	LoginCSRF string
	Next      string
}

func (u *UI) handleLoginForm(c echo.Context) error {
	if csrf, err := u.session(c); err != nil {
		return err
	} else if csrf != "" {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	return u.loginPage(c, http.StatusOK, "")
}

// loginPage renders the form with a fresh login CSRF token, which the form
// and a cookie both carry (double submit: there is no session yet).
func (u *UI) loginPage(c echo.Context, status int, msg string) error {
	token := rand.Text()
	u.setCookie(c, loginCSRFCookie, token, "/login", 3600)
	return u.render(c, status, "login.html", page{Title: "Log in", Error: msg,
		Data: loginData{LoginCSRF: token, Next: safeNext(c.FormValue("next"))}})
}

func (u *UI) handleLogin(c echo.Context) error {
	ctx := c.Request().Context()
	if wait, ok := u.limiter.allow(clientAddr(c.Request()), u.knownClient(c)); !ok {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return u.loginPage(c, http.StatusTooManyRequests,
			fmt.Sprintf("Too many login attempts. Wait %d s and try again.", int(wait.Seconds())+1))
	}
	ck, err := c.Cookie(loginCSRFCookie)
	if err != nil || !tokensEqual(bodyValue(c, csrfField), ck.Value) {
		return u.loginPage(c, http.StatusForbidden, "The login form expired. Please try again.")
	}
	err = u.store.CheckAdminPassword(ctx, bodyValue(c, "password"))
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		return u.loginPage(c, http.StatusUnauthorized, "No admin password is set: run simgate admin set-password.")
	case errors.Is(err, gateway.ErrUnauthorized):
		u.logger.Warn("admin login refused", "addr", clientAddr(c.Request()))
		return u.loginPage(c, http.StatusUnauthorized, "Wrong password.")
	case err != nil:
		return fmt.Errorf("check admin password: %w", err)
	}
	token, csrf := rand.Text()+rand.Text(), rand.Text()
	now := u.cfg.Now()
	if err := u.store.CreateSession(ctx, hashToken(token), csrf, now, now.Add(u.cfg.SessionTTL)); err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	u.setCookie(c, sessionCookie, token, "/", int(u.cfg.SessionTTL.Seconds()))
	u.setCookie(c, loginCSRFCookie, "", "/login", -1)
	u.setCookie(c, knownCookie, u.known.issue(), "/login", int(knownClientTTL.Seconds()))
	u.logger.Info("admin logged in", "addr", clientAddr(c.Request()))
	return c.Redirect(http.StatusSeeOther, safeNext(c.FormValue("next")))
}

func (u *UI) handleLogout(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil {
		if err := u.store.DeleteSession(c.Request().Context(), hashToken(ck.Value)); err != nil {
			return fmt.Errorf("log out: %w", err)
		}
		u.streams.end(hashToken(ck.Value))
	}
	u.setCookie(c, sessionCookie, "", "/", -1)
	return c.Redirect(http.StatusSeeOther, "/login")
}
