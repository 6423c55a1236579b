package modem

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/simgate/simgate/modem/at"
)

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
// returns the <mr> of +CMGS, the reference status reports will carry. A
// send that gets no final result is settled at once (settleSend): a late
// +CMGS is still its MR; without any answer the error wraps ErrSendUnknown.
func (m *Modem) SendPDU(ctx context.Context, tpduLen int, pduHex string) (int, error) {
	return m.sendPDU(ctx, tpduLen, pduHex, false)
}

// SendSecretPDU is SendPDU for a PDU whose text is a secret (a one-time
// code): the debug trace shows only the lengths of the PDU and its echo.
func (m *Modem) SendSecretPDU(ctx context.Context, tpduLen int, pduHex string) (int, error) {
	return m.sendPDU(ctx, tpduLen, pduHex, true)
}

func (m *Modem) sendPDU(ctx context.Context, tpduLen int, pduHex string, secret bool) (int, error) {
	if err := checkPDU(tpduLen, pduHex); err != nil {
		return 0, fmt.Errorf("send pdu: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return 0, fmt.Errorf("send pdu: %w", err)
	}
	defer m.unlock()
	cmd := "AT+CMGS=" + strconv.Itoa(tpduLen)
	if m.eng.OutOfStep() {
		// In step first, while a late answer to the last send of unknown
		// outcome may still come and be tied to it (late.go).
		if _, err := m.eng.Resync(ctx, 0, 0); err != nil {
			return 0, fmt.Errorf("send pdu: before %s: %w", cmd, err)
		}
	}
	m.sendStarts()
	lines, err := m.exec(ctx, at.Request{
		Command:       cmd,
		Timeout:       m.cfg.SendTimeout,
		PDU:           strings.ToUpper(pduHex),
		PromptTimeout: m.cfg.PromptTimeout,
		Redact:        secret,
	})
	if err != nil {
		return m.settleSend(ctx, cmd, err)
	}
	mr, err := parseCMGS(lines)
	if err != nil {
		return 0, fmt.Errorf("send pdu: %w", err)
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

// ListStatusReports lists every status report in the status-report storage
// "SR" (AT+CMGL=4 with "SR" as the read storage, switched and switched back
// under one hold of the command line), with Mem "SR": reports that arrived
// while nobody listened, or whose +CDSI was lost. Delete them with
// DeleteStatusReport. A modem without an SR storage (it refuses
// AT+CPMS="SR"), or with SR as its read storage already (ListMessages lists
// it then), gives none; a refused listing gives none too, logged. Errors are
// only a lost port or ctx.
func (m *Modem) ListStatusReports(ctx context.Context) ([]StoredMessage, error) {
	var list []StoredMessage
	err := m.inStorage(ctx, "SR", func(switched bool) error {
		if !switched {
			return nil
		}
		lines, err := m.runLocked(ctx, "AT+CMGL=4")
		if err != nil {
			return err
		}
		list = parseCMGL(lines, "SR")
		return nil
	})
	var se storageError
	switch {
	case err == nil:
		return list, nil
	case fatal(err):
		return nil, fmt.Errorf("list status reports: %w", err)
	case errors.As(err, &se):
		m.log.Debug("no status-report storage", "err", err)
	default:
		m.log.Warn("list status reports", "err", err)
	}
	return nil, nil
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

// ReadStatusReport reads the status report a +CDSI announced at mem/index
// and leaves it there: delete it with DeleteStatusReport once it is
// committed. It switches the read storage to mem (AT+CPMS), reads and
// switches back, holding the command line so nothing else reads the wrong
// storage.
func (m *Modem) ReadStatusReport(ctx context.Context, mem string, index int) (StoredMessage, error) {
	var sm StoredMessage
	err := m.inStorage(ctx, mem, func(bool) error {
		var err error
		sm, err = m.readLocked(ctx, mem, index)
		return err
	})
	if err != nil {
		return sm, fmt.Errorf("read status report %s/%d: %w", mem, index, err)
	}
	return sm, nil
}

// DeleteStatusReport deletes the status report at mem/index, switching the
// storage as ReadStatusReport does.
func (m *Modem) DeleteStatusReport(ctx context.Context, mem string, index int) error {
	err := m.inStorage(ctx, mem, func(bool) error {
		_, err := m.runLocked(ctx, "AT+CMGD="+strconv.Itoa(index))
		return err
	})
	if err != nil {
		return fmt.Errorf("delete status report %s/%d: %w", mem, index, err)
	}
	return nil
}

// inStorage runs fn, the command line held, with mem as the read storage:
// it switches to mem when it is not the read storage already and switches
// back afterwards. fn learns whether it switched. A refused switch is a
// storageError.
func (m *Modem) inStorage(ctx context.Context, mem string, fn func(switched bool) error) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.unlock()
	prev := ""
	lines, err := m.runLocked(ctx, "AT+CPMS?")
	if err != nil {
		return err
	}
	if arg, ok := findLine(lines, "+CPMS:"); ok {
		prev = parseCPMSMem(arg)
	}
	if mem == "" || strings.EqualFold(mem, prev) {
		return fn(false)
	}
	if _, err := m.runLocked(ctx, fmt.Sprintf(`AT+CPMS="%s"`, mem)); err != nil {
		return storageError{err: err}
	}
	if prev != "" {
		defer func() {
			// Restore even when ctx ended: the storage setting outlives us.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.CommandTimeout)
			defer cancel()
			if _, err := m.runLocked(rctx, fmt.Sprintf(`AT+CPMS="%s"`, prev)); err != nil {
				m.log.Warn("restore sms storage", "mem", prev, "err", err)
			}
		}()
	}
	return fn(true)
}

// storageError is the modem refusing AT+CPMS="<mem>": most often it has no
// such storage. err names the command already.
type storageError struct{ err error }

func (e storageError) Error() string { return e.err.Error() }
func (e storageError) Unwrap() error { return e.err }
