package modemsim

import (
	"errors"
	"strings"
	"time"
)

// errNotOnPTY: only a modem on a pty can come back on another one.
var errNotOnPTY = errors.New("modemsim: modem is not on a pty")

// HangMode says how a hung virtual modem gets well again (SetHang). Any
// boot (Reset, AT+CFUN=1,1, Replug, Reenumerate) cures every mode.
type HangMode int

// Hang modes, from the mildest to the worst.
const (
	// HangOff: the modem answers.
	HangOff HangMode = iota
	// HangUntilReset: no answer, no echo, to any command line except one
	// holding +CFUN, which runs: AT+CFUN=1,1 reboots the modem, which cures
	// it. Plain "AT" gets no answer either.
	HangUntilReset
	// HangUntilReopen: no answer to anything until the host opens the port
	// again (on a pty, the input flush a serial library does at open; on a
	// pipe, a new Pipe or Serve).
	HangUntilReopen
	// HangUntilPowerCycle: no answer to anything until a boot: Reset,
	// Replug or Reenumerate (what a USB reset does to a real modem).
	HangUntilPowerCycle
)

// String names the mode as "simgate sim" takes it.
func (h HangMode) String() string {
	switch h {
	case HangUntilReset:
		return "until-reset"
	case HangUntilReopen:
		return "until-reopen"
	case HangUntilPowerCycle:
		return "until-power-cycle"
	}
	return "off"
}

// SetHang makes the modem stop answering until what mode says cures it.
// Unsolicited lines still come, as from a modem whose command parser is
// stuck while its radio works.
func (m *Modem) SetHang(mode HangMode) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.hang = mode
}

// Hang returns the current hang mode (HangOff once cured).
func (m *Modem) Hang() HangMode {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.knobs.hang
}

// SetReenumerateOnReset makes AT+CFUN=1,1 drop the modem off its port,
// before any answer, and bring it back on another pty, as a USB modem
// re-enumerates on a reset (ttyUSB2 may come back as ttyUSB5). Only a modem
// on a pty does so.
func (m *Modem) SetReenumerateOnReset(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.reenumerate = on
}

// SetMemoryFullURC sets the unsolicited line the modem sends when a
// message finds its receive storage full ("^SMMEMFULL: \"SM\"" on Huawei,
// "+CIEV: \"SMSFULL\",1" elsewhere); "" (the default) sends none. It is
// sent once until a deletion frees a slot.
func (m *Modem) SetMemoryFullURC(line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.memFullURC = line
}

// SetStorageOverflow makes a message that finds the receive storage full
// go to the other one (SM ↔ ME), as modems with the combined "MT" storage
// do; +CMTI names the storage it went to.
func (m *Modem) SetStorageOverflow(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.overflow = on
}

// Store puts pdu (hex, SMSC prefix included) into memory mem ("SM", "ME"
// or "SR") as a received unread message, as if it arrived while no host
// listened, and returns its 1-based index; 0 when mem is full or unknown.
func (m *Modem) Store(mem, pdu string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.mems[mem]; !ok {
		return 0
	}
	return m.storeLocked(mem, &slot{stat: 0, pdu: strings.ToUpper(pdu)})
}

// hungLocked reports whether the modem ignores line.
func (m *Modem) hungLocked(line string) bool {
	switch m.knobs.hang {
	case HangOff:
		return false
	case HangUntilReset:
		return !strings.Contains(strings.ToUpper(line), "+CFUN")
	}
	return true
}

// hostOpened notes that the host opened the port again: it cures
// HangUntilReopen.
func (m *Modem) hostOpened() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.knobs.hang == HangUntilReopen {
		m.log.Debug("host reopened the port: answering again")
		m.knobs.hang = HangOff
	}
}

// The knobs below make a modem misbehave the way real ones do on a bad
// day, so that a host can be tested against answers that come late, never
// or out of turn. Like the others they are safe to turn while a host is
// connected and survive a power cycle.

// SetAnswerDelay makes the modem take d before it answers a command line
// that starts with command ("+CSQ", "+CMGS"; 0 removes the delay). The
// modem is busy meanwhile, as a real one is: what the host writes waits in
// the line and is read afterwards, so a host that gave up on the answer
// gets it late, before the answer to whatever it wrote next. For AT+CMGS
// the delay comes before the prompt.
func (m *Modem) SetAnswerDelay(command string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := commandName(command)
	if d <= 0 {
		delete(m.knobs.delays, name)
		return
	}
	m.knobs.delays[name] = d
}

