package modem

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
		m.useProfile(DetectProfile(firstValue(lines, "+CGMI:")))
	}
	if err := m.unlockSIM(ctx); err != nil {
		return err
	}
	if err := m.smsModeLocked(ctx); err != nil {
		return err
	}
	return m.notificationsLocked(ctx)
}

// smsModeLocked sets PDU mode, the GSM character set, the message service
// and learns the read storage.
func (m *Modem) smsModeLocked(ctx context.Context) error {
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
	return m.readStorageLocked(ctx)
}

// readStorageLocked learns the read storage (<mem1> of AT+CPMS?). A read
// storage of "SR" is what a process killed inside ReadStatusReport leaves
// behind (the setting outlives the port); reading the SMS that +CMTI
// announces in SM or ME would then fail for good, so the read storage goes
// back to the receive storage <mem3>, else ME, else SM (at-pdu.md §3.1).
func (m *Modem) readStorageLocked(ctx context.Context) error {
	lines, err := m.runLocked(ctx, "AT+CPMS?")
	if err != nil {
		if fatal(err) {
			return err
		}
		return nil
	}
	arg, ok := findLine(lines, "+CPMS:")
	if !ok {
		return nil
	}
	mems := parseCPMSMems(arg)
	mem := mems[0]
	if strings.EqualFold(mem, "SR") {
		if mem, err = m.leaveSRLocked(ctx, mems[2]); err != nil {
			return err
		}
	}
	m.mu.Lock()
	m.mem = mem
	m.mu.Unlock()
	return nil
}

// leaveSRLocked switches the read storage from "SR" to the first storage
// of recv (the receive storage), "ME" and "SM" that the modem accepts, and
// returns it; "SR" when it accepts none.
func (m *Modem) leaveSRLocked(ctx context.Context, recv string) (string, error) {
	var tried []string
	for _, mem := range []string{strings.ToUpper(recv), "ME", "SM"} {
		if mem == "" || mem == "SR" || slices.Contains(tried, mem) {
			continue
		}
		tried = append(tried, mem)
		_, err := m.runLocked(ctx, fmt.Sprintf(`AT+CPMS="%s"`, mem))
		if err == nil {
			m.log.Info("sms read storage was left at SR, switched back", "mem", mem)
			return mem, nil
		}
		if fatal(err) {
			return "", err
		}
	}
	m.log.Warn("sms read storage is SR and the modem accepts no other; stored sms cannot be read", "tried", strings.Join(tried, ","))
	return "SR", nil
}

// notificationsLocked asks for new-message and registration URCs and runs
// the profile's own commands.
func (m *Modem) notificationsLocked(ctx context.Context) error {
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

// syncLocked aborts a stale "> " prompt with ESC and brings the line in
// step: a marker command (package at, Resync) until one is answered, what
// came before it (the end of whatever the modem was doing) drained. A bare
// AT would not do: the late OK of an earlier command answers it, and every
// command after it would get the answer of the one before.
func (m *Modem) syncLocked(ctx context.Context) error {
	if err := m.eng.Write("\x1b"); err != nil {
		return err
	}
	if p := m.profile.Load(); p != nil && p.WakeTwice {
		// A sleeping SIM800 loses the characters that wake it up.
		if err := m.sleep(ctx, escSettle); err != nil {
			return err
		}
		if err := m.eng.Write("AT\r\n"); err != nil {
			return err
		}
	}
	if err := m.sleep(ctx, escSettle); err != nil {
		return err
	}
	stale, err := m.eng.Resync(ctx, syncTries, min(syncTimeout, m.cfg.CommandTimeout))
	if err != nil {
		if fatal(err) {
			return fmt.Errorf("sync: %w", err)
		}
		return fmt.Errorf("no answer to the sync markers: %w", err)
	}
	if len(stale) > 0 {
		m.log.Debug("stale lines before init", "lines", stale)
	}
	return nil
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
