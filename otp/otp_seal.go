package otp

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
)

// OTPKeySize is the length of the OTP key file: 32 random bytes.
const OTPKeySize = 32

// LoadKey reads the OTP secret from path, creating it (mode 0600, 32
// bytes from crypto/rand) when absent. The key never enters the database:
// a copy of the database alone cannot confirm a code. A key file readable
// by group or others is refused.
func LoadKey(path string) ([]byte, error) {
	key, err := readOTPKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key = make([]byte, OTPKeySize)
	_, _ = rand.Read(key) // crypto/rand never fails (Go ≥ 1.24)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readOTPKey(path) // another process made it first
	}
	if err != nil {
		return nil, fmt.Errorf("create otp key: %w", err)
	}
	_, werr := f.Write(key)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("create otp key: %w", err)
	}
	return key, nil
}

// ReadKey reads a key file as LoadKey does but never creates one: an error
// wrapping fs.ErrNotExist when there is none.
func ReadKey(path string) ([]byte, error) { return readOTPKey(path) }

func readOTPKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("read otp key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read otp key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("read otp key: %s has mode %04o; it must be readable by its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	key, err := io.ReadAll(io.LimitReader(f, OTPKeySize+1))
	if err != nil {
		return nil, fmt.Errorf("read otp key: %w", err)
	}
	if len(key) != OTPKeySize {
		return nil, fmt.Errorf("read otp key: %s holds %d bytes, want %d", path, len(key), OTPKeySize)
	}
	return key, nil
}

// deriveKey gives each use of the key file its own key.
func deriveKey(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, label)
	return m.Sum(nil)
}

// RedactedOTPText replaces a sealed OTP message's text wherever a message
// is read for people (the API, the status page).
const RedactedOTPText = "(one-time code; the text is sealed)"

type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) *sealer {
	block, err := aes.NewCipher(deriveKey(key, "simgate otp seal v1"))
	if err != nil {
		panic(err) // a 32-byte key cannot fail
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &sealer{aead: aead}
}

func (s *sealer) seal(ad, plain string) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, []byte(plain), []byte(ad))
}

func (s *sealer) open(ad string, sealed []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", ErrOTPSealed
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(ad))
	if err != nil {
		return "", ErrOTPSealed
	}
	return string(plain), nil
}

// sealText seals an SMS text bound to its message ID.
func (s *sealer) sealText(msgID, text string) string {
	return gateway.SealedOTPPrefix + base64.RawStdEncoding.EncodeToString(s.seal("msg\x00"+msgID, text))
}

func (s *sealer) openText(msgID, body string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(body, gateway.SealedOTPPrefix))
	if err != nil {
		return "", ErrOTPSealed
	}
	return s.open("msg\x00"+msgID, raw)
}

// sealCode seals a code bound to its verification, for the email fallback.
func (s *sealer) sealCode(id, code string) []byte { return s.seal("code\x00"+id, code) }

func (s *sealer) openCode(id string, sealed []byte) (string, error) {
	return s.open("code\x00"+id, sealed)
}

// SealedStore wraps a Store for the Dispatcher and the Service: a claimed
// OTP message comes back with its text opened, so that the worker encodes
// the real text; messages read for people show RedactedOTPText. Every other
// call goes straight through.
func SealedStore(st gateway.Store, key []byte) gateway.Store {
	return &sealedStore{Store: st, seal: newSealer(key)}
}

type sealedStore struct {
	gateway.Store
	seal *sealer
}

func (s *sealedStore) ClaimNext(ctx context.Context, c gateway.Claim) (*gateway.Message, error) {
	for {
		m, err := s.Store.ClaimNext(ctx, c)
		if err != nil || m == nil || !gateway.IsSealedOTP(m.Text) {
			return m, err
		}
		text, err := s.seal.openText(m.ID, m.Text)
		if err == nil {
			m.Text, m.Sealed = text, true
			return m, nil
		}
		// Sealed under another key file: it can never be sent.
		if ferr := s.Store.Fail(ctx, m.ID, "otp text sealed with another key", c.Now); ferr != nil {
			return nil, fmt.Errorf("fail unopenable otp message: %w", ferr)
		}
	}
}

func (s *sealedStore) Message(ctx context.Context, id string) (*gateway.Message, error) {
	m, err := s.Store.Message(ctx, id)
	redact(m)
	return m, err
}

func (s *sealedStore) Messages(ctx context.Context, f gateway.MessageFilter) ([]*gateway.Message, string, error) {
	ms, next, err := s.Store.Messages(ctx, f)
	for _, m := range ms {
		redact(m)
	}
	return ms, next, err
}

func (s *sealedStore) CancelMessage(ctx context.Context, id string, now time.Time) (*gateway.Message, error) {
	m, err := s.Store.CancelMessage(ctx, id, now)
	redact(m)
	return m, err
}

func (s *sealedStore) CreateMessage(ctx context.Context, m *gateway.Message, idem gateway.IdempotencyKey) (*gateway.Message, bool, error) {
	got, replayed, err := s.Store.CreateMessage(ctx, m, idem)
	redact(got)
	return got, replayed, err
}

func redact(m *gateway.Message) {
	if m != nil && gateway.IsSealedOTP(m.Text) {
		m.Text = RedactedOTPText
	}
}
