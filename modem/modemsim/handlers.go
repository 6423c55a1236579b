package modemsim

import (
	"fmt"
	"slices"
	"strings"
)

type handler func(m *Modem, r *reply, c command) error

// handlers are the commands the virtual modem knows, by upper-case name.
// Anything else answers ERROR, as on a real module.
var handlers = map[string]handler{
	// V.250 basic commands.
	"E":  basicE,
	"Z":  basicReset,
	"&F": basicReset,
	"I":  basicI,
	"V":  basicOnly(1),
	"Q":  basicOnly(0),
	"X":  basicAny,
	"&C": basicAny,
	"&D": basicAny,
	"&W": basicAny,
	"H":  basicAny,
	"S0": sRegister,
	"S3": sRegister,
	"S4": sRegister,
	"S5": sRegister,
	"S7": sRegister,

	// Identification (TS 27.007 §5, V.250 §6.1).
	"+GCAP":   info(func(m *Modem) string { return "+GCAP: +CGSM" }),
	"+CGMI":   info(func(m *Modem) string { return m.cfg.Manufacturer }),
	"+GMI":    info(func(m *Modem) string { return m.cfg.Manufacturer }),
	"+CGMM":   info(func(m *Modem) string { return m.cfg.Model }),
	"+GMM":    info(func(m *Modem) string { return m.cfg.Model }),
	"+CGMR":   info(func(m *Modem) string { return m.cfg.Revision }),
	"+GMR":    info(func(m *Modem) string { return m.cfg.Revision }),
	"+CGSN":   info(func(m *Modem) string { return m.cfg.IMEI }),
	"+GSN":    info(func(m *Modem) string { return m.cfg.IMEI }),
	"+CCID":   info(func(m *Modem) string { return "+CCID: " + m.cfg.ICCID }),
	"+ICCID":  info(func(m *Modem) string { return "+ICCID: " + m.cfg.ICCID }),
	"+CICCID": info(func(m *Modem) string { return "+ICCID: " + m.cfg.ICCID }),
	"+QCCID":  info(func(m *Modem) string { return "+QCCID: " + m.cfg.ICCID }),
	"+CIMI":   withSIM(info(func(m *Modem) string { return m.cfg.IMSI })),
	"+CNUM": withSIM(info(func(m *Modem) string {
		return fmt.Sprintf("+CNUM: \"\",%q,%d", m.cfg.Number, toa(m.cfg.Number))
	})),

	// Control and status (TS 27.007 §8, §9).
	"+CMEE": intSetting("+CMEE", func(m *Modem) *int { return &m.st.cmee }, 2),
	"+CFUN": cmdCFUN,
	"+CPIN": cmdCPIN,
	"+CSQ":  cmdCSQ,
	"+CSCS": cmdCSCS,

	// Network (TS 27.007 §7).
	"+CREG":  cmdReg(0),
	"+CGREG": cmdReg(1),
	"+CEREG": cmdReg(2),
	"+COPS":  cmdCOPS,
	"+CUSD":  cmdCUSD,

	// SMS (TS 27.005 §3).
	"+CSMS": cmdCSMS,
	"+CMGF": intSetting("+CMGF", func(m *Modem) *int { return &m.st.cmgf }, 1),
	"+CSCA": withSIM(cmdCSCA),
	"+CPMS": withSIM(cmdCPMS),
	"+CNMI": cmdCNMI,
	"+CNMA": cmdCNMA,
	"+CSMP": cmdCSMP,
	"+CMGS": withSIM(cmdCMGS),
	"+CMGL": withSIM(cmdCMGL),
	"+CMGR": withSIM(cmdCMGR),
	"+CMGD": withSIM(cmdCMGD),
}

// info answers a command that has one information line and no parameters.
func info(text func(m *Modem) string) handler {
	return func(m *Modem, r *reply, c command) error {
		switch c.op {
		case opExec:
			r.lines(text(m))
			return nil
		case opTest:
			return nil
		}
		return errPlain
	}
}

// withSIM refuses h while the SIM waits for its PIN or PUK.
func withSIM(h handler) handler {
	return func(m *Modem, r *reply, c command) error {
		if c.op != opTest {
			switch m.st.pin {
			case pinWanted:
				return cmeError(11)
			case pukWanted:
				return cmeError(12)
			}
		}
		return h(m, r, c)
	}
}

func toa(number string) int {
	if strings.HasPrefix(number, "+") {
		return 145
	}
	return 129
}

