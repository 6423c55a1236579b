package ui

import (
	"io/fs"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
)

// Routes adds the status page's routes to e; with a nil u there is none.
// With the server's own routes (web/routes.go) and the API's
// (web/api/routes.go), this is the whole HTTP surface.
//
// Authentication is per route, not a group's middleware: echo's Group.Use
// registers catch-all routes that would turn a wrong method on a known
// path into 404 instead of 405.
func Routes(e *echo.Echo, svc gateway.ServiceAPI, u *UI) {
	if u == nil {
		return
	}
	h := &handlers{UI: u, svc: svc}
	admin := u.requireAdmin
	csrf := u.checkCSRF

	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	files := http.StripPrefix("/static/", http.FileServerFS(filesOnly{static}))
	e.GET("/static/*", echo.WrapHandler(cacheFor(time.Hour, files)))
	e.GET("/favicon.ico", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/static/favicon.svg") })

	e.GET("/login", u.handleLoginForm)
	e.POST("/login", u.handleLogin)
	e.POST("/logout", u.handleLogout, admin, csrf)

	e.GET("/", h.overview, admin)
	e.GET("/live", h.live, admin)
	e.GET("/modems/:imei", h.modem, admin)
	e.POST("/modems/:imei/reinit", h.reinit, admin, csrf)
	e.POST("/modems/:imei/test-sms", h.testSMS, admin, csrf)
	e.POST("/modems/:imei/ussd", h.ussd, admin, csrf)
	e.GET("/messages", h.messages, admin)
	e.GET("/messages/:id", h.message, admin)
	e.POST("/messages/:id/cancel", h.cancel, admin, csrf)
	e.GET("/inbox", h.inbox, admin)
	e.GET("/otp", h.otpStats, admin)
	e.GET("/try", h.try, admin)
	e.POST("/try/send", h.trySend, admin, csrf)
	e.POST("/try/check", h.tryCheck, admin, csrf)
	e.GET("/try/phone", h.tryPhone, admin)
}

// filesOnly hides the directories of an fs.FS, so that a file server on it
// answers 404 where it would list a directory's files.
type filesOnly struct{ fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := file.Stat(); err != nil || st.IsDir() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}
