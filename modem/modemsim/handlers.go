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
			m.reenumPending = m.knobs.reenumerate && m.onPTY
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
