package gateway

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Short codes are the 3–8 digit numbers carriers give to services ("72345");
// they are no valid full number anywhere.
const (
	minShortCode = 3
	maxShortCode = 8
	maxNumberLen = 64 // longer input is not a number whatever it holds
)

// NormalizeNumber turns a destination as a person types it ("(202)
// 555-0101", "+44 7911 123456", "0049 151 …") into E.164, reading national
// input as a number of defaultRegion (ISO 3166 alpha-2, "US"). A short code
// (3–8 digits that are no valid full number) comes back as its digits when
// allowShortCodes is set. The error says, for a client developer, why the
// input is refused; emergency numbers always are.
func NormalizeNumber(raw, defaultRegion string, allowShortCodes bool) (string, error) {
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		return "", errors.New("is empty")
	case len(s) > maxNumberLen || !utf8.ValidString(s):
		return "", errors.New("is not a phone number")
	}
	if digits, ok := shortCode(s); ok {
		if phonenumbers.IsEmergencyNumber(digits, defaultRegion) {
			return "", fmt.Errorf("%s is an emergency number", digits)
		}
		if !allowShortCodes {
			return "", fmt.Errorf("short code %s is not allowed (set allow_short_codes to send to short codes)", digits)
		}
		return digits, nil
	}
	n, err := phonenumbers.Parse(s, defaultRegion)
	if err != nil {
		return "", parseReason(err, s, defaultRegion)
	}
	if n.GetExtension() != "" {
		return "", errors.New("has an extension, which SMS cannot reach")
	}
	// IsValidNumber is GetNumberType ≠ UNKNOWN; the type is kept for the
	// destination policy's NumberInfo, which every Send asks next.
	typ := phonenumbers.GetNumberType(n)
	if typ == phonenumbers.UNKNOWN {
		return "", invalidReason(n, s, defaultRegion)
	}
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	keepNumberInfo(e164, phonenumbers.GetRegionCodeForNumber(n), NumberTypes[typ])
	return e164, nil
}

// shortCode reports whether s is all digits (spaces and dashes allowed) and
// short enough to be a short code rather than a national number.
func shortCode(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			return "", false
		}
	}
	d := b.String()
	return d, len(d) >= minShortCode && len(d) <= maxShortCode
}

func parseReason(err error, s, region string) error {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		if strings.HasPrefix(s, "+") {
			return errors.New("has an unknown country code")
		}
		return fmt.Errorf("is not international (+…) and default region %q is unknown", region)
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return errors.New("is too short")
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return errors.New("is too long")
	}
	return errors.New("is not a phone number")
}

func invalidReason(n *phonenumbers.PhoneNumber, s, region string) error {
	where := phonenumbers.GetRegionCodeForCountryCode(int(n.GetCountryCode()))
	if where == "" || where == "ZZ" {
		where = fmt.Sprintf("+%d", n.GetCountryCode())
	}
	var reason string
	switch phonenumbers.IsPossibleNumberWithReason(n) {
	case phonenumbers.TOO_SHORT:
		reason = "is too short for a number in " + where
	case phonenumbers.TOO_LONG:
		reason = "is too long for a number in " + where
	case phonenumbers.INVALID_COUNTRY_CODE:
		return errors.New("has an unknown country code")
	case phonenumbers.INVALID_LENGTH:
		reason = "has the wrong length for a number in " + where
	default:
		reason = "is not a valid number in " + where
	}
	if !strings.HasPrefix(s, "+") {
		// The most common mistake: a foreign number without its country code.
		reason += fmt.Sprintf(" (read as a national number of %s; write others as +<country code>…)", region)
	}
	return errors.New(reason)
}

// MaskNumber shortens a phone number for logs above debug ("+1415…0101"),
// which must never hold a full number (STYLE.md §8).
func MaskNumber(s string) string {
	if len(s) <= 8 {
		if len(s) <= 3 {
			return "…"
		}
		return s[:2] + "…" + s[len(s)-2:]
	}
	return s[:5] + "…" + s[len(s)-4:]
}
