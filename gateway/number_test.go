package gateway_test

import (
	"strings"
	"testing"

	"github.com/simgate/simgate/gateway"
)

func TestNormalizeNumber(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		region string
		short  bool
		want   string
		reason string // substring of the error; "" when valid
	}{
		{name: "E164", in: "+12025550101", region: "US", want: "+12025550101"},
		{name: "US national formatted", in: "(202) 555-0101", region: "US", want: "+12025550101"},
		{name: "US national with 1", in: "1 202 555 0101", region: "US", want: "+12025550101"},
		{name: "spaces around", in: "  +1 202-555-0101 ", region: "US", want: "+12025550101"},
		{name: "German national", in: "0151 12345678", region: "DE", want: "+4915112345678"},
		{name: "German IDD", in: "0049 151 12345678", region: "DE", want: "+4915112345678"},
		{name: "US IDD to Germany", in: "011 49 151 12345678", region: "US", want: "+4915112345678"},
		{name: "UK national", in: "07911 123456", region: "GB", want: "+447911123456"},
		{name: "national needs its region", in: "07911 123456", region: "US", reason: "read as a national number of US"},
		{name: "empty", in: "", region: "US", reason: "is empty"},
		{name: "letters", in: "call me", region: "US", reason: "not a phone number"},
		{name: "unknown country code", in: "+999123456", region: "US", reason: "unknown country code"},
		{name: "too short", in: "+1202555", region: "US", reason: "too short"},
		{name: "too long", in: "+1202555010199999", region: "US", reason: "too long"},
		{name: "invalid for its country", in: "+11235550101", region: "US", reason: "not a valid number in US"},
		{name: "extension", in: "+1 202 555 0101 ext. 12", region: "US", reason: "extension"},
		{name: "absurdly long", in: strings.Repeat("1", 100), region: "US", reason: "not a phone number"},
		{name: "invalid UTF-8", in: "+1202\xff5550101", region: "US", reason: "not a phone number"},
		{name: "short code refused", in: "72345", region: "US", reason: "short code 72345 is not allowed"},
		{name: "short code allowed", in: "72345", region: "US", short: true, want: "72345"},
		{name: "short code with dash", in: "723-45", region: "US", short: true, want: "72345"},
		{name: "three digits", in: "611", region: "US", short: true, want: "611"},
		{name: "emergency", in: "911", region: "US", short: true, reason: "emergency number"},
		{name: "emergency EU", in: "112", region: "DE", short: true, reason: "emergency number"},
		{name: "two digits", in: "12", region: "US", short: true, reason: "too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gateway.NormalizeNumber(tt.in, tt.region, tt.short)
			if tt.reason == "" {
				if err != nil || got != tt.want {
					t.Fatalf("NormalizeNumber(%q, %s) = %q, %v; want %q", tt.in, tt.region, got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("NormalizeNumber(%q, %s) = %q, want an error", tt.in, tt.region, got)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q, want it to say %q", err, tt.reason)
			}
		})
	}
}

func TestMaskNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+14155550101", "+1415…0101"},
		{"+4915112345678", "+4915…5678"},
		{"72345", "72…45"},
		{"611", "…"},
		{"", "…"},
	}
	for _, tt := range tests {
		if got := gateway.MaskNumber(tt.in); got != tt.want {
			t.Errorf("MaskNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
