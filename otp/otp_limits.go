package otp

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway"
)

// Limits are the abuse limits (otp-security.md §5, §8). Zero fields take
// the defaults; a negative count disables its limit.
type Limits struct {
	NumberPerHour   int // sends to one number per rolling hour; default 5
	NumberPerDay    int // … per rolling 24 hours; default 10
	APIKeyPerMinute int // verifications one API key may start per minute; default 120
	// AllowedCountries are ISO 3166 regions codes may go to; default the
	// gateway's home region, whatever it is at the time (it may follow the
	// SIM: gateway.Service.Region); "*" allows every country.
	AllowedCountries []string
	// RefusedTypes are libphonenumber number types refused; default
	// premium_rate, shared_cost, toll_free, pager, uan, voicemail, unknown.
	// "none" refuses nothing.
	RefusedTypes  []string
	PrefixPerHour int // sends to one prefix (number minus its last 4 digits) per hour; default 30

	// The conversion breaker: every BreakerEvery it looks at the
	// verifications of the last BreakerWindow old enough to be settled; a
	// prefix with at least BreakerMinVerifications of them and an approval
	// rate below BreakerMinConversion is blocked for BlockFor (SMS pumping).
	BreakerEvery            time.Duration // default 1 minute
	BreakerWindow           time.Duration // default 1 hour
	BreakerMinVerifications int           // default 20
	BreakerMinConversion    float64       // default 0.2; negative disables the breaker
	BlockFor                time.Duration // default 12 hours
}

// Defaults of Limits.
const (
	DefaultOTPNumberPerHour     = 5
	DefaultOTPNumberPerDay      = 10
	DefaultOTPAPIKeyPerMinute   = 120
	DefaultOTPPrefixPerHour     = 30
	DefaultOTPBreakerEvery      = time.Minute
	DefaultOTPBreakerWindow     = time.Hour
	DefaultOTPBreakerMinSample  = 20
	DefaultOTPBreakerConversion = 0.2
	DefaultOTPBlockFor          = 12 * time.Hour
)

// DefaultRefusedNumberTypes are the number types SMS pumping lives on, and
// those that cannot receive a text: the gateway's, which /messages refuses
// by default too.
var DefaultRefusedNumberTypes = gateway.DefaultRefusedNumberTypes

func (l *Limits) setDefaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.NumberPerHour, DefaultOTPNumberPerHour)
	def(&l.NumberPerDay, DefaultOTPNumberPerDay)
	def(&l.APIKeyPerMinute, DefaultOTPAPIKeyPerMinute)
	def(&l.PrefixPerHour, DefaultOTPPrefixPerHour)
	def(&l.BreakerMinVerifications, DefaultOTPBreakerMinSample)
	for i, c := range l.AllowedCountries {
		l.AllowedCountries[i] = strings.ToUpper(strings.TrimSpace(c))
	}
	if len(l.RefusedTypes) == 0 {
		l.RefusedTypes = DefaultRefusedNumberTypes
	}
	if l.BreakerEvery <= 0 {
		l.BreakerEvery = DefaultOTPBreakerEvery
	}
	if l.BreakerWindow <= 0 {
		l.BreakerWindow = DefaultOTPBreakerWindow
	}
	if l.BreakerMinConversion == 0 {
		l.BreakerMinConversion = DefaultOTPBreakerConversion
	}
	if l.BlockFor <= 0 {
		l.BlockFor = DefaultOTPBlockFor
	}
}

// limiter applies the limits that need no database: the API key rate,
// countries and number types.
type limiter struct {
	cfg       Limits
	homeOnly  bool            // no countries named: the gateway's home region only
	countries map[string]bool // nil: any (or homeOnly)
	refused   map[string]bool

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(cfg Limits) (*limiter, error) {
	l := &limiter{cfg: cfg, refused: map[string]bool{}, buckets: map[string]*bucket{},
		homeOnly: len(cfg.AllowedCountries) == 0}
	if !l.homeOnly && !slices.Contains(cfg.AllowedCountries, "*") {
		l.countries = map[string]bool{}
		for _, c := range cfg.AllowedCountries {
			if len(c) != 2 {
				return nil, fmt.Errorf("otp allowed country %q: want an ISO 3166 alpha-2 code or \"*\"", c)
			}
			l.countries[c] = true
		}
	}
	known := map[string]bool{}
	for _, n := range gateway.NumberTypes {
		known[n] = true
	}
	for _, t := range cfg.RefusedTypes {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "none" {
			continue
		}
		if !known[t] {
			return nil, fmt.Errorf("otp refused number type %q: want one of %s", t, strings.Join(slices.Sorted(mapKeys(known)), ", "))
		}
		l.refused[t] = true
	}
	return l, nil
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// allowKey takes a token from the API key's bucket, which refills at
// APIKeyPerMinute a minute up to that many.
func (l *limiter) allowKey(key string, now time.Time) error {
	rate := l.cfg.APIKeyPerMinute
	if rate < 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(rate), at: now}
		l.buckets[key] = b
	}
	perSec := float64(rate) / 60
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.tokens = min(float64(rate), b.tokens+el*perSec)
	}
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := time.Duration((1 - b.tokens) / perSec * float64(time.Second))
	return &gateway.RetryAfterError{Wait: max(wait, time.Second), Reason: fmt.Sprintf("this API key may start %d verifications a minute", rate)}
}

// refuse returns why a verification must not be sent, or "", home being
// the gateway's home region now.
func (l *limiter) refuse(p otpParams, c gateway.OTPCounts, home string) string {
	if p.to == "" {
		return "" // email only
	}
	switch {
	case l.homeOnly && p.country != home:
		return "country " + p.country + " is not the gateway's home region " + home
	case l.countries != nil && !l.countries[p.country]:
		return "country " + p.country + " not allowed"
	case l.refused[p.numberType]:
		return "number type " + p.numberType + " refused"
	case c.PrefixBlocked != nil:
		return "prefix " + c.PrefixBlocked.Prefix + " blocked: " + c.PrefixBlocked.Reason
	case l.cfg.NumberPerHour > 0 && c.NumberHour >= l.cfg.NumberPerHour:
		return fmt.Sprintf("number had %d sends in the last hour", c.NumberHour)
	case l.cfg.NumberPerDay > 0 && c.NumberDay >= l.cfg.NumberPerDay:
		return fmt.Sprintf("number had %d sends in the last 24 hours", c.NumberDay)
	case l.cfg.PrefixPerHour > 0 && c.PrefixHour >= l.cfg.PrefixPerHour:
		return fmt.Sprintf("prefix %s had %d sends in the last hour", p.prefix, c.PrefixHour)
	}
	return ""
}

// numberPrefix is the number without its last 4 digits: pumping attacks
// walk consecutive numbers of one range.
func numberPrefix(e164 string) string {
	if len(e164) <= 5 {
		return e164
	}
	return e164[:len(e164)-4]
}
