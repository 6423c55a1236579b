package modemsim

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/pdu"
)

// Command operations (ITU-T V.250 §5.4.3 / TS 27.007 §4.1).
const (
	opExec = iota // AT+X, ATE1
	opRead        // AT+X?
	opTest        // AT+X=?
	opSet         // AT+X=args
)

// command is one command of a command line.
type command struct {
	name string   // upper case: "+CSQ", "E", "&F", "S3"
	op   int      // opExec, opRead, opTest, opSet
	args []string // set arguments, quotes removed
	num  int      // numeric argument of a basic command, -1 when absent
}

func (c command) arg(i int) string {
	if i < len(c.args) {
		return c.args[i]
	}
	return ""
}

// intArg returns argument i as an int, def when it is absent or empty.
func (c command) intArg(i, def int) (int, error) {
	s := strings.TrimSpace(c.arg(i))
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, errPlain
	}
	return v, nil
}

// atError is a final result code other than OK.
type atError struct {
	kind byte // 0 plain ERROR, 'E' +CME ERROR, 'S' +CMS ERROR
	code int
}

func (e atError) Error() string { return fmt.Sprintf("at error %c%d", e.kind, e.code) }

var errPlain = atError{}

func cmeError(code int) error { return atError{kind: 'E', code: code} }
func cmsError(code int) error { return atError{kind: 'S', code: code} }

// Verbose texts of +CMEE=2 (TS 27.007 §9.2, TS 27.005 §3.2.5, TS 24.011 E-2).
var cmeText = map[int]string{
	0: "phone failure", 3: "operation not allowed", 4: "operation not supported",
	10: "SIM not inserted", 11: "SIM PIN required", 12: "SIM PUK required",
	13: "SIM failure", 14: "SIM busy", 16: "incorrect password",
	30: "no network service", 31: "network timeout", 50: "Incorrect parameters",
	100: "unknown",
}

var cmsText = map[int]string{
	1: "Unassigned (unallocated) number", 8: "Operator determined barring",
	10: "Call barred", 21: "Short message transfer rejected",
	27: "Destination out of service", 28: "Unidentified subscriber",
	29: "Facility rejected", 30: "Unknown subscriber", 38: "Network out of order",
	41: "Temporary failure", 42: "Congestion", 47: "Resources unavailable, unspecified",
	50: "Requested facility not subscribed", 69: "Requested facility not implemented",
	300: "ME failure", 301: "SMS service of ME reserved", 302: "operation not allowed",
	303: "operation not supported", 304: "invalid PDU mode parameter",
	305: "invalid text mode parameter", 310: "SIM not inserted", 311: "SIM PIN required",
	313: "SIM failure", 314: "SIM busy", 320: "memory failure",
	321: "invalid memory index", 322: "memory full", 330: "SMSC address unknown",
	331: "no network service", 332: "network timeout",
	340: "no +CNMA acknowledgement expected", 500: "unknown error",
}

// finalLocked formats the final result of err under the current +CMEE.
func (m *Modem) finalLocked(err error) string {
	if err == nil {
		return "\r\nOK\r\n"
	}
	e, ok := err.(atError)
	if !ok || e.kind == 0 || m.st.cmee == 0 {
		return "\r\nERROR\r\n"
	}
	name, texts := "+CME ERROR", cmeText
	if e.kind == 'S' {
		name, texts = "+CMS ERROR", cmsText
	}
	if m.st.cmee == 2 {
		if t, ok := texts[e.code]; ok {
			return fmt.Sprintf("\r\n%s: %s\r\n", name, t)
		}
	}
	return fmt.Sprintf("\r\n%s: %d\r\n", name, e.code)
}

// reply collects the information text of a command line.
type reply struct {
	info   []byte
	prompt int // >0: show "> " for a PDU of this length; <0: swallow until ESC
}

