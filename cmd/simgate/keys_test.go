package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// During a rotation of otp.key, the previous file still opens webhook
// secrets; a loose or short one is refused rather than trusted.
func TestWebhookKeys(t *testing.T) {
	dir := t.TempDir()
	cur := bytes.Repeat([]byte{1}, 32)
	keys, err := webhookKeys(dir, cur)
	if err != nil || len(keys) != 1 || !bytes.Equal(keys[0], cur) {
		t.Fatalf("without a previous key: %d keys, %v; want otp.key alone", len(keys), err)
	}
	prev := bytes.Repeat([]byte{2}, 32)
	path := filepath.Join(dir, previousKeyFile)
	if err := os.WriteFile(path, prev, 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err = webhookKeys(dir, cur)
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], cur) || !bytes.Equal(keys[1], prev) {
		t.Fatalf("with a previous key: %d keys, %v; want otp.key then the previous", len(keys), err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := webhookKeys(dir, cur); err == nil {
		t.Error("a previous key readable by others was accepted")
	}
}
