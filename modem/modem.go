package modem

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Init brings the modem to a known state: ESC and AT until it answers, echo
// off, numeric errors, the SIM unlocked, PDU mode, new-message indications
// (+CMTI, +CDSI or +CDS), registration URCs and the vendor profile's
// commands. Run it again after an EventReset.
func (m *Modem) Init(ctx context.Context) error {
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	defer m.unlock()
	if err := m.initLocked(ctx); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	return nil
}

const (
	syncTries   = 5
	syncTimeout = time.Second
	escSettle   = 100 * time.Millisecond
	simBusyWait = time.Second
	simTries    = 5
)

// cnmiFallbacks: store and notify (+CMTI) first, with status reports as
// +CDSI, then +CDS, then none; mode 1 for firmware without mode 2.
var cnmiFallbacks = []string{
	"AT+CNMI=2,1,0,2,0",
	"AT+CNMI=2,1,0,1,0",
	"AT+CNMI=1,1,0,2,0",
	"AT+CNMI=1,1,0,1,0",
	"AT+CNMI=2,1,0,0,0",
	"AT+CNMI=1,1,0,0,0",
}

func (m *Modem) initLocked(ctx context.Context) error {
	if err := m.syncLocked(ctx); err != nil {
		return err
	}
	if _, err := m.runLocked(ctx, "ATE0"); err != nil {
		return err
	}
	if _, err := m.runLocked(ctx, "AT+CMEE=1"); fatal(err) {
		return err
	}
	if m.cfg.Profile == nil {
		lines, err := m.runLocked(ctx, "AT+CGMI")
		if fatal(err) {
			return err
		}
		p := DetectProfile(firstValue(lines, "+CGMI:"))
		m.profile.Store(p)
	}
	if err := m.unlockSIM(ctx); err != nil {
		return err
	}
	if _, err := m.runLocked(ctx, "AT+CMGF=0"); err != nil {
		return err
	}
	if _, err := m.runLocked(ctx, `AT+CSCS="GSM"`); fatal(err) {
		return err
	}
	// Service 0: the modem acknowledges deliveries itself, so nothing is lost
	// on our side when +CNMA would come too late (TS 27.005 §3.2.1).
	m.needAck.Store(false)
	if _, err := m.runLocked(ctx, "AT+CSMS=0"); err != nil {
		if fatal(err) {
			return err
		}
		lines, err := m.runLocked(ctx, "AT+CSMS?")
		if fatal(err) {
			return err
		}
		if arg, ok := findLine(lines, "+CSMS:"); ok {
			f := splitFields(arg)
			m.needAck.Store(len(f) > 0 && f[0] == "1")
		}
	}
	if lines, err := m.runLocked(ctx, "AT+CPMS?"); err == nil {
		if arg, ok := findLine(lines, "+CPMS:"); ok {
			m.mu.Lock()
			m.mem = parseCPMSMem(arg)
			m.mu.Unlock()
		}
	} else if fatal(err) {
		return err
	}
	cnmi := ""
	for _, c := range cnmiFallbacks {
		_, err := m.runLocked(ctx, c)
		if err == nil {
			cnmi = c
			break
		}
		if fatal(err) {
			return err
		}
	}
	if cnmi == "" {
		m.log.Warn("modem refuses every AT+CNMI setting; new messages are only found by listing storage")
	}
	for _, c := range []string{"AT+CREG=2", "AT+CGREG=2", "AT+CEREG=2"} {
		if _, err := m.runLocked(ctx, c); fatal(err) {
			return err
		}
	}
	if p := m.profile.Load(); p != nil {
		for _, c := range p.InitCommands {
			if _, err := m.runLocked(ctx, c); fatal(err) {
				return err
			}
		}
	}
	return nil
}

// fatal tells the errors that end a command sequence (the port is gone, the
// caller gave up) from a modem refusing one optional command.
func fatal(err error) bool {
	return err != nil && (errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// syncLocked aborts a stale "> " prompt with ESC and sends AT until OK.
func (m *Modem) syncLocked(ctx context.Context) error {
	if err := m.write("\x1b"); err != nil {
		return err
	}
	// Whatever the aborted command still prints is dropped as a stray result
	// while no command is pending, instead of answering our first AT.
	if err := m.sleep(ctx, escSettle); err != nil {
		return err
	}
	if p := m.profile.Load(); p != nil && p.WakeTwice {
		// A sleeping SIM800 loses the characters that wake it up.
		if err := m.write("AT\r\n"); err != nil {
			return err
		}
		if err := m.sleep(ctx, escSettle); err != nil {
			return err
		}
	}
	var last error
	for range syncTries {
		_, err := m.exec(ctx, request{cmd: "AT", timeout: min(syncTimeout, m.cfg.CommandTimeout)})
		if err == nil {
			return nil
		}
		if fatal(err) {
			return fmt.Errorf("AT: %w", err)
		}
		last = err
	}
	return fmt.Errorf("no answer to AT: %w", last)
}

func (m *Modem) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-m.done:
		return m.closedErr()
	}
}

