package modem

import "time"

// A send ends with ErrSendUnknown when the modem took the whole PDU and
// did not answer, not even while settleSend brought the line back in step.
// A modem that hung for that long may still answer later — during the
// resync before the next command, or the escalation's — and its
// "+CMGS: <mr>" then says the SMS went out, with the reference its status
// report will carry. The engine hands such a stale "+CMGS:" line to the
// unsolicited handler; lateSendAnswer takes it for the last send of
// unknown outcome, and the Modem emits EventLateSendAnswer, so that the
// part can be given its MR and its report can match.
//
// It is tied only while no other AT+CMGS was written since (any "+CMGS"
// after that could be either send's) and for lateAnswerWindow at most.

// lateAnswerWindow bounds how long after an unknown outcome a "+CMGS" is
// still taken for it.
const lateAnswerWindow = 10 * time.Minute

// sendUnknown records that a send just ended with ErrSendUnknown.
func (m *Modem) sendUnknown() {
	m.mu.Lock()
	m.unknownAt = time.Now()
	m.mu.Unlock()
}

// sendStarts forgets the last unknown outcome: this send's answer could be
// taken for it.
func (m *Modem) sendStarts() {
	m.mu.Lock()
	m.unknownAt = time.Time{}
	m.mu.Unlock()
}

// lateSendAnswer returns the MR of line when it is a "+CMGS: <mr>" that
// answers the last send of unknown outcome, which it then forgets.
func (m *Modem) lateSendAnswer(line string) (int, bool) {
	if _, ok := cutPrefixFold(line, "+CMGS:"); !ok {
		return 0, false
	}
	mr, err := parseCMGS([]string{line})
	if err != nil {
		return 0, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.unknownAt.IsZero() || time.Since(m.unknownAt) > lateAnswerWindow {
		return 0, false
	}
	m.unknownAt = time.Time{}
	m.log.Warn("late +CMGS answer taken for the last send of unknown outcome", "mr", mr)
	return mr, true
}
