package packaging

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestDpkg_InstallUpgradeRemovePurge installs the amd64 package on this
// machine, upgrades it, removes it and purges it, checking at each step what
// a Debian admin expects. It changes the machine (a user, /etc, /usr/bin),
// so it runs only on CI (CI=true, as root) or with SIMGATE_TEST_DPKG=1, and
// purges whatever it installed.
func TestDpkg_InstallUpgradeRemovePurge(t *testing.T) {
	if os.Getenv("CI") != "true" && os.Getenv("SIMGATE_TEST_DPKG") != "1" {
		t.Skip("installs a package on this machine: set SIMGATE_TEST_DPKG=1 (CI runs it)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("dpkg needs root")
	}
	if exec.Command("dpkg-query", "-W", "simgate").Run() == nil {
		t.Fatal("a simgate package is installed already; this test would replace it")
	}
	if _, err := user.Lookup("simgate"); err == nil {
		t.Fatal("a simgate user exists already; this test would delete it on purge")
	}
	v1 := debFile(t, dist(t), testVersion, "amd64")
	v2 := repackage(t, "1.0.1")
	t.Cleanup(func() {
		if exec.Command("dpkg-query", "-W", "simgate").Run() == nil {
			if out, err := exec.Command("dpkg", "--purge", "simgate").CombinedOutput(); err != nil {
				t.Errorf("cleanup: dpkg --purge: %v\n%s", err, out)
			}
		}
	})
	dpkg := func(args ...string) {
		t.Helper()
		cmd := exec.Command("dpkg", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdin = nil // a conffile prompt would fail, not wait
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	dpkg("--install", v1)
	checkInstalled(t, testVersion)
	const conf = "/etc/simgate/simgate.yaml"
	edited := append(mustRead(t, conf), []byte("# edited by the admin\n")...)
	if err := os.WriteFile(conf, edited, 0o640); err != nil {
		t.Fatal(err)
	}
	data := "/var/lib/simgate/simgate.db"
	if err := os.WriteFile(data, []byte("not a real database"), 0o600); err != nil {
		t.Fatal(err)
	}

	dpkg("--install", v2)
	checkInstalled(t, "1.0.1")
	if got := mustRead(t, conf); string(got) != string(edited) {
		t.Errorf("upgrade replaced the admin's config:\n%s", got)
	}

	dpkg("--remove", "simgate")
	if _, err := os.Stat("/usr/bin/simgate"); !os.IsNotExist(err) {
		t.Errorf("remove left /usr/bin/simgate: %v", err)
	}
	for _, p := range []string{conf, data} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("remove deleted %s (kept until purge): %v", p, err)
		}
	}
	if _, err := user.Lookup("simgate"); err != nil {
		t.Errorf("remove deleted the simgate user (kept until purge): %v", err)
	}

	dpkg("--purge", "simgate")
	for _, p := range []string{"/etc/simgate", "/var/lib/simgate", "/usr/lib/systemd/system/simgate.service",
		"/usr/lib/udev/rules.d/60-simgate.rules", "/etc/systemd/system/multi-user.target.wants/simgate.service"} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("purge left %s: %v", p, err)
		}
	}
	if _, err := user.Lookup("simgate"); err == nil {
		t.Error("purge left the simgate user")
	}
	if _, err := user.LookupGroup("simgate"); err == nil {
		t.Error("purge left the simgate group")
	}
	if out, err := exec.Command("dpkg-statoverride", "--list", conf).Output(); err == nil {
		t.Errorf("purge left a statoverride: %s", out)
	}
}

// checkInstalled: the package at the version, its program running, the user in dialout, the
// state directory and the config with their owners and modes.
func checkInstalled(t *testing.T, version string) {
	t.Helper()
	if got := output(t, "dpkg-query", "-W", "-f", "${Version} ${Status}", "simgate"); got != version+" install ok installed" {
		t.Errorf("dpkg-query: %q, want version %s installed", got, version)
	}
	if out := output(t, "/usr/bin/simgate", "version"); !strings.HasPrefix(out, "simgate ") {
		t.Errorf("installed simgate version = %q", out)
	}
	u, err := user.Lookup("simgate")
	if err != nil {
		t.Fatalf("no simgate user: %v", err)
	}
	groups := output(t, "id", "-nG", "simgate")
	if !strings.Contains(" "+strings.TrimSpace(groups)+" ", " dialout ") {
		t.Errorf("simgate's groups = %q, want dialout among them", groups)
	}
	g, err := user.LookupGroup("simgate")
	if err != nil {
		t.Fatalf("no simgate group: %v", err)
	}
	checkOwner(t, "/var/lib/simgate", os.ModeDir|0o700, u.Uid, g.Gid)
	checkOwner(t, "/etc/simgate/simgate.yaml", 0o640, "0", g.Gid)
	for _, p := range []string{"/usr/lib/systemd/system/simgate.service", "/usr/lib/udev/rules.d/60-simgate.rules"} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
}

func checkOwner(t *testing.T, path string, mode os.FileMode, uid, gid string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode() != mode || strconv.Itoa(int(st.Uid)) != uid || strconv.Itoa(int(st.Gid)) != gid {
		t.Errorf("%s: mode %v uid %d gid %d, want %v %s %s", path, fi.Mode(), st.Uid, st.Gid, mode, uid, gid)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
