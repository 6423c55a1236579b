package modemsim

import (
	"strings"
	"time"
)

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

// SetOKBeforePrompt makes AT+CMGS print a stray OK just before its "> "
// prompt, as when the late answer to an earlier command arrives then. The
// prompt is open all the same: a host that takes the OK for the end of the
// command leaves the modem typing a PDU.
func (m *Modem) SetOKBeforePrompt(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.okPrompt = on
}

// answerDelayLocked is the delay set for the command line, 0 when none.
func (m *Modem) answerDelayLocked(line string) time.Duration {
	if len(m.knobs.delays) == 0 || len(line) < 2 {
		return 0
	}
	body := strings.ToUpper(line[2:])
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
