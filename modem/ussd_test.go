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

// Replies as modems print them. Where a row names an issue thread, the
// hex is a capture posted there; the others are built after TS 23.038.
func TestDecodeUSSD(t *testing.T) {
	zte := "002000440075002000680061007200200030002C003000300020006B00720020006F0063006800200030002C0039003900200047004200200073" +
		"0075007200660020006B007600610072002E002000440075002000720069006E0067006500720020006600F6007200200032006B0072002F0073" +
		"0061006D00740061006C002C00200073006B00690063006B0061007200200053004D0053002F004D004D00530020006600F60072002000350030" +
		"00F600720065002F00730074002E0020004B00F60070002000730075007200660020007000E5002000680061006C00650062006F0070002E0073" +
		"0065002F006500780074007200610073"
	septetHex := "536973612070756C73612052702E333030302E416B7469662073642032362F30322F323032302E0A4B6F6E74656E20526961204D6972616E64" +
		"612026205261696820556D726F682E5270323230302F534D532F32487220736C6D2031383048720A312E59410A322E43656B204B756F74610A33" +
		"2E4E656C706F6E0A342E496E7465726E65740A352E4C61696E6E79610A"
	tests := []struct {
		name   string
		s      string
		dcs    int
		packed bool
		want   string
	}{
		{"Text", "Balance: 5.00 EUR", 15, false, "Balance: 5.00 EUR"},
		{"TextHexLookingDigits", "1234", 15, false, "1234"},
		{"TextHexLookingNumber", "12345678", 15, false, "12345678"},
		{"TextHexLookingWord", "CAFE", 15, false, "CAFE"},
		// asterisk-chan-dongle #38: a Huawei E1550 on Tele2 RU, packed.
		{"HuaweiPacked", "CF2135487D2E4131DCCD25A381E02E", 15, true, "OCTATOK 187.24 p."},
		{"HuaweiPackedNoProfile", "CF2135487D2E4131DCCD25A381E02E", 15, false, "OCTATOK 187.24 p."},
		{"HuaweiPacked24", "CE325C1EB6A7D9EE7C1AE47EB7CB72507DCEAE9FD3", 15, true, "Nepravilnyi nomer uslugi"},
		// Packed without the CR filler: seven zero spare bits read as '@'.
		{"PackedAtPadding", "31D98C56B3DD00", 15, true, "1234567"},
		{"PackedCRPadding", "31D98C56B3DD1A", 15, true, "1234567"},
		// obsy/sms_tool #13: a ZTE MF286D (Qualcomm) sends UCS-2 under dcs 7.
		{"UCS2UnderDCS7", zte, 7, false, "Du har 0,00 kr och 0,99 GB surf kvar. Du ringer för 2kr/samtal, " +
			"skickar SMS/MMS för 50öre/st. Köp surf på halebop.se/extras"},
		// gammu #358: UCS-2 under dcs 15 once AT+CSCS="UCS2" (first 45 characters).
		{"UCS2UnderDCS15", "00480061007600690020006B0065007200650074003A0020003000460074002E002000460065006C007400F6006C007400F60074" +
			"007400200065006700790065006E006C00650067003A0020003700370037003700460074002C", 15, false, "Havi keret: 0Ft. Feltöltött egyenleg: 7777Ft,"},
		// gammu #513: one hex pair per septet (AT+CSCS="HEX"), dcs 0, a menu.
		{"SeptetHex", septetHex, 0, false, "Sisa pulsa Rp.3000.Aktif sd 26/02/2020.\nKonten Ria Miranda & Raih Umroh.Rp2200/SMS/2Hr slm 180Hr\n" +
			"1.YA\n2.Cek Kuota\n3.Nelpon\n4.Internet\n5.Lainnya"},
		{"UCS2dcs72", "0041004200430020041F04400438043204350442", 72, false, "ABC Привет"},
		{"UCS2dcs72Packed", "0041004200430020041F04400438043204350442", 72, true, "ABC Привет"},
		{"UCS2TrailingOctet", "004100420D", 72, false, "AB"},
		{"UCS2TrailingNUL", "0041004200000000", 72, false, "AB"},
		// dcs 0x11: "en" in two packed septets, then UCS-2.
		{"UCS2Language", "653700480069", 0x11, false, "Hi"},
		{"UCS2LanguageUnpacked", "656E00480069", 0x11, false, "Hi"},
		{"UCS2BadHexKept", "XYZ", 72, false, "XYZ"},
		// AT+CSCS="GSM": the septets pass through as bytes, '{' is 'ä'.
		{"RawGSM", "Ihr Guthaben betr{gt 5,00 EUR. Gr~|e", 15, false, "Ihr Guthaben beträgt 5,00 EUR. Grüöe"},
		{"RawGSMEscape", "Preis: 5\x1be", 15, false, "Preis: 5€"},
		{"BracesInIRAKept", "Top-up $5 {promo}", 15, false, "Top-up $5 {promo}"},
		{"TextAtPadding", "Bal 5.0@", 15, false, "Bal 5.0"},
		{"TextJunk", "Balance 5.00\r\n\x00", 15, false, "Balance 5.00"},
		{"Latin1", "Cr\xe9dit: 5 EUR", 15, false, "Crédit: 5 EUR"},
		{"NoDCS", "hello", -1, false, "hello"},
	}
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
	t.Run("MenuOverLines", func(t *testing.T) {
		f := newFake(t).on(`AT+CUSD=1,"*100#",15`+"\r\n", "\r\n+CUSD: 1,\"Menu:\r\n1 Balance\r\n+2 Top-up\",15\r\n\r\nOK\r\n")
		m := mustModem(t, f, Config{})
		got, err := m.USSD(ctxT(t), "*100#")
		if err != nil {
			t.Fatal(err)
		}
		if want := (USSDResult{Status: 1, Text: "Menu:\n1 Balance\n+2 Top-up", DCS: 15}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("UnterminatedKeepsOK", func(t *testing.T) {
		f := newFake(t).on(`AT+CUSD=1,"*100#",15`+"\r\n", "\r\n+CUSD: 2,\"Cut\r\nOK\r\n")
		m := mustModem(t, f, Config{})
		got, err := m.USSD(ctxT(t), "*100#")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != 2 || got.Text != "Cut" {
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