// lines adds one information response made of lines.
func (r *reply) lines(ls ...string) {
	r.info = append(r.info, "\r\n"...)
	r.info = append(r.info, strings.Join(ls, "\r\n")...)
	r.info = append(r.info, "\r\n"...)
}

// execLine runs one command line ended by term and returns what to write
// and whether a "> " prompt is now open (see reply.prompt).
func (m *Modem) execLine(line string, term byte) ([]step, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log.Debug("at rx", "line", line)
	if m.hungLocked(line) {
		m.log.Debug("hung: no answer", "line", line)
		return nil, 0
	}
	var out []byte
	if m.st.echo {
		out = append(out, line...)
		out = append(out, term)
	}
	var r reply
	err := m.execLocked(line, &r)
	if m.reenumPending {
		// A USB modem drops off its port as it reboots, before any OK.
		m.reenumPending = false
		m.reenumerateLater()
		return nil, 0
	}
	out = append(out, r.info...)
	delay, late := m.answerDelayLocked(line), m.lateAnswerLocked(line)
	if r.prompt != 0 && err == nil {
		if r.prompt > 0 {
			if m.knobs.okPrompt {
				out = append(out, "\r\nOK\r\n"...)
			}
			out = append(out, "\r\n> "...)
		}
		// A late +CMGS is the result after the PDU (submitPDU), not the prompt.
		return []step{{wait: delay, out: out}}, r.prompt
	}
	if len(r.info) > 0 {
		out = append(out, m.noiseLocked()...)
	}
	out = append(out, m.finalLocked(err)...)
	return []step{{wait: delay, out: out, hold: late}}, 0
}

func (m *Modem) noiseLocked() []byte {
	var b []byte
	for _, l := range m.knobs.noise {
		if l == "" {
			b = append(b, "\r\n"...)
			continue
		}
		b = append(b, "\r\n"+l+"\r\n"...)
	}
	return b
}

func (m *Modem) execLocked(line string, r *reply) error {
	if len(line) < 2 || !strings.EqualFold(line[:2], "AT") {
		return errPlain
	}
	cmds, err := parseCommands(line[2:])
	if err != nil {
		return err
	}
	for _, c := range cmds {
		h, ok := handlers[c.name]
		if !ok {
			return errPlain
		}
		if err := h(m, r, c); err != nil {
			return err
		}
		if r.prompt != 0 {
			// The prompt takes over the line: what follows AT+CMGS is ignored.
			return nil
		}
	}
	return nil
}

// parseCommands splits the body of a command line (after "AT") into basic
// commands ("E0", "&F", "S0?") and extended ones ("+CMGF=0") separated by
// ";" (V.250 §5.2).
func parseCommands(s string) ([]command, error) {
	var cmds []command
	for len(s) > 0 {
		ch := s[0]
		switch {
		case ch == ' ' || ch == ';':
			s = s[1:]
		case ch == '+' || ch == '^' || ch == '$' || ch == '%' || ch == '*' || ch == '#' || ch == '!':
			end := 0
			quoted := false
			for end < len(s) && (quoted || s[end] != ';') {
				if s[end] == '"' {
					quoted = !quoted
				}
				end++
			}
			c, err := parseExtended(s[:end])
			if err != nil {
				return nil, err
			}
			cmds = append(cmds, c)
			s = s[end:]
		case isLetter(ch) || ch == '&':
			i := 1
			if ch == '&' {
				if len(s) < 2 || !isLetter(s[1]) {
					return nil, errPlain
				}
				i = 2
			}
			c := command{name: strings.ToUpper(s[:i]), num: -1}
			if c.name == "S" {
				j := i
				for j < len(s) && isDigit(s[j]) {
					j++
				}
				c.name += s[i:j]
				i = j
				switch {
				case strings.HasPrefix(s[i:], "?"):
					c.op = opRead
					i++
				case strings.HasPrefix(s[i:], "="):
					c.op = opSet
					i++
				}
			}
			j := i
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if j > i {
				c.num, _ = strconv.Atoi(s[i:j])
				c.args = []string{s[i:j]}
			}
			cmds = append(cmds, c)
			s = s[j:]
		default:
			return nil, errPlain
		}
	}
	return cmds, nil
}

