package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/simgate/simgate/internal/pgtest"
)

// The package's one PostgreSQL server, started by the first test that
// needs it and stopped by TestMain.
var (
	pgOnce   sync.Once
	pgServer *pgtest.Server
	pgErr    error
)

// postgres returns the URL of a new empty schema on the package's
// PostgreSQL server; the test is skipped without PostgreSQL (outside CI).
func postgres(t *testing.T) string {
	t.Helper()
	pgOnce.Do(func() { pgServer, pgErr = pgtest.Start() })
	if pgErr != nil {
		if pgtest.Required() {
			t.Fatal(pgErr)
		}
		t.Skip(pgErr)
	}
	return pgServer.Schema(t)
}

func stopPostgres() {
	if pgServer != nil {
		pgServer.Stop()
	}
}

// "simgate migrate" moves a SQLite installation into an empty PostgreSQL
// database, after which the commands on that database see what it had; it
// refuses a target that holds anything, and a --from that is no sqlite:DIR.
func TestRunMigrate(t *testing.T) {
	url := postgres(t)
	data := t.TempDir()
	if _, _, err := runCmd(t, t.Context(), "", "apikey", "create", "--data", data, "--name", "shop"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, t.Context(), "", "migrate", "--from", "sqlite:"+data, "--to", url)
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if !strings.Contains(out, "api_keys               1 rows") || !strings.Contains(out, "otp.key") {
		t.Errorf("migrate said:\n%s", out)
	}
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if k == "SIMGATE_DATABASE" {
			return url
		}
		return ""
	}
	if err := run(t.Context(), []string{"simgate", "apikey", "list", "--data", t.TempDir()}, getenv,
		strings.NewReader(""), &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "shop") {
		t.Errorf("apikey list on PostgreSQL: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	_, _, err = runCmd(t, t.Context(), "", "migrate", "--from", "sqlite:"+data, "--to", url)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("second migrate: %v, want a refusal of the non-empty target", err)
	}
	_, _, err = runCmd(t, t.Context(), "", "migrate", "--from", data, "--to", url)
	if exitCode(err) != 2 {
		t.Errorf("migrate --from without sqlite:: %v, want a usage error", err)
	}
}
