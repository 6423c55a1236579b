package gsm7

import (
	"bytes"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
)

func TestPackUSSD(t *testing.T) {
	tests := []struct {
		text, hex string
	}{
		// The classic balance request of Huawei USSD examples.
		{"*100#", "aa180c3602"},
		// Seven characters leave seven spare bits: a CR fills them.
		{"1234567", "31d98c56b3dd1a"},
		{"12345678", "31d98c56b3dd70"},
		{"[1]", "1b5e6ce303"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			s, ok := Septets(tt.text)
			if !ok {
				t.Fatal("not GSM-7")
			}
			got := PackUSSD(s)
			if hex.EncodeToString(got) != tt.hex {
				t.Errorf("PackUSSD(%q) = %x, want %s", tt.text, got, tt.hex)
			}
			if back := Decode(UnpackUSSD(got), 0, 0); back != tt.text {
				t.Errorf("round trip = %q, want %q", back, tt.text)
			}
		})
	}
}

func TestSeptets(t *testing.T) {
	if _, ok := Septets("日本"); ok {
		t.Error("Septets accepted kanji")
	}
	if _, ok := Septets("a\x1bb"); ok {
		t.Error("Septets accepted a literal ESC")
	}
	if s, ok := Septets("€"); !ok || !bytes.Equal(s, []byte{Esc, 0x65}) {
		t.Errorf("Septets(€) = %x, %v", s, ok)
	}
	for text, want := range map[string]int{"abc": 3, "[€]": 6, "": 0, "日": -1} {
		if got := Count(text); got != want {
			t.Errorf("Count(%q) = %d, want %d", text, got, want)
		}
	}
}

func TestConcurrentFirstUse(t *testing.T) {
	// Run with -race: the library's lazily built tables must be built once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			s, _ := Septets("hello [world]")
			Decode(s, 1, 1)
		})
	}
	wg.Wait()
}

// FuzzPackUSSD checks that packed USSD text decodes back to itself.
func FuzzPackUSSD(f *testing.F) {
	for _, s := range []string{"*100#", "1234567", "12345678", "abc\r", "1234567\r", "€[]", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		septets, ok := Septets(s)
		if !ok {
			return
		}
		got := Decode(UnpackUSSD(PackUSSD(septets)), 0, 0)
		// A CR ending the text on an octet boundary is doubled on purpose
		// (TS 23.038 §6.1.2.3.1: <CR><CR> means the same as <CR>).
		if got != s && !(strings.HasSuffix(s, "\r") && got == s+"\r") {
			t.Errorf("round trip of %q = %q", s, got)
		}
	})
}