// unlockSIM checks AT+CPIN? and enters Config.PIN once when asked.
func (m *Modem) unlockSIM(ctx context.Context) error {
	pinSent := false
	for try := 0; ; try++ {
		lines, err := m.runLocked(ctx, "AT+CPIN?")
		switch {
		case errors.Is(err, ErrNoSIM):
			return fmt.Errorf("check sim: %w", ErrNoSIM)
		case errors.Is(err, CMEError{Code: 14}) || errors.Is(err, CMSError{Code: 314}):
			// SIM busy: it is still starting.
			if try >= simTries {
				return fmt.Errorf("check sim: %w", err)
			}
			if err := m.sleep(ctx, simBusyWait); err != nil {
				return err
			}
			continue
		case err != nil:
			return fmt.Errorf("check sim: %w", err)
		}
		state, _ := findLine(lines, "+CPIN:")
		switch strings.ToUpper(unquote(state)) {
		case "READY":
			return nil
		case "SIM PIN":
			if m.cfg.PIN == "" {
				return ErrPINRequired
			}
			if pinSent {
				// Accepted but not READY yet, or asked again: never retry a
				// PIN by ourselves, a SIM allows three tries.
				if try >= simTries {
					return fmt.Errorf("sim still asks for its pin after it was entered: %w", ErrPINRequired)
				}
				if err := m.sleep(ctx, simBusyWait); err != nil {
					return err
				}
				continue
			}
			pinSent = true
			if _, err := m.runLocked(ctx, fmt.Sprintf(`AT+CPIN="%s"`, m.cfg.PIN)); err != nil {
				return fmt.Errorf("enter sim pin: %w", errors.Join(ErrPINRequired, redactPIN(err, m.cfg.PIN)))
			}
		case "SIM PUK":
			return ErrPUKRequired
		default:
			return fmt.Errorf("sim locked (%s): %w", state, ErrPINRequired)
		}
	}
}

// redactPIN keeps the PIN out of error texts (the command is in them).
func redactPIN(err error, pin string) error {
	if pin == "" || !strings.Contains(err.Error(), pin) {
		return err
	}
	return redacted{err: err, text: strings.ReplaceAll(err.Error(), pin, "****")}
}

type redacted struct {
	err  error
	text string
}

func (r redacted) Error() string { return r.text }
func (r redacted) Unwrap() error { return r.err }

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
	optional := func(cmd string, prefixes ...string) ([]string, error) {
		lines, err := m.runLocked(ctx, cmd, prefixes...)
		if fatal(err) {
			return nil, err
		}
		if err != nil {
			return nil, nil
		}
		return lines, nil
	}
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
		lines, err := optional(f.cmd)
		if err != nil {
			return id, fmt.Errorf("identity: %w", err)
		}
		*f.dst = firstValue(lines, f.prefix, "Revision:", "Manufacturer:", "Model:")
	}
	for _, cmd := range []string{"AT+CGSN", "AT+GSN"} {
		lines, err := optional(cmd)
		if err != nil {
			return id, fmt.Errorf("identity: %w", err)
		}
		if imei, ok := parseIMEI(lines); ok {
			id.IMEI = imei
			break
		}
	}
	var iccidCmds []string
	if p := m.profile.Load(); p != nil {
		iccidCmds = append(iccidCmds, p.ICCIDCommands...)
	}
	iccidCmds = append(iccidCmds, "AT+CCID", "AT+ICCID", "AT+QCCID", "AT+CICCID", "AT^ICCID?")
	seen := map[string]bool{}
	for _, cmd := range iccidCmds {
		if seen[cmd] {
			continue
		}
		seen[cmd] = true
		lines, err := optional(cmd, "+CCID:", "+ICCID:", "^ICCID:", "+QCCID:", "+CICCID:")
		if err != nil {
			return id, fmt.Errorf("identity: %w", err)
		}
		if iccid, ok := parseICCID(lines); ok {
			id.ICCID = iccid
			break
		}
	}
	lines, err := optional("AT+CNUM")
	if err != nil {
		return id, fmt.Errorf("identity: %w", err)
	}
	for _, l := range lines {
		if arg, ok := cutPrefixFold(l, "+CNUM:"); ok {
			if f := splitFields(arg); len(f) >= 2 {
				typ := ""
				if len(f) >= 3 {
					typ = f[2]
				}
				if id.Number = parseNumber(f[1], typ); id.Number != "" {
					break
				}
			}
		}
	}
	if id.IMEI == "" {
		return id, fmt.Errorf("identity: no imei in the answer to AT+CGSN: %w", ErrCommandFailed)
	}
	return id, nil
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