func basicE(m *Modem, r *reply, c command) error {
	switch c.num {
	case -1, 0:
		m.st.echo = false
	case 1:
		m.st.echo = true
	default:
		return errPlain
	}
	return nil
}

// basicReset is ATZ and AT&F: back to the factory profile, echo on.
func basicReset(m *Modem, r *reply, c command) error {
	if c.num > 0 {
		return errPlain
	}
	keep := m.st
	m.st = powerOnState(false)
	m.st.pin, m.st.pinTries = keep.pin, keep.pinTries
	m.st.cfun = keep.cfun
	m.st.ackWanted, m.st.ackSeq, m.st.unacked = keep.ackWanted, keep.ackSeq, keep.unacked
	return nil
}

func basicI(m *Modem, r *reply, c command) error {
	switch c.num {
	case -1, 0:
		r.lines(m.cfg.Manufacturer, m.cfg.Model, "Revision: "+m.cfg.Revision)
		return nil
	}
	return errPlain
}

// basicOnly accepts the one value of a result-code setting the modem supports.
func basicOnly(v int) handler {
	return func(m *Modem, r *reply, c command) error {
		if c.num == -1 || c.num == v {
			return nil
		}
		return errPlain
	}
}

func basicAny(m *Modem, r *reply, c command) error { return nil }

// sRegister answers the S-registers hosts read: S0 auto-answer, S3/S4 line
// ends, S5 backspace, S7 connection wait.
func sRegister(m *Modem, r *reply, c command) error {
	values := map[string]int{"S0": 0, "S3": 13, "S4": 10, "S5": 8, "S7": 60}
	switch c.op {
	case opRead:
		r.lines(fmt.Sprintf("%03d", values[c.name]))
		return nil
	case opSet:
		if c.num == values[c.name] || c.name == "S0" || c.name == "S7" {
			return nil
		}
	}
	return errPlain
}

// intSetting answers a command whose whole state is one integer within
// 0..max (+CMEE, +CMGF): read, test, and set (a bare exec sets 0).
func intSetting(name string, field func(*Modem) *int, max int) handler {
	return func(m *Modem, r *reply, c command) error {
		switch c.op {
		case opRead:
			r.lines(fmt.Sprintf("%s: %d", name, *field(m)))
		case opTest:
			if max == 1 {
				r.lines(name + ": (0,1)") // as real modems print it
			} else {
				r.lines(fmt.Sprintf("%s: (0-%d)", name, max))
			}
		case opSet, opExec:
			v, err := c.intArg(0, 0)
			if err != nil || v < 0 || v > max {
				return errPlain
			}
			*field(m) = v
		}
		return nil
	}
}

func cmdCFUN(m *Modem, r *reply, c command) error {
	switch c.op {
	case opRead:
		r.lines(fmt.Sprintf("+CFUN: %d", m.st.cfun))
	case opTest:
		r.lines("+CFUN: (0,1,4),(0,1)")
	case opSet:
		fun, err := c.intArg(0, 1)
		if err != nil || (fun != 0 && fun != 1 && fun != 4) {
			return cmeError(50)
		}
		rst, err := c.intArg(1, 0)
		if err != nil || rst < 0 || rst > 1 {
			return cmeError(50)
		}
		if rst == 1 {
			// The OK goes out first; the boot announcement follows it.
			m.bootLocked()
			return nil
		}
		before := m.regStatLocked()
		m.st.cfun = fun
		if m.regStatLocked() != before {
			m.announceRegLocked()
		}
		m.flushPendingLocked()
	default:
		return errPlain
	}
	return nil
}

func cmdCPIN(m *Modem, r *reply, c command) error {
	switch c.op {
	case opRead:
		state := map[pinState]string{pinReady: "READY", pinWanted: "SIM PIN", pukWanted: "SIM PUK"}[m.st.pin]
		r.lines("+CPIN: " + state)
		return nil
	case opTest:
		return nil
	case opSet:
	default:
		return errPlain
	}
	switch m.st.pin {
	case pinReady:
		return cmeError(3)
	case pinWanted:
		if c.arg(0) != m.cfg.PIN {
			m.st.pinTries--
			if m.st.pinTries <= 0 {
				m.st.pin = pukWanted
			}
			return cmeError(16)
		}
	case pukWanted:
		if c.arg(0) != m.cfg.PUK || c.arg(1) == "" {
			return cmeError(16)
		}
		m.cfg.PIN = c.arg(1)
	}
	m.st.pin, m.st.pinTries = pinReady, 3
	m.announceRegLocked()
	m.flushPendingLocked()
	return nil
}

