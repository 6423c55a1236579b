package modem

import (
	"strconv"
	"strings"
)

// EventKind says what an unsolicited result code reported.
type EventKind string

// Event kinds.
const (
	// EventNewMessage: +CMTI, an SMS was stored at Mem/Index.
	EventNewMessage EventKind = "new_message"
	// EventDeliver: +CMT, an SMS-DELIVER routed directly; PDU holds it. It has
	// been acknowledged with +CNMA when the modem expects that.
	EventDeliver EventKind = "deliver"
	// EventStatusReport: +CDS, an SMS-STATUS-REPORT routed directly; PDU holds it.
	EventStatusReport EventKind = "status_report"
	// EventStatusReportStored: +CDSI, a status report was stored at Mem/Index;
	// fetch it with ReadStatusReport.
	EventStatusReportStored EventKind = "status_report_stored"
	// EventRegistration: +CREG, +CGREG or +CEREG; Registration holds the
	// domain it reports (CS or PS).
	EventRegistration EventKind = "registration"
	// EventReset: the module rebooted (RDY, SMS Ready, +QIND: SMS DONE…);
	// echo, PDU mode and indications are back to defaults: run Init again.
	EventReset EventKind = "reset"
	// EventUnsolicited: anything else (RING, ^RSSI:, unknown +XXX: lines).
	EventUnsolicited EventKind = "unsolicited"
)

// Event is one unsolicited result code, in the order the modem sent it.
type Event struct {
	Kind EventKind
	// Mem and Index locate a stored message (+CMTI, +CDSI).
	Mem   string
	Index int
	// PDU is the hex of +CMT/+CDS, SMSC prefix included.
	PDU string
	// Length is the <length> the modem announced for PDU (TPDU octets), -1
	// when it did not give one.
	Length int
	// Registration is set for EventRegistration.
	Registration *Registration
	// Line is the unsolicited line as received (the header for +CMT/+CDS).
	Line string
}

// urcSpec routes one URC prefix. Trailing is the number of lines that belong
// to it (the PDU after +CMT: and +CDS:).
type urcSpec struct {
	prefix   string
	trailing int
	kind     EventKind
}

// urcTable is matched before a line can be taken as a command's answer, so
// URCs are recognised anywhere: before OK, between +CMGS: and OK, inside an
// echo. gammu's SpecialAnswers[] is the model.
var urcTable = []urcSpec{
	{"+CMTI:", 0, EventNewMessage},
	{"+CMT:", 1, EventDeliver},
	{"+CDSI:", 0, EventStatusReportStored},
	{"+CDS:", 1, EventStatusReport},
	{"+CBM:", 1, EventUnsolicited},
	{"+CREG:", 0, EventRegistration},
	{"+CGREG:", 0, EventRegistration},
	{"+CEREG:", 0, EventRegistration},
	{"+CUSD:", 0, EventUnsolicited},
	{"RING", 0, EventUnsolicited},
	{"NO CARRIER", 0, EventUnsolicited},
}

type pendingURC struct {
	spec   urcSpec
	header string
	length int // announced TPDU length, -1 when unknown
}

// takes reports whether s is the PDU line the header announced. A short
// hex-looking answer ("EC25") must not be taken for it: a PDU holds at
// least the announced TPDU octets.
func (p *pendingURC) takes(s string) bool {
	return isHex(s) && len(s)%2 == 0 && (p.length < 0 || len(s)/2 >= p.length)
}

// urcPrefix returns the "+XXX:" prefix of s, or "" when s does not look
// like an extended result code.
func urcPrefix(s string) string {
	if len(s) < 3 || !strings.ContainsRune("+^*$%#", rune(s[0])) {
		return ""
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			if i < 2 {
				return ""
			}
			return strings.ToUpper(s[:i+1])
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return ""
		}
	}
	return ""
}

