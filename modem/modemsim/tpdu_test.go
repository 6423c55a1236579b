package modemsim

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/pdu"
)

func TestSubmitToDeliver(t *testing.T) {
	scts := time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("", -5*3600))
	from := pdu.Address{Number: "+12025550101", TOA: pdu.TOAInternational}
	tests := []struct {
		name   string
		submit string // as written after the prompt
		text   string
		concat *pdu.Concat
		enc    pdu.Encoding
	}{
		{
			// Written by gammu 1.42: explicit SMSC, VP 0xFF.
			name:   "gammu gsm7",
			submit: "07915155999999F911000B915155000000F20000FF10E8329BFD0699E5EF36E81C6EB7EB",
			text:   "hello from gammu",
			enc:    pdu.GSM7,
		},
		{
			name:   "no vp, SRR",
			submit: mustSubmit(t, "+447700900123", "Grüße", pdu.SubmitOptions{StatusReport: true})[0].PDU,
			text:   "Grüße",
			enc:    pdu.GSM7,
		},
		{
			name:   "ucs2 part 2 of 2, 8-bit ref",
			submit: mustSubmit(t, "+447700900123", "日本語のテキスト。"+strings.Repeat("あ", 70), pdu.SubmitOptions{ConcatRef: 200, Validity: 24 * time.Hour})[1].PDU,
			concat: &pdu.Concat{Ref: 200, Part: 2, Total: 2, Bits: 8},
			enc:    pdu.UCS2,
		},
		{
			name:   "national destination",
			submit: mustSubmit(t, "07700900123", "national", pdu.SubmitOptions{})[0].PDU,
			text:   "national",
			enc:    pdu.GSM7,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := hex.DecodeString(tt.submit)
			if err != nil {
				t.Fatal(err)
			}
			_, tp, err := splitSMSC(raw)
			if err != nil {
				t.Fatal(err)
			}
			deliver, err := submitToDeliver(tp, from, scts)
			if err != nil {
				t.Fatal(err)
			}
			got := mustDecode(t, hexUpper(append(encodeSMSC(DefaultSMSC), deliver...)))
			sub := mustDecode(t, tt.submit)
			if got.Type != pdu.TypeDeliver || got.From != from || got.Encoding != tt.enc {
				t.Errorf("deliver %+v", got)
			}
			if got.SMSC.Number != DefaultSMSC {
				t.Errorf("smsc %+v", got.SMSC)
			}
			if got.Text != sub.Text || (tt.text != "" && got.Text != tt.text) {
				t.Errorf("text %q, submit had %q", got.Text, sub.Text)
			}
			if (got.Concat == nil) != (tt.concat == nil) || (got.Concat != nil && *got.Concat != *tt.concat) {
				t.Errorf("concat %+v, want %+v", got.Concat, tt.concat)
			}
			if !got.SCTS.Equal(scts) {
				t.Errorf("scts %v, want %v", got.SCTS, scts)
			}
		})
	}

	t.Run("rejects a deliver", func(t *testing.T) {
		if _, err := submitToDeliver([]byte{0x04, 0x0B, 0x91, 0, 0, 0, 0, 0, 0, 0, 0}, from, scts); err == nil {
			t.Error("converted a non-submit")
		}
	})
}
