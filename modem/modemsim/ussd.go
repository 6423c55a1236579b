package modemsim

import (
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/simgate/simgate/gsm7"
)

// USSDStyle is how the virtual modem prints the <str> of a +CUSD reply,
// after the firmware that prints it so (TS 27.007 §7.15 leaves much to the
// TE character set and the vendor).
type USSDStyle int

const (
	// USSDText is text in the TE character set (IRA), dcs 15: the default.
	USSDText USSDStyle = iota
	// USSDRawGSM is text as raw GSM 7-bit bytes, as a modem in
	// AT+CSCS="GSM" passes them: 'ä' is '{', dcs 15.
	USSDRawGSM
	// USSDPackedHex is GSM 7-bit packed hex, dcs 15 (Huawei); the codes it
	// is sent must come packed the same way.
	USSDPackedHex
	// USSDUCS2 is UCS-2 hex under dcs 15 (Quectel in AT+CSCS="UCS2").
	USSDUCS2
	// USSDUCS2Declared is UCS-2 hex under dcs 72, which says so.
	USSDUCS2Declared
	// USSDUCS2Language is UCS-2 hex after a two-septet language
	// indication ("en", packed), dcs 17.
	USSDUCS2Language
)

// USSDReply is what the network answers a USSD code.
type USSDReply struct {
	Text string
	// Status is +CUSD's <m>: 0 done (the default), 1 further input wanted,
	// 2 ended by the network.
	Status int
}

// SetUSSD sets the text answered to AT+CUSD=1,"<code>", with status 0.
func (m *Modem) SetUSSD(code, reply string) { m.SetUSSDReply(code, USSDReply{Text: reply}) }

// SetUSSDReply sets the answer to AT+CUSD=1,"<code>".
func (m *Modem) SetUSSDReply(code string, r USSDReply) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.ussd[code] = r
}

// SetUSSDStyle sets how replies are printed (and, for USSDPackedHex, how
// codes are read).
func (m *Modem) SetUSSDStyle(s USSDStyle) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.ussdStyle = s
}

func cmdCUSD(m *Modem, r *reply, c command) error {
	switch c.op {
	case opRead:
		r.lines("+CUSD: 1")
	case opTest:
		r.lines("+CUSD: (0,1,2)")
	case opSet:
		n, err := c.intArg(0, 0)
		if err != nil || n < 0 || n > 2 {
			return cmeError(50)
		}
		code := c.arg(1)
		if n == 2 || code == "" {
			return nil
		}
		if m.st.pin != pinReady {
			return cmeError(11)
		}
		if !m.registeredLocked() {
			return cmeError(30)
		}
		if m.knobs.ussdStyle == USSDPackedHex {
			code = unpackCode(code)
		}
		// The network answers after the OK, as an unsolicited +CUSD.
		if a, ok := m.knobs.ussd[code]; ok {
			m.queueLineLocked(formatCUSD(m.knobs.ussdStyle, a))
		} else {
			m.queueLineLocked("+CUSD: 4")
		}
	default:
		return errPlain
	}
	return nil
}

// formatCUSD prints the +CUSD line of a reply in style s.
func formatCUSD(s USSDStyle, a USSDReply) string {
	str, dcs := a.Text, 15
	switch s {
	case USSDRawGSM:
		if sep, ok := gsm7.Septets(a.Text); ok {
			str = string(sep)
		}
	case USSDPackedHex:
		if sep, ok := gsm7.Septets(a.Text); ok {
			str = strings.ToUpper(hex.EncodeToString(gsm7.PackUSSD(sep)))
		}
	case USSDUCS2:
		str = ucs2Hex(a.Text)
	case USSDUCS2Declared:
		str, dcs = ucs2Hex(a.Text), 72
	case USSDUCS2Language:
		str, dcs = "6537"+ucs2Hex(a.Text), 17 // "en" in two packed septets
	}
	return fmt.Sprintf(`+CUSD: %d,"%s",%d`, a.Status, str, dcs)
}

func ucs2Hex(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	return b.String()
}

// unpackCode reads a code sent as packed hex; anything else is kept.
func unpackCode(code string) string {
	b, err := hex.DecodeString(code)
	if err != nil {
		return code
	}
	return gsm7.Decode(gsm7.UnpackUSSD(b), 0, 0)
}