func parseExtended(s string) (command, error) {
	c := command{num: -1}
	end := strings.IndexAny(s, "=?")
	if end < 0 {
		c.name = strings.ToUpper(strings.TrimSpace(s))
		return c, nil
	}
	c.name = strings.ToUpper(strings.TrimSpace(s[:end]))
	rest := s[end:]
	switch {
	case rest == "?":
		c.op = opRead
	case rest == "=?":
		c.op = opTest
	case rest[0] == '=':
		c.op = opSet
		args, err := splitArgs(rest[1:])
		if err != nil {
			return c, err
		}
		c.args = args
	default:
		return c, errPlain
	}
	return c, nil
}

// splitArgs splits comma-separated parameters, removing the quotes of
// string parameters.
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '"':
			quoted = !quoted
		case ch == ',' && !quoted:
			args = append(args, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(ch)
		}
	}
	if quoted {
		return nil, errPlain
	}
	return append(args, strings.TrimSpace(cur.String())), nil
}

func isLetter(b byte) bool { return b|0x20 >= 'a' && b|0x20 <= 'z' }
func isDigit(b byte) bool  { return b >= '0' && b <= '9' }

// submitPDU handles the PDU typed after the "> " prompt of AT+CMGS=<length>.
// cmgsAt is when the AT+CMGS line arrived.
func (m *Modem) submitPDU(hexPDU string, length int, cmgsAt time.Time) []step {
	pduAt := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	var echo []byte
	if m.st.echo {
		echo = []byte(hexPDU)
	}
	fail := func(code int) []step {
		return []step{{out: append(echo, m.finalLocked(cmsError(code))...)}}
	}
	raw, err := hex.DecodeString(hexPDU)
	if err != nil {
		return fail(304)
	}
	_, tpdu, err := splitSMSC(raw)
	if err != nil || len(tpdu) != length {
		return fail(304)
	}
	msg, err := pdu.Decode(hexPDU)
	if err != nil || msg.Type != pdu.TypeSubmit {
		m.log.Debug("cmgs: undecodable pdu", "err", err)
		return fail(304)
	}
	if m.submitted != nil {
		m.submitted(Submit{CMGSAt: cmgsAt, PDUAt: pduAt, To: msg.To.Number, Text: msg.Text})
	}
	latency := m.knobs.latency
	return []step{
		{out: echo},
		{wait: latency, call: func() []byte { return m.send(hexPDU, tpdu, msg) }, hold: m.lateAnswerLocked("AT+CMGS")},
	}
}

// send hands a SUBMIT to the network once the send latency has passed.
func (m *Modem) send(hexPDU string, tpdu []byte, msg *pdu.Message) []byte {
	m.mu.Lock()
	to := normalize(msg.To.Number)
	code := m.knobs.failures[to]
	if code == 0 {
		code = m.knobs.failures[""]
	}
	if code == 0 && m.knobs.failNext > 0 {
		code = m.knobs.failCode
		m.knobs.failNext--
	}
	if code == 0 && !m.registeredLocked() {
		code = 331
	}
	var mr int
	if code == 0 {
		m.mr = (m.mr + 1) % 256
		mr = m.mr
	}
	lose := m.knobs.loseSend || m.knobs.loseNext > 0 // decided before the network records it
	if m.knobs.loseNext > 0 {
		m.knobs.loseNext--
	}
	m.mu.Unlock()
	if code == 0 {
		code = m.net.accept(m, hexPDU, tpdu, msg, mr)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if code != 0 {
		return []byte(m.finalLocked(cmsError(code)))
	}
	if lose {
		return nil
	}
	out := []byte(fmt.Sprintf("\r\n+CMGS: %d\r\n", mr))
	out = append(out, m.noiseLocked()...)
	return append(out, m.finalLocked(nil)...)
}
