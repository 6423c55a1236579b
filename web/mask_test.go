package web

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMaskPhones(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+12025550123", "+1202…0123"},
		{"+447700900123", "+4477…0123"},
		{"12025550123", "1202…0123"},
		{"2025550123", "20…23"},
		{"5550123", "55…23"},
		{"555012", "555012"}, // too short to be a number
		{"+1 (202) 555-0123", "+1202…0123"},
		{"202.555.0123 and +33 6 12 34 56 78", "20…23 and +3361…5678"},
		{"to=+12025550123&limit=50", "to=+1202…0123&limit=50"},
		{"msg_01JNQ8ZK3X7Y2B4C6D8E0F1G2H", "msg_01JNQ8ZK3X7Y2B4C6D8E0F1G2H"},
		{"+", "+"},
		{"1234567-", "12…67-"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := maskPhones(tt.in); got != tt.want {
				t.Errorf("maskPhones(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzMaskPhones(f *testing.F) {
	for _, s := range []string{"+12025550123", "+1 (202) 555-0123", "to=2025550123&x=1", "1-2-3-4-5-6-7", "++1234567", "٣٤٥"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := maskPhones(s)
		if d := longestDigitRun(got); d >= minPhoneDigits {
			t.Errorf("maskPhones(%q) = %q keeps a run of %d digits", s, got, d)
		}
		if again := maskPhones(got); again != got {
			t.Errorf("maskPhones is not idempotent: %q → %q → %q", s, got, again)
		}
	})
}

// longestDigitRun counts digits in the longest stretch of digits and the
// separators a phone number may contain.
func longestDigitRun(s string) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			run++
			best = max(best, run)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/':
		default:
			run = 0
		}
	}
	return best
}

func TestParseTTL(t *testing.T) {
	tests := []struct {
		raw     string
		want    time.Duration
		wantErr error
	}{
		{``, 0, nil},
		{`null`, 0, nil},
		{`0`, 0, nil},
		{`3600`, time.Hour, nil},
		{`"3600"`, time.Hour, nil},
		{`"90m"`, 90 * time.Minute, nil},
		{`"1h30m"`, 90 * time.Minute, nil},
		{`""`, 0, nil},
		{`1.5`, 0, errTTL},
		{`1e3`, 0, errTTL},
		{`true`, 0, errTTL},
		{`"soon"`, 0, errTTL},
		{`-1`, 0, errTTLNegative},
		{`"-1s"`, 0, errTTLNegative},
		{`"-30"`, 0, errTTLNegative},
		{`9223372037`, 0, errTTLTooLong},
		{`99999999999999999999`, 0, errTTL},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := parseTTL(json.RawMessage(tt.raw))
			if err != tt.wantErr || got != tt.want {
				t.Errorf("parseTTL(%s) = %v, %v; want %v, %v", tt.raw, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzParseTTL(f *testing.F) {
	for _, s := range []string{`3600`, `"90m"`, `"45"`, `-1`, `1.5`, `null`, `"1h"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		d, err := parseTTL(json.RawMessage(raw))
		if err == nil && d < 0 {
			t.Errorf("parseTTL(%q) = %v, a negative ttl", raw, d)
		}
	})
}
