package pdu

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gsm7"
)

// rawDeliver builds an SMS-DELIVER part from +447700900123 with an 8-bit
// concatenation header and the user data as given, the way a sender that
// cuts characters in half would.
func rawDeliver(t *testing.T, ucs2 bool, ref, total, part int, ud []byte) string {
	t.Helper()
	b := []byte{0x00, 0x44, 0x0C, 0x91, 0x44, 0x77, 0x00, 0x09, 0x10, 0x32, 0x00}
	udh := []byte{5, 0, 3, byte(ref), byte(total), byte(part)}
	if ucs2 {
		b = append(b, 0x08, 0x42, 0x30, 0x51, 0x21, 0x41, 0x50, 0x00, byte(len(udh)+len(ud)))
		b = append(b, udh...)
		b = append(b, ud...)
	} else {
		b = append(b, 0x00, 0x42, 0x30, 0x51, 0x21, 0x41, 0x50, 0x00, byte(7+len(ud)))
		b = append(b, udh...)
		b = append(b, gsm7.Pack(ud, 1)...)
	}
	return upperHex(b)
}

func TestReassembler_SplitCharacters(t *testing.T) {
	septets := func(s string) []byte {
		b, ok := gsm7.Septets(s)
		if !ok {
			t.Fatalf("%q is not GSM-7", s)
		}
		return b
	}
	utf16be := func(s string) []byte {
		var b []byte
		for _, u := range toUTF16(s) {
			b = append(b, byte(u>>8), byte(u))
		}
		return b
	}
	tests := []struct {
		name  string
		ucs2  bool
		parts [][]byte
		want  string
	}{
		{
			name:  "escape split from its euro",
			parts: [][]byte{append(septets("price "), gsm7.Esc), append([]byte{0x65}, septets(" 5")...)},
			want:  "price € 5",
		},
		{
			name:  "escaped ESC is not dangling",
			parts: [][]byte{append(septets("a"), gsm7.Esc, gsm7.Esc), septets("b")},
			want:  "a b",
		},
		{
			name:  "three parts, escape split twice",
			parts: [][]byte{append(septets("x"), gsm7.Esc), append([]byte{0x28}, append(septets("y"), gsm7.Esc)...), []byte{0x29}},
			want:  "x{y}",
		},
		{
			name:  "surrogate pair split",
			ucs2:  true,
			parts: [][]byte{append(utf16be("hi "), 0xD8, 0x3D), append([]byte{0xDE, 0x00}, utf16be(" ok")...)},
			want:  "hi 😀 ok",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every arrival order gives the same text.
			for _, order := range permutations(len(tt.parts)) {
				r := NewReassembler(time.Hour)
				var whole *Message
				for _, i := range order {
					m := mustDecode(t, rawDeliver(t, tt.ucs2, 77, len(tt.parts), i+1, tt.parts[i]))
					got, err := r.Add("imei", m, time.Unix(100, 0))
					if err != nil {
						t.Fatal(err)
					}
					if got != nil {
						whole = got
					}
				}
				if whole == nil {
					t.Fatalf("order %v: never complete", order)
				}
				if whole.Text != tt.want || whole.Concat != nil {
					t.Errorf("order %v: text %q concat %+v, want %q", order, whole.Text, whole.Concat, tt.want)
				}
				if r.Pending() != 0 {
					t.Errorf("order %v: %d sets left", order, r.Pending())
				}
			}
		})
	}
}

func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

func mustDeliverParts(t *testing.T, from, text string, ref int, concat16 bool) []*Message {
	t.Helper()
	pdus, err := EncodeDeliver(Address{Number: from}, text, DeliverOptions{ConcatRef: ref, Concat16: concat16})
	if err != nil {
		t.Fatal(err)
	}
	ms := make([]*Message, len(pdus))
	for i, p := range pdus {
		ms[i] = mustDecode(t, p)
	}
	return ms
}

