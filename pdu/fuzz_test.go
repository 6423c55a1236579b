package pdu

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// TestConcurrentCodec encodes and decodes from many goroutines at once;
// under -race it catches the sms library's lazily built tables.
func TestConcurrentCodec(t *testing.T) {
	pdus := []string{
		"00440C910972504390920000423051410350201103240101D84CD39B393B0DDAA43767", // Turkish tables
		"07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
		"00040BD053F41BBE290300004230514103502002C834",
	}
	texts := []string{"Hello {world} €", "Привет 😀", strings.Repeat("x", 200)}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 16 {
		wg.Go(func() {
			for i := range 20 {
				text := texts[(g+i)%len(texts)]
				s, err := EncodeSubmit("+447700900123", text, SubmitOptions{ConcatRef: i})
				if err != nil {
					errs <- err
					return
				}
				for _, seg := range s.Segments {
					if _, err := Decode(seg.PDU); err != nil {
						errs <- err
						return
					}
				}
				if _, err := Decode(pdus[(g+i)%len(pdus)]); err != nil {
					errs <- err
					return
				}
				Preview(text)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// fuzzSeeds are every hex vector of the tests.
func fuzzSeeds(f *testing.F) []string {
	seeds := []string{
		"", "00", "0", "zz", "0003", "00040B914477",
		"00440C910972504390920000423051410350201103240101D84CD39B393B0DDAA43767",
		"00040C910972504390920000423051410350200731D98C56B3DD1A",
		"00440C910972504390920000423051410350200D032501013830C80739880306",
		"00440C91097250439092000042305141035020100624010125010107066853E66CE6",
		"00040C910972504390920000423051410350200FC8329BFD6681EE6F399B1C0A851A",
		"00040BD053F41BBE290300004230514103502002C834",
		"00040B914477009001F300004230512141500A05C8329BFD06",
		"00440B914477009001F30004423051214150000B0605040B8423F0DEADBEEF",
		"00440B914477009001F3000042305121415000090500037F03029069",
		"00440B914477009001F30008423051214150000B060804BEEF020100410042",
		"00312A0B817007900021F30000AD02C834",
		"0006D60B911326880736F4111011719551401110117195714000FFFFFFFF",
		"0006D60B911326880736F411101171955140111011719571404607000005C8329BFD06",
		"079144872000302306D60B911326880736F4111011719551401110117195714020",
	}
	for _, v := range mustReadJSONL[decodeVector](f, "deliver.jsonl") {
		seeds = append(seeds, v.PDU)
	}
	for _, v := range mustReadJSONL[submitVector](f, "submit.jsonl") {
		seeds = append(seeds, v.PDUs...)
	}
	return seeds
}

// FuzzDecode: Decode never panics, errors are always *DecodeError inside
// the input, decoding is deterministic, and what decodes as a deliver
// survives EncodeDeliver and Decode again with the same text.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		m, err := Decode(h)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
			}
			if de.Offset < 0 || de.Offset > len(h)/2+1 {
				t.Fatalf("offset %d outside a %d-octet PDU", de.Offset, len(h)/2)
			}
			return
		}
		again, err := Decode(h)
		if err != nil || !reflect.DeepEqual(m, again) {
			t.Fatalf("second decode differs: %+v / %v", again, err)
		}
		if m.Type != TypeDeliver || m.Encoding == Octet || !utf8.ValidString(m.Text) {
			return
		}
		if m.Text == "" || strings.ContainsRune(m.Text, utf8.RuneError) {
			return
		}
		pdus, err := EncodeDeliver(Address{Number: "+447700900123"}, m.Text, DeliverOptions{SCTS: m.SCTS, ConcatRef: 1})
		if err != nil {
			if errors.Is(err, ErrTooLong) || strings.Contains(err.Error(), "scts") {
				return
			}
			t.Fatalf("EncodeDeliver(%q): %v", m.Text, err)
		}
		assertRoundTrip(t, pdus, m.Text)
	})
}

// FuzzEncodeSubmit: any valid UTF-8 text encodes, every segment decodes
// back and the joined text equals the input.
func FuzzEncodeSubmit(f *testing.F) {
	for _, s := range []string{"Hello", "€{}[]^~|\\\f", "Привет 😀", "a\x1bb", "\r\n", strings.Repeat("a", 152) + "€" + "b",
		strings.Repeat("ж", 66) + "😀", "\x00@", "\U0010FFFF"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	for _, v := range mustReadJSONL[submitVector](f, "submit.jsonl") {
		f.Add(v.Text, v.Concat16)
	}
	f.Fuzz(func(t *testing.T, text string, concat16 bool) {
		if len(text) > 2000 {
			// Long texts only repeat what short ones cover, and make the
			// fuzzer's minimisation crawl.
			return
		}
		s, err := EncodeSubmit("+447700900123", text, SubmitOptions{ConcatRef: 42, Concat16: concat16})
		switch {
		case text == "":
			if !errors.Is(err, ErrEmptyText) {
				t.Fatalf("empty text: %v", err)
			}
			return
		case !utf8.ValidString(text):
			if !errors.Is(err, ErrInvalidText) {
				t.Fatalf("invalid UTF-8: %v", err)
			}
			return
		case errors.Is(err, ErrTooLong):
			return
		case err != nil:
			t.Fatalf("EncodeSubmit(%q): %v", text, err)
		}
		if p := Preview(text); p.Encoding != s.Encoding || p.Segments != len(s.Segments) && !concat16 {
			t.Fatalf("Preview %+v disagrees with %d %s segments", p, len(s.Segments), s.Encoding)
		}
		pdus := make([]string, len(s.Segments))
		for i, seg := range s.Segments {
			if seg.TPDULength > 164 || seg.TPDULength != len(seg.PDU)/2-1 {
				t.Fatalf("segment %d: TPDULength %d", i, seg.TPDULength)
			}
			pdus[i] = seg.PDU
		}
		assertRoundTrip(t, pdus, text)
	})
}

func assertRoundTrip(t *testing.T, pdus []string, want string) {
	t.Helper()
	r := NewReassembler(time.Hour)
	var whole *Message
	for _, p := range pdus {
		m, err := Decode(p)
		if err != nil {
			t.Fatalf("Decode(%s): %v", p, err)
		}
		if whole, err = r.Add("", m, time.Unix(0, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if whole == nil || whole.Text != want {
		t.Fatalf("round trip = %+v, want %q", whole, want)
	}
}

func BenchmarkEncodeSubmit(b *testing.B) {
	benches := []struct {
		name string
		text string
	}{
		{"gsm7_short", "Your verification code is 123456"},
		{"ucs2_multipart", strings.Repeat("Привет, мир! 😀 ", 40)},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := EncodeSubmit("+447700900123", bb.text, SubmitOptions{ConcatRef: 7, StatusReport: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	benches := []struct {
		name string
		pdu  string
	}{
		{"deliver", "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"},
		{"status_report", "0006D60B911326880736F4111011719551401110117195714000"},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(bb.pdu); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