// SMSC reads the service centre address used for PDUs with an empty SMSC
// (AT+CSCA?).
func (m *Modem) SMSC(ctx context.Context) (string, error) {
	lines, err := m.run(ctx, "AT+CSCA?")
	if err != nil {
		return "", fmt.Errorf("smsc: %w", err)
	}
	arg, ok := findLine(lines, "+CSCA:")
	if !ok {
		return "", fmt.Errorf("smsc: no +CSCA line in %q: %w", lines, ErrCommandFailed)
	}
	f := splitFields(arg)
	typ := ""
	if len(f) > 1 {
		typ = f[1]
	}
	return parseNumber(f[0], typ), nil
}

// SetSMSC sets the service centre address: "+<digits>" is international
// (type 145), bare digits national (129).
func (m *Modem) SetSMSC(ctx context.Context, number string) error {
	digits, typ := strings.TrimPrefix(number, "+"), 129
	if strings.HasPrefix(number, "+") {
		typ = 145
	}
	if !isDigits(digits) || len(digits) > 20 {
		return fmt.Errorf("set smsc: invalid number %q", number)
	}
	if _, err := m.run(ctx, fmt.Sprintf(`AT+CSCA="%s",%d`, number, typ)); err != nil {
		return fmt.Errorf("set smsc: %w", err)
	}
	return nil
}

// SendPDU sends one SMS-SUBMIT: AT+CMGS=<tpduLen>, the "> " prompt, the PDU
// hex (SMSC prefix included, "00" for the modem's SMSC) and Ctrl-Z. It
// returns the <mr> of +CMGS, the reference status reports will carry. When
// ctx ends after the PDU was written the SMS may still have gone out.
func (m *Modem) SendPDU(ctx context.Context, tpduLen int, pduHex string) (int, error) {
	if err := checkPDU(tpduLen, pduHex); err != nil {
		return 0, fmt.Errorf("send pdu: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return 0, fmt.Errorf("send pdu: %w", err)
	}
	defer m.unlock()
	cmd := "AT+CMGS=" + strconv.Itoa(tpduLen)
	lines, err := m.exec(ctx, request{
		cmd:     cmd,
		timeout: m.cfg.SendTimeout,
		pdu:     strings.ToUpper(pduHex),
		prompt:  m.cfg.PromptTimeout,
	})
	if err != nil {
		return 0, fmt.Errorf("send pdu: %s: %w", cmd, err)
	}
	arg, ok := findLine(lines, "+CMGS:")
	if !ok {
		return 0, fmt.Errorf("send pdu: no +CMGS line in %q: %w", lines, ErrCommandFailed)
	}
	f := splitFields(arg)
	mr, err := strconv.Atoi(f[0])
	if err != nil {
		return 0, fmt.Errorf("send pdu: bad +CMGS %q: %w", arg, ErrCommandFailed)
	}
	return mr, nil
}

// checkPDU refuses a PDU whose length does not match tpduLen: the modem
// would wait for more characters, or cut the PDU, and fail late.
func checkPDU(tpduLen int, pduHex string) error {
	if tpduLen < 1 || tpduLen > 255 {
		return fmt.Errorf("tpdu length %d out of range", tpduLen)
	}
	if len(pduHex)%2 != 0 || !isHex(pduHex) {
		return fmt.Errorf("pdu is not hex")
	}
	if !pduMatchesLength(pduHex, tpduLen) {
		return fmt.Errorf("pdu of %d octets does not hold an smsc prefix and a tpdu of %d octets", len(pduHex)/2, tpduLen)
	}
	return nil
}

// StoredMessage is an SMS (deliver, submit or status report) in the
// modem's storage, as +CMGL/+CMGR print it in PDU mode.
type StoredMessage struct {
	Index int
	// Stat is 0 received unread, 1 received read, 2 stored unsent, 3 stored sent.
	Stat int
	Mem  string // storage ("SM", "ME", "SR"…) when known
	PDU  string // hex, SMSC prefix included
}

// ListMessages lists every stored message (AT+CMGL=4) in the read storage.
func (m *Modem) ListMessages(ctx context.Context) ([]StoredMessage, error) {
	lines, err := m.run(ctx, "AT+CMGL=4")
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	m.mu.Lock()
	mem := m.mem
	m.mu.Unlock()
	return parseCMGL(lines, mem), nil
}

func parseCMGL(lines []string, mem string) []StoredMessage {
	var out []StoredMessage
	for i := 0; i < len(lines); i++ {
		arg, ok := cutPrefixFold(lines[i], "+CMGL:")
		if !ok {
			continue
		}
		f := splitFields(arg)
		if len(f) < 2 {
			continue
		}
		idx, err1 := strconv.Atoi(f[0])
		stat, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			continue
		}
		sm := StoredMessage{Index: idx, Stat: stat, Mem: mem}
		if i+1 < len(lines) && isHex(lines[i+1]) {
			sm.PDU = strings.ToUpper(lines[i+1])
			i++
		}
		out = append(out, sm)
	}
	return out
}

