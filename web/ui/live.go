package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/gateway"
)

// live streams the overview's modem cards as Server-Sent Events, rendered
// on the server, so the page needs no templating of its own. With an event
// log they are rendered again when a state change is committed (a modem's
// state or signal, a message queued, sent or failed), at most once per
// LiveInterval; without one, every LiveInterval. They are sent only when
// they changed.
//
// A stream lives as long as its session, not longer: a logout in this
// process ends it at once; any other end of the session (expiry, a
// password change, which logs every session out) within SessionCheck. It
// then sends a "logout" event, so that the page goes to the login form.
func (h *handlers) live(c echo.Context) error {
	ctx := c.Request().Context()
	tokenHash := sessionHash(c)
	ended, stop := h.streams.watch(tokenHash)
	defer stop()
	w := c.Response()
	// The server's write timeout is for ordinary requests; a stream lives
	// until the browser leaves or its session ends.
	_ = http.NewResponseController(w.Writer).SetWriteDeadline(time.Time{})
	hd := w.Header()
	hd.Set(echo.HeaderContentType, "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx would hold the events back
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return nil
	}
	w.Flush()

	// A comment every 15 s keeps proxies from closing an idle stream.
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	check := time.NewTicker(h.cfg.SessionCheck)
	defer check.Stop()
	s := liveWait{ping: ping.C, check: check.C, ended: ended, tokenHash: tokenHash}
	var last string
	for {
		s.wake, s.rest = h.liveWake()
		changed, err := h.sendCards(ctx, w, &last)
		if err != nil {
			return err
		}
		if changed {
			ping.Reset(15 * time.Second)
		}
		switch h.waitLive(ctx, w, s) {
		case liveEnd:
			return nil
		case liveLogout:
			_ = writeEvent(w, "logout", "")
			return nil
		}
	}
}

// sessionHash is the hash of the request's session cookie ("" for none).
func sessionHash(c echo.Context) string {
	ck, err := c.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return ""
	}
	return hashToken(ck.Value)
}

// liveWake returns what ends the wait for the next render: the event log's
// next append (taken before the render reads, so no change is missed), or
// a timer when there is no log. rest is the least time between renders.
func (h *handlers) liveWake() (wake <-chan struct{}, rest time.Duration) {
	if h.cfg.Events != nil {
		return h.cfg.Events.Appended(), h.cfg.LiveInterval
	}
	t := make(chan struct{})
	time.AfterFunc(h.cfg.LiveInterval, func() { close(t) })
	return t, 0
}

// sendCards renders the cards and sends them when they differ from last.
// A read error is logged and the stream goes on.
func (h *handlers) sendCards(ctx context.Context, w *echo.Response, last *string) (bool, error) {
	d, err := h.overviewData(ctx)
	if err != nil {
		if ctx.Err() == nil {
			h.logger.Warn("live overview", "err", err)
		}
		return false, nil
	}
	html, err := h.fragment("live", d)
	if err != nil {
		return false, err
	}
	// The timestamp is outside the comparison: only a change of the modems
	// is news.
	key, _ := h.fragment("cards", d.Modems)
	if string(key) == *last {
		return false, nil
	}
	*last = string(key)
	return true, writeEvent(w, "overview", string(html))
}

// liveWait is what a stream waits on between two renders.
type liveWait struct {
	wake      <-chan struct{} // the next render is due (after rest)
	rest      time.Duration
	ping      <-chan time.Time
	check     <-chan time.Time // look at the session again
	ended     <-chan struct{}  // closed when the session is logged out here
	tokenHash string
}

// How a wait ends.
type liveNext int

const (
	liveRender liveNext = iota
	liveEnd             // the browser left, or the server is stopping
	liveLogout          // the session ended
)

// waitLive waits for s.wake (then rests, so that a burst of changes costs
// one render), pinging and checking the session meanwhile.
func (h *handlers) waitLive(ctx context.Context, w *echo.Response, s liveWait) liveNext {
	for {
		select {
		case <-ctx.Done():
			return liveEnd
		case <-h.cfg.Done:
			return liveEnd
		case <-s.ended:
			return liveLogout
		case <-s.check:
			if !h.sessionLive(ctx, s.tokenHash) {
				return liveLogout
			}
			continue
		case <-s.ping:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return liveEnd
			}
			w.Flush()
			continue
		case <-s.wake:
		}
		select {
		case <-ctx.Done():
			return liveEnd
		case <-h.cfg.Done:
			return liveEnd
		case <-s.ended:
			return liveLogout
		case <-time.After(s.rest):
			if !h.sessionLive(ctx, s.tokenHash) {
				return liveLogout
			}
			return liveRender
		}
	}
}

// sessionLive reports whether the session is still live; a read error
// other than "not found" keeps the stream (the next check will tell).
func (h *handlers) sessionLive(ctx context.Context, tokenHash string) bool {
	_, err := h.store.Session(ctx, tokenHash, h.cfg.Now())
	if errors.Is(err, gateway.ErrNotFound) {
		return false
	}
	if err != nil && ctx.Err() == nil {
		h.logger.Warn("live overview: check session", "err", err)
	}
	return true
}

// writeEvent sends one SSE event; every line of data gets its own field.
func writeEvent(w *echo.Response, event, data string) error {
	var b strings.Builder
	b.WriteString("event: ")
	b.WriteString(event)
	b.WriteByte('\n')
	for line := range strings.SplitSeq(data, "\n") {
		b.WriteString("data: ")
		b.WriteString(strings.TrimSuffix(line, "\r"))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	if _, err := w.Write([]byte(b.String())); err != nil {
		return err
	}
	w.Flush()
	return nil
}

// streams are the open live streams by session, so that a logout ends its
// session's streams at once.
type streams struct {
	mu sync.Mutex
	m  map[string]map[chan struct{}]bool
}

// watch registers a stream of the session tokenHash: ended is closed when
// the session logs out; stop unregisters it.
func (s *streams) watch(tokenHash string) (ended <-chan struct{}, stop func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]map[chan struct{}]bool{}
	}
	if s.m[tokenHash] == nil {
		s.m[tokenHash] = map[chan struct{}]bool{}
	}
	s.m[tokenHash][ch] = true
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.m[tokenHash], ch)
		if len(s.m[tokenHash]) == 0 {
			delete(s.m, tokenHash)
		}
	}
}

// end ends every stream of the session tokenHash.
func (s *streams) end(tokenHash string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.m[tokenHash] {
		close(ch)
	}
	delete(s.m, tokenHash)
}
