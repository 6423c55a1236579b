package modemsim

import (
	"fmt"
	"slices"
	"strings"
)

// The SMS commands of TS 27.005 (service, storage, indications, send,
// list, read, delete) as the virtual modem answers them.

func cmdCSMS(m *Modem, r *reply, c command) error {
	switch c.op {
	case opRead:
		r.lines(fmt.Sprintf("+CSMS: %d,1,1,1", m.st.csms))
	case opTest:
		r.lines("+CSMS: (0,1)")
	case opSet:
		v, err := c.intArg(0, 0)
		if err != nil || v < 0 || v > 1 {
			return cmsError(302)
		}
		m.st.csms = v
		r.lines("+CSMS: 1,1,1")
	default:
		return errPlain
	}
	return nil
}

func cmdCSCA(m *Modem, r *reply, c command) error {
	switch c.op {
	case opRead:
		r.lines(fmt.Sprintf("+CSCA: %q,%d", m.smsc, toa(m.smsc)))
	case opTest:
	case opSet:
		num := c.arg(0)
		if num == "" || strings.Trim(strings.TrimPrefix(num, "+"), "0123456789") != "" {
			return cmsError(304)
		}
		m.smsc = num
	default:
		return errPlain
	}
	return nil
}

func (m *Modem) usage(mem string) string {
	used := 0
	for _, s := range m.mems[mem] {
		if s != nil {
			used++
		}
	}
	return fmt.Sprintf("%d,%d", used, len(m.mems[mem]))
}

func cmdCPMS(m *Modem, r *reply, c command) error {
	switch c.op {
	case opRead:
		parts := make([]string, 3)
		for i, mem := range m.st.mem {
			parts[i] = fmt.Sprintf("%q,%s", mem, m.usage(mem))
		}
		r.lines("+CPMS: " + strings.Join(parts, ","))
	case opTest:
		r.lines(`+CPMS: ("SM","ME","SR"),("SM","ME"),("SM","ME")`)
	case opSet:
		mems := m.st.mem
		for i, a := range c.args {
			if i > 2 {
				return cmsError(302)
			}
			a = strings.ToUpper(a)
			if _, ok := m.mems[a]; !ok || (i > 0 && a == "SR") {
				return cmsError(302)
			}
			mems[i] = a
		}
		m.st.mem = mems
		parts := make([]string, 3)
		for i, mem := range mems {
			parts[i] = m.usage(mem)
		}
		r.lines("+CPMS: " + strings.Join(parts, ","))
	default:
		return errPlain
	}
	return nil
}

func cmdCNMI(m *Modem, r *reply, c command) error {
	switch c.op {
	case opRead:
		v := m.st.cnmi
		r.lines(fmt.Sprintf("+CNMI: %d,%d,%d,%d,%d", v[0], v[1], v[2], v[3], v[4]))
	case opTest:
		r.lines("+CNMI: (0-3),(0-3),(0-3),(0-2),(0,1)")
	case opSet:
		limits := [5]int{3, 3, 3, 2, 1}
		var v [5]int
		if len(c.args) > 5 {
			return cmsError(303)
		}
		for i := range c.args {
			n, err := c.intArg(i, 0)
			if err != nil || n < 0 || n > limits[i] {
				return cmsError(303)
			}
			v[i] = n
		}
		m.st.cnmi = v
		m.flushPendingLocked()
	default:
		return errPlain
	}
	return nil
}

func cmdCNMA(m *Modem, r *reply, c command) error {
	if c.op == opTest {
		r.lines("+CNMA: (0-2)")
		return nil
	}
	if !m.st.ackWanted {
		return cmsError(340)
	}
	m.st.ackWanted, m.st.unacked = false, nil
	m.flushPendingLocked()
	return nil
}

func cmdCSMP(m *Modem, r *reply, c command) error {
	switch c.op {
	case opRead:
		v := m.st.csmp
		r.lines(fmt.Sprintf("+CSMP: %d,%d,%d,%d", v[0], v[1], v[2], v[3]))
	case opTest:
	case opSet:
		for i := range c.args {
			if i > 3 {
				return cmsError(305)
			}
			n, err := c.intArg(i, m.st.csmp[i])
			if err != nil {
				return cmsError(305)
			}
			m.st.csmp[i] = n
		}
	default:
		return errPlain
	}
	return nil
}

