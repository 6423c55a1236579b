package kannel

import (
	"testing"
	"time"
)

func TestExpand(t *testing.T) {
	f := dlrFields{typ: 8, reply: "ACK/", receiver: "0049 170/123", sender: "Shop & Co", smsc: "office",
		id: "msg_01ABC", foreign: "42", user: "shop", url: "http://x/?a=%d",
		at: time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))}
	tests := []struct{ pattern, want string }{
		{"%d", "8"},
		{"%A", "ACK%2F"},
		{"%p|%P", "0049+170%2F123|Shop+%26+Co"},
		{"%q", "%2B49+170%2F123"},
		{"%Q", "Shop+%26+Co"},
		{"%i %I %F %n", "office msg_01ABC 42 shop"},
		{"%t", "2026-03-04+04:06:07"},
		{"%T", "1772597167"},
		{"%R", "http%3A%2F%2Fx%2F%3Fa%3D%25d"},
		{"100%% %z and a trailing %", "100% %z and a trailing %"},
		{"%D%B%o%u", ""},
		{"http://h/d?type=%d&to=%p", "http://h/d?type=8&to=0049+170%2F123"},
	}
	for _, tt := range tests {
		if got := expand(tt.pattern, f); got != tt.want {
			t.Errorf("expand(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

// TestURLEncode: Kannel's octstr_url_encode leaves letters, digits and
// -_.!~*'() alone, turns a space into '+' and the rest into %XX.
func TestURLEncode(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"aZ09-_.!~*'()":    "aZ09-_.!~*'()",
		"a b+c/d?e=f&g%":   "a+b%2Bc%2Fd%3Fe%3Df%26g%25",
		"é":                "%C3%A9",
		"NACK/CMS ERROR 1": "NACK%2FCMS+ERROR+1",
	} {
		if got := urlEncode(in); got != want {
			t.Errorf("urlEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzExpand(f *testing.F) {
	f.Add("http://h/?a=%d&b=%A&c=%q%")
	f.Fuzz(func(t *testing.T, pattern string) {
		_ = expand(pattern, sample)
	})
}
