package session

import (
	"log/slog"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway"
)

// logLimiter keeps a failing modem from filling the log: the same key is
// logged at warn at most once a minute, in between at debug.
type logLimiter struct {
	clock gateway.Clock
	mu    sync.Mutex
	last  map[string]time.Time
}

const (
	logEvery   = time.Minute
	maxLogKeys = 64
)

func newLogLimiter(c gateway.Clock) *logLimiter {
	return &logLimiter{clock: c, last: map[string]time.Time{}}
}

func (l *logLimiter) log(log *slog.Logger, key, msg string, args ...any) {
	now := l.clock.Now()
	l.mu.Lock()
	last, seen := l.last[key]
	loud := !seen || now.Sub(last) >= logEvery
	if loud {
		if len(l.last) >= maxLogKeys {
			clear(l.last) // keys carry error texts: keep the map small
		}
		l.last[key] = now
	}
	l.mu.Unlock()
	if loud {
		log.Warn(msg, args...)
		return
	}
	log.Debug(msg, args...)
}