// maxTPDU is the largest SMS-SUBMIT TPDU (TS 23.040 §9.2.2.2 with 140
// octets of user data and the longest addresses and validity period).
const maxTPDU = 164

func cmdCMGS(m *Modem, r *reply, c command) error {
	switch c.op {
	case opTest:
		return nil
	case opSet:
	default:
		return errPlain
	}
	if m.st.cmgf != 0 {
		// Text mode sends are not simulated.
		return cmsError(302)
	}
	n, err := c.intArg(0, 0)
	if err != nil || n < 7 || n > maxTPDU {
		return cmsError(304)
	}
	if m.knobs.noPrompt {
		r.prompt = -1
		return nil
	}
	r.prompt = n
	return nil
}

func cmdCMGL(m *Modem, r *reply, c command) error {
	switch c.op {
	case opTest:
		r.lines("+CMGL: (0-4)")
		return nil
	case opSet, opExec:
	default:
		return errPlain
	}
	if m.st.cmgf != 0 {
		return cmsError(302)
	}
	stat, err := c.intArg(0, 0)
	if err != nil || stat < 0 || stat > 4 {
		return cmsError(304)
	}
	var lines []string
	for i, s := range m.mems[m.st.mem[0]] {
		if s == nil || (stat != 4 && s.stat != stat) {
			continue
		}
		lines = append(lines, fmt.Sprintf("+CMGL: %d,%d,,%d", i+1, s.stat, tpduLen(s.pdu)), s.pdu)
		if s.stat == 0 {
			s.stat = 1
		}
	}
	if len(lines) > 0 {
		r.lines(lines...)
	}
	return nil
}

// slotArg returns the 1-based index argument of AT+CMGR/AT+CMGD.
func (m *Modem) slotArg(c command) (int, error) {
	i, err := c.intArg(0, -1)
	if err != nil || i < 1 || i > len(m.mems[m.st.mem[0]]) {
		return 0, cmsError(321)
	}
	return i, nil
}

func cmdCMGR(m *Modem, r *reply, c command) error {
	switch c.op {
	case opTest:
		return nil
	case opSet:
	default:
		return errPlain
	}
	if m.st.cmgf != 0 {
		return cmsError(302)
	}
	i, err := m.slotArg(c)
	if err != nil {
		return err
	}
	s := m.mems[m.st.mem[0]][i-1]
	if s == nil {
		return cmsError(321)
	}
	r.lines(fmt.Sprintf("+CMGR: %d,,%d", s.stat, tpduLen(s.pdu)), s.pdu)
	if s.stat == 0 {
		s.stat = 1
	}
	return nil
}

// deleteLocked empties slots[i] of the current read memory and tells the
// OnDelete witness.
func (m *Modem) deleteLocked(slots []*slot, i int) {
	if s := slots[i]; s != nil && m.deleted != nil {
		m.deleted(Deletion{Mem: m.st.mem[0], Index: i + 1, PDU: s.pdu})
	}
	slots[i] = nil
}

func cmdCMGD(m *Modem, r *reply, c command) error {
	slots := m.mems[m.st.mem[0]]
	switch c.op {
	case opTest:
		r.lines(fmt.Sprintf("+CMGD: (1-%d),(0-4)", len(slots)))
		return nil
	case opSet:
	default:
		return errPlain
	}
	flag, err := c.intArg(1, 0)
	if err != nil || flag < 0 || flag > 4 {
		return cmsError(302)
	}
	if flag == 0 {
		i, err := m.slotArg(c)
		if err != nil {
			return err
		}
		m.deleteLocked(slots, i-1)
	} else {
		// Flags 1–4 delete by status: read; read and sent; read, sent and unsent; all.
		doomed := map[int][]int{1: {1}, 2: {1, 3}, 3: {1, 2, 3}, 4: {0, 1, 2, 3}}[flag]
		for i, s := range slots {
			if s != nil && slices.Contains(doomed, s.stat) {
				m.deleteLocked(slots, i)
			}
		}
	}
	// Freed memory lets the network deliver what it held back.
	m.memFull = false
	m.flushPendingLocked()
	return nil
}
