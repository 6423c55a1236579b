package gateway

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// crockford is Crockford's base32 alphabet: no I, L, O or U, so an ID read
// aloud or copied by hand survives.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ids makes every ID of the process, so that two IDs made in the same
// millisecond still sort in the order they were made.
var ids idSource

// maxStepBack is how far behind the last ID's time (ms) a new one may be and
// still be ordered after it. Further back is a time given on purpose (an
// injected clock, a clock set right), which the ID then carries.
const maxStepBack = 1000

// idSource is a ULID generator (48-bit Unix milliseconds, then 80 random
// bits) that is monotonic within the process: when the clock does not move
// forward, the previous random part is incremented instead of drawn again.
type idSource struct {
	mu     sync.Mutex
	lastMS uint64
	hi     uint16 // top 16 of the 80 random bits
	lo     uint64 // bottom 64
}

// NewID returns prefix followed by 26 Crockford base32 characters: a
// ULID-like identifier that sorts by creation time (to the millisecond, and
// in creation order within the process, across clock jitter of up to a
// second) and carries 80 bits from crypto/rand. Messages use "msg_", inbound messages "in_".
func NewID(prefix string, now time.Time) string {
	ms := uint64(max(now.UnixMilli(), 0))
	hi, lo, ms := ids.next(ms)

	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], ms<<16|uint64(hi))
	binary.BigEndian.PutUint64(b[8:], lo)

	out := make([]byte, len(prefix)+26)
	copy(out, prefix)
	encodeULID(out[len(prefix):], b)
	return string(out)
}

func (s *idSource) next(ms uint64) (uint16, uint64, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ms > s.lastMS || s.lastMS-ms > maxStepBack {
		var r [10]byte
		_, _ = rand.Read(r[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
		s.lastMS = ms
		s.hi = binary.BigEndian.Uint16(r[:2])
		s.lo = binary.BigEndian.Uint64(r[2:])
		return s.hi, s.lo, ms
	}
	// Same millisecond, or the clock stepped back a little: keep the last
	// time and count up, so order never inverts. 80 bits do not overflow in
	// practice; if they did, the millisecond moves on.
	s.lo++
	if s.lo == 0 {
		s.hi++
		if s.hi == 0 {
			s.lastMS++
		}
	}
	return s.hi, s.lo, s.lastMS
}

// encodeULID writes the 128 bits of b as 26 base32 characters, 5 bits each,
// the first character carrying the top 3 bits (2 pad bits in front).
func encodeULID(dst []byte, b [16]byte) {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	for i := 25; i >= 0; i-- {
		dst[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
}
