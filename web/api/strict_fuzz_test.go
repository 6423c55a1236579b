package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// containsFFFD reports whether a decoded JSON value holds U+FFFD in a
// string or a key.
func containsFFFD(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, '\uFFFD')
	case []any:
		for _, e := range v {
			if containsFFFD(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, '\uFFFD') || containsFFFD(e) {
				return true
			}
		}
	}
	return false
}

// FuzzLoneSurrogate: on valid JSON without U+FFFD of its own, a lone
// surrogate is found exactly when encoding/json would turn something into
// U+FFFD; and walking the keys never panics.
func FuzzLoneSurrogate(f *testing.F) {
	for _, s := range []string{`{"t":"\ud800"}`, `{"t":"\ud83d\ude00"}`, `{"t":"\\ud800"}`, `["\udc00",1]`,
		`{"a":{"b":1,"b":2}}`, `{"\ud800x":1}`, `"\"\ud800\""`, `{"t":"\uD83D\uDE00\uD83D"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		if !json.Valid(b) {
			return
		}
		objectKeys(b)
		if strings.ContainsRune(s, '\uFFFD') || strings.Contains(strings.ToLower(s), `\ufffd`) {
			return
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("valid JSON %q: %v", s, err)
		}
		_, lone := loneSurrogate(b)
		if lone != containsFFFD(v) {
			t.Errorf("loneSurrogate(%q) = %v, but encoding/json made U+FFFD: %v", s, lone, containsFFFD(v))
		}
	})
}
