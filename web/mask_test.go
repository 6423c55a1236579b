package web

import "testing"

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
