package ui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// The login limit. bcrypt is costly on purpose, so attempts are budgeted:
// per source (an IPv4 address, or an IPv6 /64, which one subscriber
// usually holds whole), and for all sources together. A flood from many
// addresses drains the shared budget; a browser that logged in before
// carries a signed "known client" cookie and draws on a budget of its own
// instead, so such a flood cannot lock the admin out.
const (
	loginBurst       = 5                // attempts a source may make at once
	loginRefill      = 12 * time.Second // then one more per this
	loginGlobalBurst = 30               // across unknown sources
	loginGlobalFill  = time.Second
	maxLimitedAddrs  = 4096
	knownClientTTL   = 180 * 24 * time.Hour
)

// clientAddr is the peer's IP. Forwarding headers are ignored: anyone can
// write them, and a limiter keyed on them limits nothing. Behind a proxy
// every client shares the proxy's budget, which errs on the safe side.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limitKey is the budget an address draws on: an IPv4 address (also when
// written as IPv4-mapped IPv6) is its own; an IPv6 address shares its /64.
func limitKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64) // cannot fail for a 128-bit address
	return p.String()
}

// knownClients issues and checks the "known client" cookie: an ID and its
// issue time, signed with the status page's key. It grants no access, only
// a login budget of its own.
type knownClients struct {
	key []byte
	now func() time.Time
}

// issue returns a new cookie value.
func (k knownClients) issue() string {
	v := rand.Text() + "." + strconv.FormatInt(k.now().Unix(), 10)
	return v + "." + k.sign(v)
}

func (k knownClients) sign(v string) string {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte("simgate known client\x00" + v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// check returns the client's ID when value is a cookie this key signed
// within knownClientTTL, "" otherwise.
func (k knownClients) check(value string) string {
	i := strings.LastIndexByte(value, '.')
	if i < 0 || !hmac.Equal([]byte(k.sign(value[:i])), []byte(value[i+1:])) {
		return ""
	}
	id, at, ok := strings.Cut(value[:i], ".")
	sec, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || k.now().Sub(time.Unix(sec, 0)) > knownClientTTL {
		return ""
	}
	return id
}

// knownClient returns the ID of the request's valid known-client cookie.
func (u *UI) knownClient(c echo.Context) string {
	ck, err := c.Cookie(knownCookie)
	if err != nil {
		return ""
	}
	return u.known.check(ck.Value)
}

// loginLimiter is a token bucket per source plus one for every unknown
// source together, so that neither one address guessing nor many addresses
// together can try more than a few passwords a minute; and a bucket per
// known client, outside the shared one.
type loginLimiter struct {
	now    func() time.Time
	mu     sync.Mutex
	addrs  map[string]*bucket
	global bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, addrs: map[string]*bucket{}, global: bucket{tokens: loginGlobalBurst, at: now()}}
}

// take refills b to now and takes a token, or says how long until one.
func (b *bucket) take(now time.Time, burst float64, every time.Duration) (time.Duration, bool) {
	b.tokens = min(burst, b.tokens+float64(now.Sub(b.at))/float64(every))
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) * float64(every)), false
}

// allow takes an attempt for addr, or for the known client known when it
// is not "", or says how long to wait.
func (l *loginLimiter) allow(addr, known string) (time.Duration, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if known != "" {
		return l.bucket("known "+known, now).take(now, loginBurst, loginRefill)
	}
	b := l.bucket(limitKey(addr), now)
	// Peek at the source's bucket first so that a blocked source does not
	// drain everyone's.
	if wait, ok := b.take(now, loginBurst, loginRefill); !ok {
		return wait, false
	}
	if wait, ok := l.global.take(now, loginGlobalBurst, loginGlobalFill); !ok {
		b.tokens++ // not this source's fault
		return wait, false
	}
	return 0, true
}

// bucket returns key's bucket. When maxLimitedAddrs are kept and none is
// full again, a new key gets a bucket that is not kept: the shared one
// still limits it, and memory stays bounded.
func (l *loginLimiter) bucket(key string, now time.Time) *bucket {
	if b, ok := l.addrs[key]; ok {
		return b
	}
	if len(l.addrs) >= maxLimitedAddrs {
		l.sweep(now)
	}
	b := &bucket{tokens: loginBurst, at: now}
	if len(l.addrs) < maxLimitedAddrs {
		l.addrs[key] = b
	}
	return b
}

// sweep forgets sources whose buckets are full again.
func (l *loginLimiter) sweep(now time.Time) {
	for a, b := range l.addrs {
		if float64(now.Sub(b.at))/float64(loginRefill)+b.tokens >= loginBurst {
			delete(l.addrs, a)
		}
	}
}