func cmdCSQ(m *Modem, r *reply, c command) error {
	switch c.op {
	case opExec:
		rssi, ber := m.knobs.rssi, m.knobs.ber
		if m.st.cfun != 1 {
			rssi, ber = 99, 99
		}
		r.lines(fmt.Sprintf("+CSQ: %d,%d", rssi, ber))
	case opTest:
		r.lines("+CSQ: (0-31,99),(0-7,99)")
	default:
		return errPlain
	}
	return nil
}

var charsets = []string{"GSM", "IRA", "UCS2"}

func cmdCSCS(m *Modem, r *reply, c command) error {
	switch c.op {
	case opRead:
		r.lines(fmt.Sprintf("+CSCS: %q", m.st.cscs))
	case opTest:
		r.lines(`+CSCS: ("GSM","IRA","UCS2")`)
	case opSet:
		cs := strings.ToUpper(c.arg(0))
		if !slices.Contains(charsets, cs) {
			return cmeError(4)
		}
		m.st.cscs = cs
	default:
		return errPlain
	}
	return nil
}

// cmdReg serves +CREG (i 0), +CGREG (1) and +CEREG (2).
func cmdReg(i int) handler {
	name := []string{"+CREG", "+CGREG", "+CEREG"}[i]
	return func(m *Modem, r *reply, c command) error {
		switch c.op {
		case opRead:
			n := m.st.regN[i]
			if n == 2 {
				r.lines(fmt.Sprintf("%s: 2,%d,%s", name, m.regStatLocked(), cellInfo))
				return nil
			}
			r.lines(fmt.Sprintf("%s: %d,%d", name, n, m.regStatLocked()))
		case opTest:
			r.lines(name + ": (0-2)")
		case opSet:
			n, err := c.intArg(0, 0)
			if err != nil || n < 0 || n > 2 {
				return cmeError(50)
			}
			m.st.regN[i] = n
		default:
			return errPlain
		}
		return nil
	}
}

func cmdCOPS(m *Modem, r *reply, c command) error {
	switch c.op {
	case opRead:
		if !m.registeredLocked() {
			r.lines("+COPS: 0")
			return nil
		}
		name := []string{m.cfg.Operator, DefaultShortName, DefaultPLMN}[m.st.copsFormat]
		r.lines(fmt.Sprintf("+COPS: 0,%d,%q,7", m.st.copsFormat, name))
	case opTest:
		r.lines(fmt.Sprintf("+COPS: (2,%q,%q,%q,7),,(0-4),(0-2)", m.cfg.Operator, DefaultShortName, DefaultPLMN))
	case opSet:
		mode, err := c.intArg(0, 0)
		if err != nil || mode < 0 || mode > 4 {
			return cmeError(50)
		}
		if len(c.args) > 1 {
			f, err := c.intArg(1, 0)
			if err != nil || f < 0 || f > 2 {
				return cmeError(50)
			}
			m.st.copsFormat = f
		}
	default:
		return errPlain
	}
	return nil
}

func cmdCUSD(m *Modem, r *reply, c command) error {
	switch c.op {
	case opRead:
		r.lines("+CUSD: 1")
	case opTest:
		r.lines("+CUSD: (0,1,2)")
	case opSet:
		n, err := c.intArg(0, 0)
		if err != nil || n < 0 || n > 2 {
			return cmeError(50)
		}
		code := c.arg(1)
		if n == 2 || code == "" {
			return nil
		}
		if m.st.pin != pinReady {
			return cmeError(11)
		}
		if !m.registeredLocked() {
			return cmeError(30)
		}
		// The network answers after the OK, as an unsolicited +CUSD.
		if text, ok := m.knobs.ussd[code]; ok {
			m.queueLineLocked(fmt.Sprintf("+CUSD: 0,%q,15", text))
		} else {
			m.queueLineLocked("+CUSD: 4")
		}
	default:
		return errPlain
	}
	return nil
}

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
		slots[i-1] = nil
	} else {
		// Flags 1–4 delete by status: read; read and sent; read, sent and unsent; all.
		doomed := map[int][]int{1: {1}, 2: {1, 3}, 3: {1, 2, 3}, 4: {0, 1, 2, 3}}[flag]
		for i, s := range slots {
			if s != nil && slices.Contains(doomed, s.stat) {
				slots[i] = nil
			}
		}
	}
	// Freed memory lets the network deliver what it held back.
	m.flushPendingLocked()
	return nil
}
