package webhook

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
	"strings"
	"sync"

	"github.com/simgate/simgate/gateway"
)

// An endpoint's signing secret is stored sealed (AES-256-GCM, bound to the
// endpoint's ID) under a key derived from the data directory's key file,
// like OTP texts: a copy of the database alone cannot sign webhooks. The
// receiver needs the same secret, so it cannot be hashed.
//
// The database's CHECK wants every secret to start "whsec_", so a sealed
// one is "whsec_sealed.v1." and the base64 of nonce and ciphertext ("." is
// not base64: no clear secret looks like it), and a wiped one (a deleted
// endpoint's) is "whsec_" alone.
const (
	secretPrefix = "whsec_"
	sealedPrefix = secretPrefix + "sealed.v1."
	wipedSecret  = secretPrefix
)

// ErrSecretSealed means an endpoint's secret cannot be opened with any key
// the Notifier has: it was sealed under another key file.
var ErrSecretSealed = errors.New("webhook secret sealed with another key")

// secretBox seals secrets with the first of its keys and opens them with
// any: during a rotation of the key file, the old key (otp.key.previous)
// still opens what it sealed until Run has sealed it again.
type secretBox struct{ aeads []cipher.AEAD }

// processKey seals when the Notifier is given no key: Notifiers of one
// process share it, and a secret it sealed dies with the process.
var processKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand never fails (Go ≥ 1.24)
	return k
})

func newSecretBox(keys [][]byte) *secretBox {
	if len(keys) == 0 {
		keys = [][]byte{processKey()}
	}
	b := &secretBox{}
	for _, k := range keys {
		m := hmac.New(sha256.New, k)
		m.Write([]byte("simgate webhook secret seal v1"))
		block, err := aes.NewCipher(m.Sum(nil))
		if err != nil {
			panic(err) // a 32-byte key cannot fail
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			panic(err)
		}
		b.aeads = append(b.aeads, aead)
	}
	return b
}

// seal seals a clear "whsec_…" secret for the endpoint id.
func (b *secretBox) seal(id, secret string) string {
	a := b.aeads[0]
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(secret)+a.Overhead())
	_, _ = rand.Read(nonce)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(a.Seal(nonce, nonce, []byte(secret), []byte("webhook\x00"+id)))
}

// open returns the clear secret of a stored one, and whether it should be
// sealed again: it is still clear (stored before sealing), or was sealed
// with an older key.
func (b *secretBox) open(id, stored string) (secret string, reseal bool, err error) {
	if stored == wipedSecret {
		return "", false, fmt.Errorf("webhook %s has no secret left", id)
	}
	raw, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return stored, true, nil
	}
	ct, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil {
		return "", false, ErrSecretSealed
	}
	for i, a := range b.aeads {
		n := a.NonceSize()
		if len(ct) < n {
			return "", false, ErrSecretSealed
		}
		plain, err := a.Open(nil, ct[:n], ct[n:], []byte("webhook\x00"+id))
		if err == nil {
			return string(plain), i > 0, nil
		}
	}
	return "", false, ErrSecretSealed
}

// resealSecrets seals, with the current key, every live endpoint's secret
// that is still clear or sealed with an older key. Run calls it at start.
func (n *Notifier) resealSecrets(ctx context.Context) error {
	secrets, err := n.store.WebhookSecrets(ctx)
	if err != nil {
		return fmt.Errorf("reseal webhook secrets: %w", err)
	}
	done := 0
	for id, stored := range secrets {
		secret, reseal, err := n.box.open(id, stored)
		if err != nil {
			n.log.Error("webhook secret cannot be opened; its deliveries will fail", "webhook_id", id, "err", err)
			continue
		}
		if !reseal {
			continue
		}
		err = n.store.SetWebhookSecret(ctx, id, stored, n.box.seal(id, secret))
		if errors.Is(err, gateway.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return fmt.Errorf("reseal webhook secret %s: %w", id, err)
		}
		done++
	}
	if done > 0 {
		n.log.Info("webhook secrets sealed with the current key", "endpoints", done)
	}
	return nil
}
