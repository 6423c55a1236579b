package modem

import (
	"context"
	"errors"
	"fmt"
)

// Identity describes the modem and its SIM.
type Identity struct {
	Manufacturer, Model, Revision string
	IMEI                          string
	IMSI, ICCID                   string // empty when the SIM is locked or absent
	Number                        string // from AT+CNUM; often empty, SIMs rarely store it
}

// Identity reads manufacturer, model, firmware, IMEI, IMSI, ICCID and the
// SIM's own number. Only the IMEI is required; missing optional answers
// leave their fields empty.
func (m *Modem) Identity(ctx context.Context) (Identity, error) {
	if err := m.lock(ctx); err != nil {
		return Identity{}, fmt.Errorf("identity: %w", err)
	}
	defer m.unlock()
	var id Identity
	steps := []func(context.Context, *Identity) error{m.readNames, m.readIMEI, m.readICCID, m.readNumber}
	for _, step := range steps {
		if err := step(ctx, &id); err != nil {
			return id, fmt.Errorf("identity: %w", err)
		}
	}
	if id.IMEI == "" {
		return id, fmt.Errorf("identity: no imei in the answer to AT+CGSN: %w", ErrCommandFailed)
	}
	return id, nil
}

// optionalLocked runs a command whose refusal only leaves a field empty:
// it returns no lines and no error then, and an error only when fatal.
func (m *Modem) optionalLocked(ctx context.Context, cmd string, prefixes ...string) ([]string, error) {
	lines, err := m.runLocked(ctx, cmd, prefixes...)
	if fatal(err) {
		return nil, err
	}
	if err != nil {
		return nil, nil
	}
	return lines, nil
}

func (m *Modem) readNames(ctx context.Context, id *Identity) error {
	fields := []struct {
		cmd    string
		prefix string
		dst    *string
	}{
		{"AT+CGMI", "+CGMI:", &id.Manufacturer},
		{"AT+CGMM", "+CGMM:", &id.Model},
		{"AT+CGMR", "+CGMR:", &id.Revision},
		{"AT+CIMI", "+CIMI:", &id.IMSI},
	}
	for _, f := range fields {
		lines, err := m.optionalLocked(ctx, f.cmd)
		if err != nil {
			return err
		}
		*f.dst = firstValue(lines, f.prefix, "Revision:", "Manufacturer:", "Model:")
	}
	return nil
}

func (m *Modem) readIMEI(ctx context.Context, id *Identity) error {
	for _, cmd := range []string{"AT+CGSN", "AT+GSN"} {
		lines, err := m.optionalLocked(ctx, cmd)
		if err != nil {
			return err
		}
		if imei, ok := parseIMEI(lines); ok {
			id.IMEI = imei
			return nil
		}
	}
	return nil
}

// readICCID tries the profile's ICCID command first, then every vendor's.
func (m *Modem) readICCID(ctx context.Context, id *Identity) error {
	var cmds []string
	if p := m.profile.Load(); p != nil {
		cmds = append(cmds, p.ICCIDCommands...)
	}
	cmds = append(cmds, "AT+CCID", "AT+ICCID", "AT+QCCID", "AT+CICCID", "AT^ICCID?")
	seen := map[string]bool{}
	for _, cmd := range cmds {
		if seen[cmd] {
			continue
		}
		seen[cmd] = true
		lines, err := m.optionalLocked(ctx, cmd, "+CCID:", "+ICCID:", "^ICCID:", "+QCCID:", "+CICCID:")
		if err != nil {
			return err
		}
		if iccid, ok := parseICCID(lines); ok {
			id.ICCID = iccid
			return nil
		}
	}
	return nil
}

func (m *Modem) readNumber(ctx context.Context, id *Identity) error {
	lines, err := m.optionalLocked(ctx, "AT+CNUM")
	if err != nil {
		return err
	}
	for _, l := range lines {
		arg, ok := cutPrefixFold(l, "+CNUM:")
		if !ok {
			continue
		}
		if f := splitFields(arg); len(f) >= 2 {
			typ := ""
			if len(f) >= 3 {
				typ = f[2]
			}
			if id.Number = parseNumber(f[1], typ); id.Number != "" {
				return nil
			}
		}
	}
	return nil
}

// Signal reads the signal strength with AT+CSQ.
func (m *Modem) Signal(ctx context.Context) (Signal, error) {
	lines, err := m.run(ctx, "AT+CSQ")
	if err != nil {
		return Signal{}, fmt.Errorf("signal: %w", err)
	}
	arg, ok := findLine(lines, "+CSQ:")
	if !ok {
		return Signal{}, fmt.Errorf("signal: no +CSQ line in %q: %w", lines, ErrCommandFailed)
	}
	s, ok := parseCSQ(arg)
	if !ok {
		return Signal{}, fmt.Errorf("signal: bad +CSQ %q: %w", arg, ErrCommandFailed)
	}
	return s, nil
}

// Registration queries +CREG, +CGREG and +CEREG. Modems that lack one of
// them are fine; it fails only when all three fail.
func (m *Modem) Registration(ctx context.Context) (Registration, error) {
	if err := m.lock(ctx); err != nil {
		return Registration{}, fmt.Errorf("registration: %w", err)
	}
	defer m.unlock()
	var got [3]*regLine
	var firstErr error
	for i, p := range []string{"+CREG", "+CGREG", "+CEREG"} {
		lines, err := m.runLocked(ctx, "AT"+p+"?")
		if fatal(err) {
			return Registration{}, fmt.Errorf("registration: %w", err)
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			if errors.Is(err, ErrTimeout) {
				break // no answer: the next would wait as long for nothing
			}
			continue
		}
		if arg, ok := findLine(lines, p+":"); ok {
			if r, ok := parseRegLine(arg, true); ok {
				got[i] = &r
			}
		}
	}
	if got[0] == nil && got[1] == nil && got[2] == nil {
		if firstErr == nil {
			firstErr = ErrCommandFailed
		}
		return Registration{}, fmt.Errorf("registration: %w", firstErr)
	}
	return combineRegistration(got[0], got[1], got[2]), nil
}

// Operator reads the operator's long name and access technology
// (AT+COPS=3,0 then AT+COPS?).
func (m *Modem) Operator(ctx context.Context) (Operator, error) {
	if err := m.lock(ctx); err != nil {
		return Operator{}, fmt.Errorf("operator: %w", err)
	}
	defer m.unlock()
	if _, err := m.runLocked(ctx, "AT+COPS=3,0"); fatal(err) {
		return Operator{}, fmt.Errorf("operator: %w", err)
	}
	lines, err := m.runLocked(ctx, "AT+COPS?")
	if err != nil {
		return Operator{}, fmt.Errorf("operator: %w", err)
	}
	arg, ok := findLine(lines, "+COPS:")
	if !ok {
		return Operator{}, fmt.Errorf("operator: no +COPS line in %q: %w", lines, ErrCommandFailed)
	}
	return parseCOPS(arg), nil
}
