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

// SetAnswerDelay delays the answer to every command line by d, as a busy
// or wedged modem answers late; 0 turns it off. Input typed meanwhile waits.
func (m *Modem) SetAnswerDelay(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.answerDelay = d
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
