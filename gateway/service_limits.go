package gateway

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/time/rate"
)

// SendLimits bound what one API key may queue through Send; OTP has
// limits of its own. The zero value limits nothing: the config file's
// defaults are what protect an installation.
type SendLimits struct {
	// Rate is the messages per second one key may submit, Burst how many
	// at once; Rate 0 means no rate limit.
	Rate  float64
	Burst int
	// DailyQuota is the messages one key may queue per UTC day, OTP codes
	// included (they count, though only Send refuses); 0 means none.
	DailyQuota int
}

// DestinationPolicy is where Send may send, after OTP's: the countries
// allowed and the number types refused (libphonenumber's, as in
// NumberTypes). A short code, allowed only by AllowShortCodes, has neither
// and passes.
type DestinationPolicy struct {
	// AllowedCountries are ISO 3166 alpha-2 regions; empty means the
	// service's home region only (Service.Region); "*" allows every country.
	AllowedCountries []string
	// RefusedTypes are number types refused; empty means
	// DefaultRefusedNumberTypes; "none" refuses nothing.
	RefusedTypes []string
}

// DefaultRefusedNumberTypes are the number types SMS pumping lives on and
// those that cannot receive a text.
var DefaultRefusedNumberTypes = []string{"premium_rate", "shared_cost", "toll_free", "pager", "uan", "voicemail", "unknown"}

// NumberTypes names libphonenumber's number types.
var NumberTypes = map[phonenumbers.PhoneNumberType]string{
	phonenumbers.FIXED_LINE:           "fixed_line",
	phonenumbers.MOBILE:               "mobile",
	phonenumbers.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
	phonenumbers.TOLL_FREE:            "toll_free",
	phonenumbers.PREMIUM_RATE:         "premium_rate",
	phonenumbers.SHARED_COST:          "shared_cost",
	phonenumbers.VOIP:                 "voip",
	phonenumbers.PERSONAL_NUMBER:      "personal_number",
	phonenumbers.PAGER:                "pager",
	phonenumbers.UAN:                  "uan",
	phonenumbers.VOICEMAIL:            "voicemail",
	phonenumbers.UNKNOWN:              "unknown",
}

// NumberInfo returns the region and the number type (NumberTypes) of an
// E.164 number. Answers are kept (up to numberInfoMax numbers), and
// NormalizeNumber keeps those of the numbers it returns: every Send asks
// for the number it has just normalized, and libphonenumber's region and
// type lookups try their patterns one by one (NANPA: region by region).
func NumberInfo(e164 string) (region, typ string) {
	if info, ok := numberInfos.get(e164); ok {
		return info[0], info[1]
	}
	region, typ = "", "unknown"
	if n, err := phonenumbers.Parse(e164, ""); err == nil {
		region, typ = phonenumbers.GetRegionCodeForNumber(n), NumberTypes[phonenumbers.GetNumberType(n)]
	}
	keepNumberInfo(e164, region, typ)
	return region, typ
}

// keepNumberInfo remembers what NumberInfo answers for e164.
func keepNumberInfo(e164, region, typ string) { numberInfos.put(e164, [2]string{region, typ}) }

// numberInfos holds NumberInfo's answers, up to 10,000 numbers.
var numberInfos = memo[string, [2]string]{max: 10000}

// destinations is a DestinationPolicy checked and made into sets.
type destinations struct {
	homeOnly  bool            // no countries named: the home region's only
	countries map[string]bool // nil: any (or homeOnly)
	refused   map[string]bool
}

func newDestinations(p DestinationPolicy) (destinations, error) {
	d := destinations{refused: map[string]bool{}, homeOnly: len(p.AllowedCountries) == 0}
	if !d.homeOnly && !slices.Contains(p.AllowedCountries, "*") {
		d.countries = map[string]bool{}
		for _, c := range p.AllowedCountries {
			c = strings.ToUpper(strings.TrimSpace(c))
			if len(c) != 2 {
				return d, fmt.Errorf("allowed country %q: want an ISO 3166 alpha-2 code or \"*\"", c)
			}
			d.countries[c] = true
		}
	}
	refused := p.RefusedTypes
	if len(refused) == 0 {
		refused = DefaultRefusedNumberTypes
	}
	known := map[string]bool{}
	for _, n := range NumberTypes {
		known[n] = true
	}
	for _, t := range refused {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "none" {
			continue
		}
		if !known[t] {
			return d, fmt.Errorf("refused number type %q: want some of %s or \"none\"", t, strings.Join(slices.Sorted(func(yield func(string) bool) {
				for k := range known {
					if !yield(k) {
						return
					}
				}
			}), ", "))
		}
		d.refused[t] = true
	}
	return d, nil
}

