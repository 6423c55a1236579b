package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestPackUSSD(t *testing.T) {
	tests := []struct {
		text, hex string
	}{
		// The classic balance request of Huawei USSD examples.
		{"*100#", "AA180C3602"},
		// Seven characters leave seven spare bits: a CR fills them.
		{"1234567", "31D98C56B3DD1A"},
		{"12345678", "31D98C56B3DD70"},
		{"[1]", "1B5E6CE303"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := packUSSD(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.hex {
				t.Errorf("packUSSD(%q) = %s, want %s", tt.text, got, tt.hex)
			}
			b, _ := hex.DecodeString(got)
			if back := unpackGSM7(b); back != tt.text {
				t.Errorf("unpack = %q, want %q", back, tt.text)
			}
		})
	}
	if _, err := packUSSD("日本"); !errors.Is(err, errNotGSM7) {
		t.Errorf("err = %v", err)
	}
}

func TestDecodeUSSD(t *testing.T) {
	tests := []struct {
		name   string
		s      string
		dcs    int
		packed bool
		want   string
	}{
		{"Text", "Balance: 5.00 EUR", 15, false, "Balance: 5.00 EUR"},
		{"TextHexLookingDigits", "1234", 15, false, "1234"},
		{"PackedHex", "C2303BEC1E97413D90BB5C2F8362B1582C16", 15, true, ""}, // filled below
		{"UCS2dcs72", "0041004200430020041F04400438043204350442", 72, false, "ABC Привет"},
		{"UCS2dcs72Packed", "0041004200430020041F04400438043204350442", 72, true, "ABC Привет"},
		{"UCS2Language", "00410042", 0x11, false, "AB"},
		{"UCS2BadHexKept", "XYZ", 72, false, "XYZ"},
		{"NoDCS", "hello", -1, false, "hello"},
	}
	packed, _ := packUSSD("Balance is 5.00 EUR")
	tests[2].s, tests[2].want = packed, "Balance is 5.00 EUR"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeUSSD(tt.s, tt.dcs, tt.packed); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUSSD(t *testing.T) {
	t.Run("TextAfterOK", func(t *testing.T) {
		f := newFake(t).on(`AT+CUSD=1,"*100#",15`+"\r\n", "\r\nOK\r\n", "\r\n+CUSD: 0,\"Balance: 5.00\",15\r\n")
		m := mustModem(t, f, Config{})
		got, err := m.USSD(ctxT(t), "*100#")
		if err != nil {
			t.Fatal(err)
		}
		if want := (USSDResult{Status: 0, Text: "Balance: 5.00", DCS: 15}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
		noEvent(t, m, f)
	})
	t.Run("BeforeOK", func(t *testing.T) {
		f := newFake(t).on(`AT+CUSD=1,"*100#",15`+"\r\n", "\r\n+CUSD: 1,\"Menu: 1 Top-up\",15\r\n\r\nOK\r\n")
		m := mustModem(t, f, Config{})
		got, err := m.USSD(ctxT(t), "*100#")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != 1 || got.Text != "Menu: 1 Top-up" {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("UCS2", func(t *testing.T) {
		f := newFake(t).on(`AT+CUSD=1,"*100#",15`+"\r\n", "\r\nOK\r\n\r\n+CUSD: 0,\"0412043004480020043104300043\",72\r\n")
		m := mustModem(t, f, Config{})
		got, err := m.USSD(ctxT(t), "*100#")
		if err != nil {
			t.Fatal(err)
		}
		if got.Text != "Ваш баC" || got.DCS != 72 {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		f := newFake(t).on(`AT+CUSD=1,"*100#",15`+"\r\n", "\r\n+CME ERROR: 4\r\n")
		m := mustModem(t, f, Config{})
		if _, err := m.USSD(ctxT(t), "*100#"); !errors.Is(err, CMEError{Code: 4}) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("NoAnswerCancels", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(t).on(`AT+CUSD=1,"*100#",15`+"\r\n", "\r\nOK\r\n").on("AT+CUSD=2\r\n", "\r\nOK\r\n")
			m := New(f, Config{})
			defer m.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			_, err := m.USSD(ctx, "*100#")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v", err)
			}
			if !f.wrote("AT+CUSD=2\r\n") {
				t.Errorf("session not cancelled: %q", f.written())
			}
		})
	})
}
