package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/simgate/simgate/gsm7"
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
		// Trim, not unquote: a <str> cut short has only its opening quote.
		r.Text = decodeUSSD(strings.Trim(f[1], `"`), r.DCS, packed)
	}
	return r
}

var errNotGSM7 = errors.New("character outside the gsm 7-bit alphabet")

// unpackGSM7 decodes packed USSD septets, dropping the CR filler.
func unpackGSM7(b []byte) string { return gsm7.Decode(gsm7.UnpackUSSD(b), 0, 0) }

// packUSSD encodes s as packed GSM 7-bit hex, with the CR filler when seven
// bits would be left over.
func packUSSD(s string) (string, error) {
	septets, ok := gsm7.Septets(s)
	if !ok {
		return "", fmt.Errorf("pack %q: %w", s, errNotGSM7)
	}
	return strings.ToUpper(hex.EncodeToString(gsm7.PackUSSD(septets))), nil
}
