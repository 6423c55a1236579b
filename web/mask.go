package web

import "strings"

// minPhoneDigits is the fewest digits taken for a phone number; shorter
// runs (limits, counts, years) are left alone.
const minPhoneDigits = 7

// maskPhones masks every phone-number-like run in s — an optional "+" and
// at least 7 digits, possibly split by spaces, dots, dashes, slashes or
// parentheses — keeping the country and area prefix and the last four
// digits of a full international number (+12025550123 → +1202…0123) and
// only two digits at each end of a shorter one (2025550123 → 20…23).
func maskPhones(s string) string {
	var b strings.Builder
	i := 0
	for i < len(s) {
		c := s[i]
		if c != '+' && !isDigit(c) {
			b.WriteByte(c)
			i++
			continue
		}
		end, digits := phoneRun(s, i)
		if digits < minPhoneDigits {
			b.WriteString(s[i:end])
			i = end
			continue
		}
		if c == '+' {
			b.WriteByte('+')
		}
		maskDigits(&b, s[i:end], digits)
		i = end
	}
	return b.String()
}

// phoneRun returns where the run starting at s[i] ends (trailing
// separators excluded) and how many digits it holds.
func phoneRun(s string, i int) (end, digits int) {
	end = i
	j := i
	if s[j] == '+' {
		j++
		end = j
	}
	for ; j < len(s); j++ {
		switch c := s[j]; {
		case isDigit(c):
			digits++
			end = j + 1
		case strings.IndexByte(" -.()/", c) >= 0:
		default:
			return end, digits
		}
	}
	return end, digits
}

func maskDigits(b *strings.Builder, run string, digits int) {
	keepHead, keepTail := 2, 2
	if digits >= 11 {
		keepHead, keepTail = 4, 4
	}
	n := 0
	for k := 0; k < len(run); k++ {
		if !isDigit(run[k]) {
			continue
		}
		switch {
		case n < keepHead:
			b.WriteByte(run[k])
		case n == keepHead:
			b.WriteString("…")
		}
		if n >= digits-keepTail {
			b.WriteByte(run[k])
		}
		n++
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
