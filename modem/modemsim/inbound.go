package modemsim

import "fmt"

// What the network sends the modem: held while the modem cannot take it,
// then routed by its +CNMI setting to storage (+CMTI, +CDSI) or straight
// to the port (+CMT, +CDS), acknowledged with +CNMA under AT+CSMS=1.

// receive takes an SMS-DELIVER or SMS-STATUS-REPORT from the network.
func (m *Modem) receive(in inbound) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if len(m.pending) >= maxPending {
		// The network gives up on the oldest, as an SC does when validity ends.
		m.log.Debug("network drops a held message", "held", len(m.pending))
		m.pending = m.pending[1:]
	}
	m.pending = append(m.pending, in)
	m.flushPendingLocked()
}

// maxPending bounds what the network holds for a modem that never frees
// its memory or never comes back.
const maxPending = 1024

// flushPendingLocked routes what the network holds for the modem, in order,
// as far as the modem can take it now.
func (m *Modem) flushPendingLocked() {
	for len(m.pending) > 0 {
		if !m.routeLocked(m.pending[0]) {
			return
		}
		m.pending = m.pending[1:]
	}
}

// routeLocked hands in to the host as AT+CNMI says (TS 27.005 §3.4.1). It
// returns false when the modem cannot take it yet: off, unregistered,
// waiting for +CNMA, or memory full (the network retries later, as after an
// RP-ERROR "memory capacity exceeded").
func (m *Modem) routeLocked(in inbound) bool {
	if m.closed || m.unplug || !m.registeredLocked() || m.st.ackWanted {
		return false
	}
	mode := m.st.cnmi[1] // mt
	if in.report {
		mode = m.st.cnmi[3] // ds
	}
	direct := (!in.report && mode == 2) || (in.report && mode == 1)
	if direct {
		prefix := "+CMT: ,"
		if in.report {
			prefix = "+CDS: "
		}
		m.queueURCLocked([]byte(fmt.Sprintf("\r\n%s%d\r\n%s\r\n", prefix, tpduLen(in.pdu), in.pdu)))
		if m.st.csms == 1 {
			m.st.ackWanted = true
			m.st.ackSeq++
			m.st.unacked = &in
			seq := m.st.ackSeq
			m.timers.after(m.knobs.ackTimeout, func() { m.ackExpired(seq) })
		}
		return true
	}
	mem := m.st.mem[2]
	if in.report {
		mem = "SR"
	}
	i := m.storeLocked(mem, &slot{stat: 0, pdu: in.pdu})
	if i == 0 && !in.report && m.knobs.overflow {
		mem = map[string]string{"SM": "ME", "ME": "SM"}[mem]
		if mem != "" {
			i = m.storeLocked(mem, &slot{stat: 0, pdu: in.pdu})
		}
	}
	if i == 0 {
		if !in.report && !m.memFull && m.knobs.memFullURC != "" {
			m.memFull = true
			m.queueLineLocked(m.knobs.memFullURC)
		}
		// An SC does not retry a status report that found no room.
		return in.report
	}
	notify := (!in.report && mode != 0) || (in.report && mode == 2)
	if notify {
		name := "+CMTI"
		if in.report {
			name = "+CDSI"
		}
		m.queueLineLocked(fmt.Sprintf("%s: %q,%d", name, mem, i))
	}
	return true
}

func (m *Modem) ackExpired(seq int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.st.ackWanted || m.st.ackSeq != seq {
		return
	}
	m.log.Debug("no +CNMA: direct routing off")
	m.st.ackWanted = false
	m.st.cnmi[1], m.st.cnmi[3] = 0, 0
	if m.st.unacked != nil {
		m.pending = append([]inbound{*m.st.unacked}, m.pending...)
		m.st.unacked = nil
	}
	m.flushPendingLocked()
}

// storeLocked stores s in the first free slot of mem and returns its
// 1-based index, 0 when mem is full.
func (m *Modem) storeLocked(mem string, s *slot) int {
	slots := m.mems[mem]
	for i := range slots {
		if slots[i] == nil {
			slots[i] = s
			return i + 1
		}
	}
	return 0
}