// DelayNextAnswer is SetAnswerDelay for the next command line that starts
// with command only: one answer comes d late (a health check's, say), the
// ones after it on time.
func (m *Modem) DelayNextAnswer(command string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.knobs.delayOnce == nil {
		m.knobs.delayOnce = map[string]time.Duration{}
	}
	name := commandName(command)
	if d <= 0 {
		delete(m.knobs.delayOnce, name)
		return
	}
	m.knobs.delayOnce[name] = d
}

// SetLateAnswer makes the modem hold its answer to a command line that
// starts with command ("+CSQ"; for "+CMGS" the result after the PDU, not
// the prompt) until the host writes anything else, and print it then,
// before it reads what the host wrote: the answer a host gave up on
// arrives exactly while it waits for the next one. Unlike SetAnswerDelay
// it involves no clock, so a test of it cannot race.
func (m *Modem) SetLateAnswer(command string, on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := commandName(command)
	if !on {
		delete(m.knobs.late, name)
		return
	}
	m.knobs.late[name] = true
}

// SetLoseSendAnswer makes the modem send each SMS (the network records it)
// but never print its +CMGS and OK, as when the answer is lost on the line:
// a host cannot tell whether the message went out.
func (m *Modem) SetLoseSendAnswer(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.loseSend = on
}

// LoseNextSendAnswers makes the modem send the next n SMS but lose their
// +CMGS and OK, as SetLoseSendAnswer does, and answer the ones after: a
// test needs no clock to let the resend through.
func (m *Modem) LoseNextSendAnswers(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.loseNext = max(n, 0)
}

// FailNextSends makes the modem answer the next n sends, to any number,
// with +CMS ERROR: code (nothing reaches the network) and send the ones
// after: a network that times out for a while, with no clock to race.
func (m *Modem) FailNextSends(code, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.failCode, m.knobs.failNext = code, max(n, 0)
}

// SetOKBeforePrompt makes AT+CMGS print a stray OK just before its "> "
// prompt, as when the late answer to an earlier command arrives then. The
// prompt is open all the same: a host that takes the OK for the end of the
// command leaves the modem typing a PDU.
func (m *Modem) SetOKBeforePrompt(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.okPrompt = on
}

// answerDelayLocked is the delay set for the command line, 0 when none;
// a DelayNextAnswer it matches is used up.
func (m *Modem) answerDelayLocked(line string) time.Duration {
	if len(m.knobs.delays)+len(m.knobs.delayOnce) == 0 || len(line) < 2 {
		return 0
	}
	body := strings.ToUpper(line[2:])
	for name, d := range m.knobs.delayOnce {
		if strings.HasPrefix(body, name) {
			delete(m.knobs.delayOnce, name)
			return d
		}
	}
	for name, d := range m.knobs.delays {
		if strings.HasPrefix(body, name) {
			return d
		}
	}
	return 0
}

// lateAnswerLocked tells whether the answer to the command line is held
// (SetLateAnswer).
func (m *Modem) lateAnswerLocked(line string) bool {
	if len(m.knobs.late) == 0 || len(line) < 2 {
		return false
	}
	body := strings.ToUpper(line[2:])
	for name := range m.knobs.late {
		if strings.HasPrefix(body, name) {
			return true
		}
	}
	return false
}

// commandName is the upper-case command name a knob is keyed on: "+CSQ"
// for "AT+CSQ" or "+csq".
func commandName(command string) string {
	return strings.TrimPrefix(strings.ToUpper(command), "AT")
}

// SetEcho turns the modem's command echo on or off, as ATE1/ATE0 would,
// without the host asking: some modems turn echo back on after a firmware
// hiccup, and a host must not take its own command line for an answer.
// A power cycle turns it on as well.
func (m *Modem) SetEcho(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.echo = on
}

// ReceivePDU hands the modem an SMS-DELIVER PDU (hex, SMSC prefix
// included) exactly as given, as the network does with what an SMSC
// sent: it may bend the spec (user data longer than its length says) or
// not decode at all. It is held while the modem cannot take it and then
// routed as +CNMI says, like Deliver's.
func (m *Modem) ReceivePDU(hexPDU string) {
	m.receive(inbound{pdu: strings.ToUpper(hexPDU)})
}
