package modem

import "testing"

func TestEvents_MemoryFull(t *testing.T) {
	tests := []struct {
		line string
		kind EventKind
		mem  string
	}{
		{`^SMMEMFULL: "SM"`, EventMemoryFull, "SM"},
		{`^SMMEMFULL:"ME"`, EventMemoryFull, "ME"},
		{`+CIEV: "SMSFULL",1`, EventMemoryFull, ""},
		{`+CIEV: "SMSFULL",0`, EventUnsolicited, ""}, // room again
		{`+CIEV: 2,3`, EventUnsolicited, ""},         // signal, by number
		{`+QIND: "smsfull","SM"`, EventMemoryFull, "SM"},
		{`+QIND: "csq",20,99`, EventUnsolicited, ""},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			f := newFake(t)
			m := mustModem(t, f, Config{})
			f.inject("\r\n" + tt.line + "\r\n")
			e := mustEvent(t, m)
			if e.Kind != tt.kind || e.Mem != tt.mem || e.Line != tt.line {
				t.Errorf("event %+v, want kind %s mem %q", e, tt.kind, tt.mem)
			}
		})
	}
}

// A memory-full sign is never coalesced away by a later line of the same
// prefix, as signal +CIEV lines would replace each other.
func TestEvents_MemoryFullNotCoalesced(t *testing.T) {
	f := newFake(t)
	m := mustModem(t, f, Config{})
	f.inject("\r\n+CIEV: \"SMSFULL\",1\r\n\r\n+CIEV: 2,3\r\n\r\n+CIEV: 2,4\r\n")
	var full bool
	for range 2 {
		if e := mustEvent(t, m); e.Kind == EventMemoryFull {
			full = true
		}
	}
	if !full {
		t.Error("the memory-full +CIEV was lost")
	}
}