// routeURC handles s when it is unsolicited and reports whether it was. c is
// the command in flight, nil when none; a "+XXX:" line with c's own prefix
// is c's answer, not a URC. Called with m.mu held.
func (m *Modem) routeURC(s string, c *call) bool {
	p := m.profile.Load()
	if isResetSign(s, p) {
		m.emit(Event{Kind: EventReset, Line: s, Length: -1})
		return true
	}
	prefix := urcPrefix(s)
	if prefix != "" && c != nil && c.owns(prefix) {
		return false
	}
	for _, u := range urcTable {
		if !hasPrefixFold(s, u.prefix) {
			continue
		}
		if u.prefix[len(u.prefix)-1] != ':' && len(s) != len(u.prefix) {
			continue // "RING" must be the whole line
		}
		m.startURC(u, s)
		return true
	}
	if p != nil {
		for _, u := range p.URCs {
			if hasPrefixFold(s, u) {
				m.emit(Event{Kind: EventUnsolicited, Line: s, Length: -1})
				return true
			}
		}
	}
	if prefix != "" {
		m.emit(Event{Kind: EventUnsolicited, Line: s, Length: -1})
		return true
	}
	return false
}

func isResetSign(s string, p *Profile) bool {
	for _, r := range commonResetSigns {
		if strings.EqualFold(s, r) {
			return true
		}
	}
	if p != nil {
		for _, r := range p.ResetSigns {
			if strings.EqualFold(s, r) {
				return true
			}
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func (m *Modem) startURC(u urcSpec, s string) {
	if u.trailing > 0 {
		lengthFirst := false
		if p := m.profile.Load(); p != nil && u.prefix == "+CMT:" {
			lengthFirst = p.CMTLengthFirst
		}
		m.urc = &pendingURC{spec: u, header: s, length: pduLength(strings.TrimSpace(s[len(u.prefix):]), lengthFirst)}
		return
	}
	arg := strings.TrimSpace(s[len(u.prefix):])
	e := Event{Kind: u.kind, Line: s, Length: -1}
	switch u.prefix {
	case "+CMTI:", "+CDSI:":
		f := splitFields(arg)
		if len(f) < 2 {
			e.Kind = EventUnsolicited
			break
		}
		idx, err := strconv.Atoi(f[len(f)-1])
		if err != nil {
			e.Kind = EventUnsolicited
			break
		}
		e.Mem, e.Index = unquote(f[0]), idx
	case "+CREG:", "+CGREG:", "+CEREG:":
		d, ok := parseRegLine(arg, false)
		if !ok {
			e.Kind = EventUnsolicited
			break
		}
		r := Registration{LAC: d.lac, CellID: d.ci, AcT: d.act}
		if u.prefix == "+CREG:" {
			r.CS, r.PS = d.state, RegUnknown
		} else {
			r.CS, r.PS = RegUnknown, d.state
		}
		r.State, r.Roaming = d.state, d.state == RegRoaming
		e.Registration = &r
	case "+CUSD:":
		if m.ussd != nil {
			select {
			case m.ussd <- arg:
			default:
			}
			return
		}
	}
	m.emit(e)
}

// finishURC emits a two-line URC once its PDU line arrived ("" if it did not).
func (m *Modem) finishURC(p *pendingURC, pdu string) {
	e := Event{Kind: p.spec.kind, Line: p.header, PDU: pdu, Length: p.length}
	if pdu != "" && e.Length >= 0 && !pduMatchesLength(pdu, e.Length) {
		m.log.Debug("at pdu length mismatch", "line", p.header, "length", e.Length, "hex_chars", len(pdu))
	}
	m.emit(e)
	if pdu != "" && (e.Kind == EventDeliver || e.Kind == EventStatusReport) && m.needAck.Load() {
		select {
		case m.ackCh <- struct{}{}:
		default:
			m.log.Warn("sms acknowledgements backlog full")
		}
	}
}

// pduLength reads <length> from the arguments of +CMT/+CDS/+CMGR/+CMGL
// headers: the last field, except on modems that put it first.
func pduLength(arg string, first bool) int {
	f := splitFields(arg)
	if len(f) == 0 {
		return -1
	}
	v := f[len(f)-1]
	if first {
		v = f[0]
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}

// pduMatchesLength checks a PDU (SMSC prefix included) against the TPDU
// length the modem announced.
func pduMatchesLength(pdu string, length int) bool {
	if len(pdu) < 2 {
		return false
	}
	smsc, err := strconv.ParseUint(pdu[:2], 16, 8)
	if err != nil {
		return false
	}
	return len(pdu) == 2*(1+int(smsc)+length)
}