func TestReassembler_Add(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	long := strings.Repeat("part of a long text ", 20)

	t.Run("not concatenated passes through", func(t *testing.T) {
		r := NewReassembler(time.Hour)
		m := mustDeliverParts(t, "+1555", "short", 0, false)[0]
		got, err := r.Add("a", m, t0)
		if err != nil || got != m {
			t.Fatalf("Add = %v, %v; want the message itself", got, err)
		}
	})

	t.Run("duplicate part ignored", func(t *testing.T) {
		r := NewReassembler(time.Hour)
		parts := mustDeliverParts(t, "+1555", long, 5, false)
		for _, p := range []*Message{parts[0], parts[0], parts[1]} {
			if got, err := r.Add("a", p, t0); err != nil || got != nil {
				t.Fatalf("Add = %v, %v; want nothing yet", got, err)
			}
		}
		got, err := r.Add("a", parts[2], t0)
		if err != nil || got == nil || got.Text != long {
			t.Fatalf("Add = %+v, %v; want the whole text", got, err)
		}
		// A late duplicate of a finished message opens a new set rather
		// than failing.
		if got, err := r.Add("a", parts[1], t0); err != nil || got != nil {
			t.Fatalf("late duplicate: %v, %v", got, err)
		}
	})

	t.Run("conflicting part refused", func(t *testing.T) {
		r := NewReassembler(time.Hour)
		a := mustDeliverParts(t, "+1555", long, 5, false)
		b := mustDeliverParts(t, "+1555", strings.ToUpper(long), 5, false)
		if _, err := r.Add("a", a[0], t0); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Add("a", b[0], t0); !errors.Is(err, ErrConflictingPart) {
			t.Fatalf("Add = %v, want ErrConflictingPart", err)
		}
	})

	t.Run("sets are kept apart", func(t *testing.T) {
		r := NewReassembler(time.Hour)
		base := mustDeliverParts(t, "+1555", long, 5, false)
		others := [][]*Message{
			mustDeliverParts(t, "+1666", long, 5, false),      // other sender
			mustDeliverParts(t, "+1555", long, 6, false),      // other ref
			mustDeliverParts(t, "+1555", long, 5, true),       // 16-bit ref space
			mustDeliverParts(t, "+1555", long+long, 5, false), // other total
		}
		add := func(source string, m *Message) *Message {
			t.Helper()
			got, err := r.Add(source, m, t0)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		add("a", base[0])
		add("b", base[1]) // other modem
		for _, o := range others {
			add("a", o[1])
		}
		if n := r.Pending(); n != 2+len(others) {
			t.Fatalf("%d sets, want %d", n, 2+len(others))
		}
		add("a", base[1])
		if got := add("a", base[2]); got == nil || got.Text != long {
			t.Fatalf("joined %+v", got)
		}
	})

	t.Run("invalid concat", func(t *testing.T) {
		r := NewReassembler(time.Hour)
		for _, c := range []Concat{{Ref: 1, Part: 0, Total: 2, Bits: 8}, {Ref: 1, Part: 3, Total: 2, Bits: 8}, {Ref: 1, Part: 1, Total: 2, Bits: 7}} {
			if _, err := r.Add("a", &Message{Concat: &c}, t0); !errors.Is(err, ErrInvalidConcat) {
				t.Errorf("%+v: %v, want ErrInvalidConcat", c, err)
			}
		}
		if _, err := r.Add("a", nil, t0); err == nil {
			t.Error("nil message accepted")
		}
	})
}

func TestReassembler_Expire(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r := NewReassembler(10 * time.Minute)
	long := strings.Repeat("0123456789", 40) // 3 parts
	a := mustDeliverParts(t, "+1555", long, 1, false)
	b := mustDeliverParts(t, "+1666", long, 2, false)

	mustAdd := func(m *Message, at time.Time) {
		t.Helper()
		if got, err := r.Add("modem", m, at); err != nil || got != nil {
			t.Fatalf("Add = %v, %v", got, err)
		}
	}
	mustAdd(a[2], t0)
	mustAdd(b[0], t0.Add(time.Minute))
	mustAdd(a[0], t0.Add(5*time.Minute)) // refreshes a's set

	if got := r.Expire(t0.Add(10*time.Minute + time.Minute - 1)); len(got) != 0 {
		t.Fatalf("expired too early: %+v", got)
	}
	got := r.Expire(t0.Add(11 * time.Minute))
	if len(got) != 1 || got[0].From.Number != "+1666" || got[0].Ref != 2 || got[0].Total != 3 || got[0].Source != "modem" {
		t.Fatalf("Expire = %+v, want b's set", got)
	}
	if p := got[0].Parts; len(p) != 3 || p[0] != b[0] || p[1] != nil || p[2] != nil {
		t.Errorf("parts = %v", p)
	}
	got = r.Expire(t0.Add(15 * time.Minute))
	if len(got) != 1 || got[0].From.Number != "+1555" || got[0].Parts[1] != nil || got[0].Parts[0] != a[0] || got[0].Parts[2] != a[2] {
		t.Fatalf("Expire = %+v, want a's set", got)
	}
	if r.Pending() != 0 {
		t.Errorf("%d sets left", r.Pending())
	}
	// After expiry the remaining part starts a fresh set.
	mustAdd(a[1], t0.Add(16*time.Minute))
	if r.Pending() != 1 {
		t.Errorf("%d sets, want 1", r.Pending())
	}
}
