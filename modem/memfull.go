package modem

import "strings"

// onMemoryFull handles the lines by which modems say their message storage
// is full, and passes on any other line of the same prefixes:
//
//	^SMMEMFULL: "SM"              Huawei
//	+CIEV: "SMSFULL",1            the "smsfull" indicator of TS 27.007 §8.9, by name
//	+QIND: "smsfull","SM"         Quectel
//
// A +CIEV by number (+CIEV: 7,1) needs the order of AT+CIND=?, which Init
// does not read: such lines stay EventUnsolicited.
func (m *Modem) onMemoryFull(lines []string) {
	s := lines[0]
	prefix, arg, _ := strings.Cut(s, ":")
	f := splitFields(arg)
	e := Event{Kind: EventUnsolicited, Line: s, Length: -1}
	switch strings.ToUpper(strings.TrimSpace(prefix)) {
	case "^SMMEMFULL":
		e.Kind = EventMemoryFull
		if len(f) > 0 {
			e.Mem = strings.ToUpper(unquote(f[0]))
		}
	case "+CIEV":
		if len(f) >= 2 && strings.EqualFold(unquote(f[0]), "SMSFULL") && strings.TrimSpace(f[1]) == "1" {
			e.Kind = EventMemoryFull
		}
	case "+QIND":
		if len(f) >= 1 && strings.EqualFold(unquote(f[0]), "smsfull") {
			e.Kind = EventMemoryFull
			if len(f) >= 2 {
				e.Mem = strings.ToUpper(unquote(f[1]))
			}
		}
	}
	m.emit(e)
}