// check refuses an E.164 number the policy does not allow, home being the
// home region now; a short code (no "+") passes.
func (d destinations) check(to, home string) error {
	if !strings.HasPrefix(to, "+") {
		return nil
	}
	region, typ := NumberInfo(to)
	switch {
	case d.homeOnly && region != home:
		return &ValidationError{Field: "to", Reason: fmt.Sprintf("is a number of %s, and this gateway sends only to its home region %s (set region, or messages.allowed_countries)", orUnknown(region), home)}
	case d.countries != nil && !d.countries[region]:
		return &ValidationError{Field: "to", Reason: fmt.Sprintf("is a number of %s, a country this gateway does not send to (messages.allowed_countries)", orUnknown(region))}
	case d.refused[typ]:
		return &ValidationError{Field: "to", Reason: fmt.Sprintf("is a %s number, which this gateway does not send to (messages.refused_number_types)", strings.ReplaceAll(typ, "_", "-"))}
	}
	return nil
}

func orUnknown(region string) string {
	if region == "" || region == "ZZ" {
		return "no known country"
	}
	return region
}

// keyLimits holds one rate limiter per API key, made on first use.
type keyLimits struct {
	cfg SendLimits

	mu      sync.Mutex
	byKey   map[int64]*rate.Limiter
	quotaMu sync.Mutex // count and commit of a key with a quota, one at a time
}

func newKeyLimits(cfg SendLimits) *keyLimits {
	return &keyLimits{cfg: cfg, byKey: map[int64]*rate.Limiter{}}
}

// allow takes a token from key's bucket at now, or says how long to wait.
func (l *keyLimits) allow(key int64, now time.Time) error { return l.allowN(key, now, 1) }

// allowN takes n tokens from key's bucket at now, or none and says how
// long to wait.
func (l *keyLimits) allowN(key int64, now time.Time, n int) error {
	if l.cfg.Rate <= 0 {
		return nil
	}
	l.mu.Lock()
	lim := l.byKey[key]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(l.cfg.Rate), max(l.cfg.Burst, 1))
		l.byKey[key] = lim
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, n)
	if !r.OK() {
		return &RetryAfterError{Wait: time.Duration(float64(n) / l.cfg.Rate * float64(time.Second)),
			Reason: fmt.Sprintf("%d messages at once are more than this API key's burst of %d", n, max(l.cfg.Burst, 1))}
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return &RetryAfterError{Wait: d, Reason: fmt.Sprintf("this API key may send %g messages a second (burst %d)", l.cfg.Rate, max(l.cfg.Burst, 1))}
	}
	return nil
}

// withQuota runs commit when key has sent fewer than DailyQuota messages
// since the start of now's UTC day; the count and the commit are one step,
// so concurrent sends cannot pass the quota together (one process writes
// a database: the data directory's lock).
func (l *keyLimits) withQuota(ctx context.Context, q Queue, key int64, now time.Time, commit func() error) error {
	return l.withQuotaN(ctx, q, key, now, 1, commit)
}

// withQuotaN is withQuota for a commit of k messages: all of them fit in
// the day's quota or none is committed.
func (l *keyLimits) withQuotaN(ctx context.Context, q Queue, key int64, now time.Time, k int, commit func() error) error {
	if l.cfg.DailyQuota <= 0 {
		return commit()
	}
	l.quotaMu.Lock()
	defer l.quotaMu.Unlock()
	day := now.UTC().Truncate(24 * time.Hour)
	n, err := q.KeyMessagesSince(ctx, key, day)
	if err != nil {
		return fmt.Errorf("count messages of the day: %w", err)
	}
	if n+k > l.cfg.DailyQuota {
		return &RetryAfterError{Wait: day.Add(24 * time.Hour).Sub(now),
			Reason: fmt.Sprintf("this API key has sent its %d messages of the day (UTC)", l.cfg.DailyQuota)}
	}
	return commit()
}