// ReadMessage reads the message at index of the read storage (AT+CMGR). An
// empty slot gives an error matching ErrNoMessage.
func (m *Modem) ReadMessage(ctx context.Context, index int) (StoredMessage, error) {
	if err := m.lock(ctx); err != nil {
		return StoredMessage{}, fmt.Errorf("read message %d: %w", index, err)
	}
	defer m.unlock()
	m.mu.Lock()
	mem := m.mem
	m.mu.Unlock()
	sm, err := m.readLocked(ctx, mem, index)
	if err != nil {
		return sm, fmt.Errorf("read message %d: %w", index, err)
	}
	return sm, nil
}

func (m *Modem) readLocked(ctx context.Context, mem string, index int) (StoredMessage, error) {
	lines, err := m.runLocked(ctx, "AT+CMGR="+strconv.Itoa(index))
	if err != nil {
		return StoredMessage{}, err
	}
	for i, l := range lines {
		arg, ok := cutPrefixFold(l, "+CMGR:")
		if !ok {
			continue
		}
		f := splitFields(arg)
		stat, err := strconv.Atoi(f[0])
		if err != nil || i+1 >= len(lines) || !isHex(lines[i+1]) {
			break
		}
		return StoredMessage{Index: index, Stat: stat, Mem: mem, PDU: strings.ToUpper(lines[i+1])}, nil
	}
	return StoredMessage{}, ErrNoMessage
}

// DeleteMessage deletes the message at index of the read storage (AT+CMGD).
func (m *Modem) DeleteMessage(ctx context.Context, index int) error {
	if _, err := m.run(ctx, "AT+CMGD="+strconv.Itoa(index)); err != nil {
		return fmt.Errorf("delete message %d: %w", index, err)
	}
	return nil
}

// ReadStatusReport reads and deletes the status report a +CDSI announced:
// it switches the read storage to mem (AT+CPMS), reads, deletes and switches
// back, holding the command line so nothing else reads the wrong storage.
func (m *Modem) ReadStatusReport(ctx context.Context, mem string, index int) (StoredMessage, error) {
	if err := m.lock(ctx); err != nil {
		return StoredMessage{}, fmt.Errorf("read status report %s/%d: %w", mem, index, err)
	}
	defer m.unlock()
	sm, err := m.readStatusReportLocked(ctx, mem, index)
	if err != nil {
		return sm, fmt.Errorf("read status report %s/%d: %w", mem, index, err)
	}
	return sm, nil
}

func (m *Modem) readStatusReportLocked(ctx context.Context, mem string, index int) (StoredMessage, error) {
	prev := ""
	lines, err := m.runLocked(ctx, "AT+CPMS?")
	if err != nil {
		return StoredMessage{}, err
	}
	if arg, ok := findLine(lines, "+CPMS:"); ok {
		prev = parseCPMSMem(arg)
	}
	switched := mem != "" && !strings.EqualFold(mem, prev)
	if switched {
		if _, err := m.runLocked(ctx, fmt.Sprintf(`AT+CPMS="%s"`, mem)); err != nil {
			return StoredMessage{}, err
		}
		defer func() {
			if prev == "" {
				return
			}
			// Restore even when ctx ended: the storage setting outlives us.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.CommandTimeout)
			defer cancel()
			if _, err := m.runLocked(rctx, fmt.Sprintf(`AT+CPMS="%s"`, prev)); err != nil {
				m.log.Warn("restore sms storage", "mem", prev, "err", err)
			}
		}()
	}
	sm, err := m.readLocked(ctx, mem, index)
	if err != nil {
		return sm, err
	}
	if _, err := m.runLocked(ctx, "AT+CMGD="+strconv.Itoa(index)); err != nil {
		return sm, err
	}
	return sm, nil
}
