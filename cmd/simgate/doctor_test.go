package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simgate/simgate/doctor"
	"github.com/simgate/simgate/modem/modemsim"
)

// TestDoctor_VirtualModems runs "simgate doctor --json" against virtual
// modems on real ptys: one healthy, and one for each modem problem a
// virtual modem can have — a SIM asking for its PIN, no network, no
// signal. Each problem fails its own check with a fix, the healthy modem
// passes every check, and the exit status says that something failed.
func TestDoctor_VirtualModems(t *testing.T) {
	ctx := t.Context()
	net := modemsim.NewNetwork()
	t.Cleanup(func() { net.Close() })
	open := func(cfg modemsim.Config) (*modemsim.Modem, string) {
		m := net.AddModem(cfg)
		p, err := m.OpenPTY(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m, p
	}
	_, good := open(modemsim.Config{})
	_, locked := open(modemsim.Config{PIN: "4321"})
	unregistered, lost := open(modemsim.Config{})
	unregistered.SetRegistration(modemsim.RegSearching)
	silent, quiet := open(modemsim.Config{})
	silent.SetSignal(99, 99)

	data := privateDir(t)
	conf := filepath.Join(t.TempDir(), "simgate.yaml")
	if err := os.WriteFile(conf, []byte("data: "+data+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"simgate", "doctor", "--json", "--config", conf}
	for _, p := range []string{good, locked, lost, quiet} {
		args = append(args, "--modem", p)
	}
	stdout, stderr, err := runCmd(t, ctx, "", args[1:]...)
	if !errors.Is(err, errChecksFailed) {
		t.Fatalf("doctor: err %v, want %v\nstderr: %s", err, errChecksFailed, stderr)
	}
	var rep doctor.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, stdout)
	}
	if rep.OK {
		t.Error("report ok with three broken modems")
	}
	status := func(check, target string) doctor.Result {
		t.Helper()
		for _, r := range rep.Checks {
			if r.Check == check && r.Target == target {
				return r
			}
		}
		t.Fatalf("no %s check for %q in %s", check, target, stdout)
		return doctor.Result{}
	}
	for _, c := range []string{"port", "sim", "registration", "signal"} {
		if r := status(c, good); r.Status != doctor.OK {
			t.Errorf("healthy modem: %s = %+v, want ok", c, r)
		}
	}
	for _, want := range []struct{ check, port, detail string }{
		{"sim", locked, "PIN"},
		{"registration", lost, "searching"},
		{"signal", quiet, "no signal"},
	} {
		r := status(want.check, want.port)
		if r.Status != doctor.Fail || r.Fix == "" || !strings.Contains(r.Detail, want.detail) {
			t.Errorf("%s on %s = %+v, want fail mentioning %q, with a fix", want.check, want.port, r, want.detail)
		}
	}
	if r := status("config", conf); r.Status != doctor.OK {
		t.Errorf("config = %+v, want ok", r)
	}
	if r := status("data_dir", data); r.Status != doctor.OK {
		t.Errorf("data_dir = %+v", r)
	}
}

// TestDoctor_HealthyModemAndBadConfig: a misspelt key fails the config
// check, named; with it fixed, a healthy modem passes every modem check and
// the exit status follows the report (the machine's own checks, such as
// ModemManager or the clock, are this host's).
func TestDoctor_HealthyModemAndBadConfig(t *testing.T) {
	ctx := t.Context()
	net := modemsim.NewNetwork()
	t.Cleanup(func() { net.Close() })
	m := net.AddModem(modemsim.Config{})
	port, err := m.OpenPTY(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data := privateDir(t)
	conf := filepath.Join(t.TempDir(), "simgate.yaml")
	if err := os.WriteFile(conf, []byte("data: "+data+"\nregoin: DE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := runCmd(t, ctx, "", "doctor", "--config", conf, "--modem", port)
	if !errors.Is(err, errChecksFailed) || !strings.Contains(stdout, "FAIL  config") || !strings.Contains(stdout, "regoin") {
		t.Errorf("misspelt key: err %v, output:\n%s\nwant the config check to fail naming regoin", err, stdout)
	}
	if err := os.WriteFile(conf, []byte("data: "+data+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, _, err = runCmd(t, ctx, "", "doctor", "--json", "--config", conf, "--modem", port)
	var rep doctor.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, stdout)
	}
	if rep.OK != (err == nil) || (err != nil && !errors.Is(err, errChecksFailed)) {
		t.Errorf("exit error %v does not follow the report (ok %v):\n%s", err, rep.OK, stdout)
	}
	seen := map[string]bool{}
	for _, r := range rep.Checks {
		switch r.Check {
		case "config", "port", "sim", "registration", "signal":
			seen[r.Check] = true
			if r.Status != doctor.OK {
				t.Errorf("healthy modem, valid config: %+v, want ok", r)
			}
		}
	}
	if len(seen) != 5 {
		t.Errorf("checks seen %v, want config, port, sim, registration, signal", seen)
	}
}

// privateDir is a data directory as serve makes it: 0700.
func privateDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}
