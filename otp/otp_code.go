package otp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"math/big"
	"strings"
)

// codeHash is HMAC-SHA256(key, id ‖ 0 ‖ code): bound to the verification, so
// a hash copied to another row approves nothing.
func (s *Service) codeHash(id, code string) []byte {
	m := hmac.New(sha256.New, s.macKey)
	io.WriteString(m, id)
	m.Write([]byte{0})
	io.WriteString(m, code)
	return m.Sum(nil)
}

// newCode returns n uniform decimal digits from crypto/rand.
func newCode(n int) string {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	v, _ := rand.Int(rand.Reader, limit) // crypto/rand never fails (Go ≥ 1.24)
	s := v.String()
	return strings.Repeat("0", n-len(s)) + s
}

// normalizeCode forgives what people type around a code: spaces and dashes
// (codes are often shown grouped).
func normalizeCode(c string) string {
	if len(c) > 32 {
		return c[:32] // longer input is wrong anyway; bound the work
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, c)
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
