package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// "apikey create --scopes" refuses a scope name it does not know (usage
// error, nothing stored); without --scopes a key gets every scope but
// admin, and "apikey list" shows them.
func TestRunAPIKey_Scopes(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	_, stderr, err := runCmd(t, t.Context(), "", "apikey", "create", "--data", data, "--name", "typo", "--scopes", "messages:send,messages:sned")
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), `"messages:sned" is not a scope`) {
		t.Fatalf("create with messages:sned: %v (stderr %q), want a usage error naming it", err, stderr)
	}
	if _, _, err := runCmd(t, t.Context(), "", "apikey", "create", "--data", data, "--name", "shop"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t, t.Context(), "", "apikey", "create", "--data", data, "--name", "ops", "--scopes", " admin , modems:read"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, t.Context(), "", "apikey", "list", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ops   modems:read,admin ",
		"shop  messages:send,messages:read,inbox:read,otp,webhooks,modems:read ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("apikey list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "typo") {
		t.Errorf("the refused key was stored:\n%s", out)
	}
}
