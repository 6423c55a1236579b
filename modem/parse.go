package modem

import (
	"strconv"
	"strings"

	"github.com/simgate/simgate/modem/at"
)

// splitFields splits the arguments of a result line on commas outside
// double quotes. Fields keep their quotes and lose surrounding blanks.
func splitFields(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func isQuoted(s string) bool { return len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' }

// stripPrefix removes a "+XXX:" prefix from an answer line when it is one of
// prefixes (case-insensitive).
func stripPrefix(s string, prefixes ...string) string {
	for _, p := range prefixes {
		if rest, ok := cutPrefixFold(s, p); ok {
			return strings.TrimSpace(rest)
		}
	}
	return strings.TrimSpace(s)
}

// findLine returns the arguments of the first line with prefix.
func findLine(lines []string, prefix string) (string, bool) {
	for _, l := range lines {
		if rest, ok := cutPrefixFold(l, prefix); ok {
			return strings.TrimSpace(rest), true
		}
	}
	return "", false
}

// Signal is the received signal strength (AT+CSQ, TS 27.007 §8.5).
type Signal struct {
	CSQ int // <rssi> as reported, 0–31 or 99
	BER int // <ber>, 0–7 or 99
	DBM int // estimated dBm; 0 when unknown
	// Bars is 0–4 for a status page: <2 none, 2–9 marginal, 10–14 ok,
	// 15–19 good, ≥20 excellent.
	Bars  int
	Known bool // false when the modem reports 99 (not known or detectable)
}

func parseCSQ(arg string) (Signal, bool) {
	f := splitFields(arg)
	if len(f) < 1 {
		return Signal{}, false
	}
	rssi, err := strconv.Atoi(f[0])
	if err != nil {
		return Signal{}, false
	}
	s := Signal{CSQ: rssi, BER: 99}
	if len(f) > 1 {
		if ber, err := strconv.Atoi(f[1]); err == nil {
			s.BER = ber
		}
	}
	if rssi < 0 || rssi > 31 {
		return s, true
	}
	s.Known = true
	switch {
	case rssi == 0:
		s.DBM = -113
	case rssi == 31:
		s.DBM = -51
	default:
		s.DBM = -113 + 2*rssi
	}
	switch {
	case rssi < 2:
		s.Bars = 0
	case rssi < 10:
		s.Bars = 1
	case rssi < 15:
		s.Bars = 2
	case rssi < 20:
		s.Bars = 3
	default:
		s.Bars = 4
	}
	return s, true
}

// RegState is a network registration state, as in the HTTP API.
type RegState string

// Registration states (TS 27.007 §7.2 <stat>).
const (
	RegRegistered    RegState = "registered"     // 1 home, 6 SMS-only home, 9 CSFB not preferred home
	RegRoaming       RegState = "roaming"        // 5 roaming, 7 SMS-only roaming, 10 CSFB not preferred roaming
	RegSearching     RegState = "searching"      // 2
	RegDenied        RegState = "denied"         // 3
	RegNotRegistered RegState = "not_registered" // 0, 8 emergency only
	RegUnknown       RegState = "unknown"        // 4, or not reported
)

func regStateOf(stat int) RegState {
	switch stat {
	case 1, 6, 9:
		return RegRegistered
	case 5, 7, 10:
		return RegRoaming
	case 2:
		return RegSearching
	case 3:
		return RegDenied
	case 0, 8:
		return RegNotRegistered
	}
	return RegUnknown
}

// Registration is the network registration of the modem.
type Registration struct {
	// State is the best of CS and PS: SMS works when either domain is
	// registered (LTE modules may keep +CREG at 0 and send SMS over SGs/IMS).
	State   RegState
	Roaming bool
	CS      RegState // circuit-switched domain, from +CREG
	PS      RegState // packet domain, from +CEREG or +CGREG
	// LAC (or TAC) and CellID are hex as the modem printed them, from the
	// domain State came from; empty when not reported.
	LAC, CellID string
	// AcT is the access technology of +CREG/+CEREG (0 GSM, 2 UTRAN, 7 E-UTRAN…),
	// -1 when not reported.
	AcT int
}

// Registered reports whether SMS can be sent: registered at home or roaming.
func (r Registration) Registered() bool {
	return r.State == RegRegistered || r.State == RegRoaming
}

type regLine struct {
	stat    int
	state   RegState
	lac, ci string
	act     int
}

// parseRegLine reads the arguments of +CREG/+CGREG/+CEREG. Queries carry <n>
// first and URCs do not; firmware varies (ModemManager lists six layouts), so
// the first quoted field, the LAC, decides where <stat> is when present.
func parseRegLine(arg string, query bool) (regLine, bool) {
	f := splitFields(arg)
	if len(f) == 0 {
		return regLine{}, false
	}
	statIdx := 0
	if query && len(f) > 1 {
		statIdx = 1
	}
	for i, v := range f {
		if isQuoted(v) {
			statIdx = i - 1
			break
		}
	}
	if statIdx < 0 || statIdx >= len(f) {
		return regLine{}, false
	}
	stat, err := strconv.Atoi(f[statIdx])
	if err != nil {
		return regLine{}, false
	}
	r := regLine{stat: stat, state: regStateOf(stat), act: -1}
	if len(f) > statIdx+2 {
		r.lac, r.ci = unquote(f[statIdx+1]), unquote(f[statIdx+2])
	}
	if len(f) > statIdx+3 {
		if act, err := strconv.Atoi(unquote(f[statIdx+3])); err == nil {
			r.act = act
		}
	}
	return r, true
}

// regRank orders states for choosing the better of two domains.
func regRank(s RegState) int {
	switch s {
	case RegRegistered:
		return 5
	case RegRoaming:
		return 4
	case RegSearching:
		return 3
	case RegDenied:
		return 2
	case RegNotRegistered:
		return 1
	}
	return 0
}

// combineRegistration builds a Registration from the answers of the three
// queries; a nil line means the query failed.
func combineRegistration(creg, cgreg, cereg *regLine) Registration {
	r := Registration{CS: RegUnknown, PS: RegUnknown, State: RegUnknown, AcT: -1}
	if creg != nil {
		r.CS = creg.state
	}
	ps := cereg
	if ps == nil || (cgreg != nil && regRank(cgreg.state) > regRank(cereg.state)) {
		ps = cgreg
	}
	if ps != nil {
		r.PS = ps.state
	}
	best := creg
	if best == nil || (ps != nil && regRank(ps.state) > regRank(best.state)) {
		best = ps
	}
	if best != nil {
		r.State, r.LAC, r.CellID, r.AcT = best.state, best.lac, best.ci, best.act
	}
	r.Roaming = r.State == RegRoaming
	return r
}

// Operator is the network the modem is registered on (AT+COPS?).
type Operator struct {
	Name string // long alphanumeric name; empty when not registered
	AcT  int    // TS 27.007 §7.3 <AcT>, -1 when not reported
	Tech string // "GSM", "UMTS", "LTE"… from AcT
}

var techNames = map[int]string{
	0: "GSM", 1: "GSM", 2: "UMTS", 3: "EDGE", 4: "HSDPA", 5: "HSUPA", 6: "HSPA",
	7: "LTE", 8: "EC-GSM-IoT", 9: "NB-IoT", 10: "LTE", 11: "NR", 12: "NR", 13: "EN-DC",
}

func parseCOPS(arg string) Operator {
	f := splitFields(arg)
	op := Operator{AcT: -1}
	if len(f) >= 3 {
		op.Name = unquote(f[2])
	}
	if len(f) >= 4 {
		if act, err := strconv.Atoi(f[3]); err == nil {
			op.AcT = act
			op.Tech = techNames[act]
		}
	}
	return op
}

// parseICCID accepts the answers of AT+CCID, AT+ICCID, AT+QCCID, AT+CICCID
// and AT^ICCID? (bare digits, quoted or prefixed), drops the filler F and
// undoes Huawei's nibble swap (an ICCID starts with 89, ITU-T E.118).
func parseICCID(lines []string) (string, bool) {
	for _, l := range lines {
		if p := at.LinePrefix(l); p != "" {
			l = l[len(p):]
		} else if rest, ok := cutPrefixFold(l, "ICCID:"); ok {
			l = rest
		}
		v := unquote(strings.TrimSpace(l))
		if strings.HasPrefix(v, "98") && len(v)%2 == 0 && isHex(v) {
			b := []byte(v)
			for i := 0; i+1 < len(b); i += 2 {
				b[i], b[i+1] = b[i+1], b[i]
			}
			v = string(b)
		}
		v = strings.TrimRight(v, "Ff")
		if len(v) >= 18 && len(v) <= 22 && isDigits(v) {
			return v, true
		}
	}
	return "", false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseNumber reads a "<number>,<type>" pair as in +CNUM and +CSCA: type 145
// is international, so a missing "+" is added.
func parseNumber(number, typ string) string {
	n := unquote(number)
	if isUCS2Hex(n) {
		if d, ok := decodeUCS2Hex(n); ok {
			n = d
		}
	}
	if typ == "145" && n != "" && !strings.HasPrefix(n, "+") {
		n = "+" + n
	}
	return n
}

// isUCS2Hex recognises numbers printed under AT+CSCS="UCS2": every character
// as four hex digits, digits and '+' being 003x and 002B.
func isUCS2Hex(s string) bool {
	if len(s) < 4 || len(s)%4 != 0 || !isHex(s) {
		return false
	}
	for i := 0; i < len(s); i += 4 {
		if s[i:i+2] != "00" {
			return false
		}
	}
	return true
}

// firstValue returns the first non-empty answer line without prefix and
// quotes: "+CGMI: Quectel" and "Quectel" both give "Quectel".
func firstValue(lines []string, prefixes ...string) string {
	for _, l := range lines {
		v := unquote(stripPrefix(l, prefixes...))
		if v != "" {
			return v
		}
	}
	return ""
}

// parseIMEI finds the 14–17 digit serial number in AT+CGSN's answer.
func parseIMEI(lines []string) (string, bool) {
	for _, l := range lines {
		v := unquote(stripPrefix(l, "+CGSN:", "+GSN:", "IMEI:"))
		if len(v) >= 14 && len(v) <= 17 && isDigits(v) {
			return v, true
		}
	}
	return "", false
}

// parseCPMSMem returns <mem1> from the answer of AT+CPMS?.
func parseCPMSMem(arg string) string {
	f := splitFields(arg)
	if len(f) == 0 || !isQuoted(f[0]) {
		return ""
	}
	return unquote(f[0])
}

// parseCPMSMems returns <mem1>, <mem2> and <mem3> from the answer of
// AT+CPMS? ("SM",1,30,"SM",1,30,"ME",0,100); a storage not named is "".
func parseCPMSMems(arg string) [3]string {
	var mems [3]string
	f := splitFields(arg)
	for i := range mems {
		if j := 3 * i; j < len(f) && isQuoted(f[j]) {
			mems[i] = unquote(f[j])
		}
	}
	return mems
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}

func isHex(s string) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
