package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/simgate/simgate/modem/at"
)

// USSDResult is the network's answer to a USSD request (+CUSD, TS 27.007 §7.15).
type USSDResult struct {
	// Status is <m>: 0 done, 1 further action required (answer with another
	// USSD call), 2 terminated by the network, 3 answered by another client,
	// 4 not supported, 5 timed out.
	Status int
	Text   string // decoded <str>
	DCS    int    // <dcs> (TS 23.038 §5), -1 when absent
}

// USSD sends code (e.g. "*100#", or the answer to a Status 1 result) and
// waits for the +CUSD URC that carries the network's answer, until ctx ends.
// Only one USSD session runs at a time.
func (m *Modem) USSD(ctx context.Context, code string) (USSDResult, error) {
	select {
	case m.ussdSem <- struct{}{}:
		defer func() { <-m.ussdSem }()
	case <-ctx.Done():
		return USSDResult{}, fmt.Errorf("ussd: %w", ctx.Err())
	case <-m.Done():
		return USSDResult{}, fmt.Errorf("ussd: %w", m.closedErr())
	}
	if err := m.lock(ctx); err != nil {
		return USSDResult{}, fmt.Errorf("ussd: %w", err)
	}
	ch := make(chan string, 1)
	m.mu.Lock()
	m.ussd = ch
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		if m.ussd == ch {
			m.ussd = nil
		}
		m.mu.Unlock()
	}()

	packed := false
	if p := m.profile.Load(); p != nil {
		packed = p.USSDPackedHex
	}
	arg := code
	if packed {
		var err error
		if arg, err = packUSSD(code); err != nil {
			m.unlock()
			return USSDResult{}, fmt.Errorf("ussd: %w", err)
		}
	}
	// The +CUSD answer is a URC even when it comes before OK: no info prefix.
	_, err := m.exec(ctx, at.Request{
		Command:  fmt.Sprintf(`AT+CUSD=1,"%s",15`, arg),
		Prefixes: []string{},
		Timeout:  m.cfg.CommandTimeout,
	})
	m.unlock()
	if err != nil {
		return USSDResult{}, fmt.Errorf("ussd: %w", err)
	}
	select {
	case line := <-ch:
		return parseCUSD(line, packed), nil
	case <-ctx.Done():
		// Free the session so the next request is not refused as busy.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.CommandTimeout)
		_, _ = m.run(cctx, "AT+CUSD=2")
		cancel()
		return USSDResult{}, fmt.Errorf("ussd: wait for +CUSD: %w", ctx.Err())
	case <-m.Done():
		return USSDResult{}, fmt.Errorf("ussd: %w", m.closedErr())
	}
}

func parseCUSD(arg string, packed bool) USSDResult {
	f := splitFields(arg)
	r := USSDResult{DCS: -1}
	if len(f) > 0 {
		r.Status, _ = strconv.Atoi(f[0])
	}
	if len(f) > 2 {
		if d, err := strconv.Atoi(f[2]); err == nil {
			r.DCS = d
		}
	}
	if len(f) > 1 {
		r.Text = decodeUSSD(unquote(f[1]), r.DCS, packed)
	}
	return r
}

// decodeUSSD turns <str> into text according to <dcs> (TS 23.038 §5, CBS
// data coding): UCS-2 as hex for dcs 72 and the other UCS-2 codings, GSM
// 7-bit packed hex when the firmware does that (Huawei), else text already
// converted by the modem under AT+CSCS="GSM".
func decodeUSSD(s string, dcs int, packed bool) string {
	switch {
	case dcsIsUCS2(dcs):
		if d, ok := decodeUCS2Hex(s); ok {
			return d
		}
	case packed && dcsIsGSM7(dcs):
		if b, err := hex.DecodeString(s); err == nil {
			return unpackGSM7(b)
		}
	}
	return s
}

func dcsIsUCS2(dcs int) bool {
	switch {
	case dcs < 0:
		return false
	case dcs == 0x11: // UCS-2 preceded by a language
		return true
	case dcs&0xF0 == 0x40 || dcs&0xF0 == 0x50 || dcs&0xF0 == 0x90: // general data coding
		return dcs&0x0C == 0x08
	}
	return false
}

func dcsIsGSM7(dcs int) bool {
	switch {
	case dcs < 0:
		return true
	case dcs&0xF0 == 0x00, dcs&0xF0 == 0x20, dcs&0xF0 == 0x30, dcs == 0x10:
		return true
	case dcs&0xF0 == 0x40 || dcs&0xF0 == 0x50 || dcs&0xF0 == 0x90 || dcs&0xF0 == 0xF0:
		return dcs&0x0C == 0x00
	}
	return false
}

func decodeUCS2Hex(s string) (string, bool) {
	if len(s)%4 != 0 {
		return "", false
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", false
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u)), true
}

// gsm7Default is the GSM 7-bit default alphabet (TS 23.038 §6.2.1); 0x1B
// escapes to gsm7Ext.
var gsm7Default = []rune("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")

var gsm7Ext = map[byte]rune{
	0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\',
	0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€',
}

var errNotGSM7 = errors.New("character outside the gsm 7-bit alphabet")

// unpackGSM7 decodes packed septets. A trailing CR that only fills seven
// spare bits is dropped (TS 23.038 §6.1.2.3.1).
func unpackGSM7(b []byte) string {
	n := len(b) * 8 / 7
	septets := make([]byte, 0, n)
	for i := 0; i < n; i++ {
		bit := i * 7
		o, sh := bit/8, uint(bit%8)
		v := b[o] >> sh
		if sh > 1 && o+1 < len(b) {
			v |= b[o+1] << (8 - sh)
		}
		septets = append(septets, v&0x7F)
	}
	if len(b)*8%7 == 0 && n > 0 && septets[n-1] == '\r' {
		septets = septets[:n-1]
	}
	var sb strings.Builder
	for i := 0; i < len(septets); i++ {
		c := septets[i]
		if c == 0x1B && i+1 < len(septets) {
			i++
			if r, ok := gsm7Ext[septets[i]]; ok {
				sb.WriteRune(r)
				continue
			}
			sb.WriteRune(' ')
			continue
		}
		sb.WriteRune(gsm7Default[c])
	}
	return sb.String()
}

// packUSSD encodes s as packed GSM 7-bit hex, with the CR filler when seven
// bits would be left over (TS 23.038 §6.1.2.3.1).
func packUSSD(s string) (string, error) {
	var septets []byte
	for _, r := range s {
		c, ok := gsm7Index(r)
		if !ok {
			return "", fmt.Errorf("pack %q: %w", r, errNotGSM7)
		}
		septets = append(septets, c...)
	}
	// Seven spare bits would decode as '@': fill them with CR. A CR that
	// really ends the text on an octet boundary gets a second one, so the
	// receiver drops only the filler.
	if n := len(septets); n%8 == 7 || (n > 0 && n%8 == 0 && septets[n-1] == '\r') {
		septets = append(septets, '\r')
	}
	out := make([]byte, (len(septets)*7+7)/8)
	for i, c := range septets {
		bit := i * 7
		o, sh := bit/8, uint(bit%8)
		out[o] |= c << sh
		if sh > 1 {
			out[o+1] |= c >> (8 - sh)
		}
	}
	return strings.ToUpper(hex.EncodeToString(out)), nil
}

func gsm7Index(r rune) ([]byte, bool) {
	for i, c := range gsm7Default {
		if c == r && i != 0x1B {
			return []byte{byte(i)}, true
		}
	}
	for k, c := range gsm7Ext {
		if c == r {
			return []byte{0x1B, k}, true
		}
	}
	return nil, false
}
