package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDeb_Contents: the files, their modes and owners, the conffile and the
// control fields of the amd64 package.
func TestDeb_Contents(t *testing.T) {
	deb := debFile(t, dist(t), testVersion, "amd64")
	want := map[string]string{ // path → mode and owner as dpkg-deb -c prints them
		"./usr/bin/simgate":                            "-rwxr-xr-x root/root",
		"./etc/simgate/simgate.yaml":                   "-rw-r----- root/root",
		"./usr/lib/systemd/system/simgate.service":     "-rw-r--r-- root/root",
		"./usr/lib/udev/rules.d/60-simgate.rules":      "-rw-r--r-- root/root",
		"./usr/share/doc/simgate/simgate.yaml.example": "-rw-r--r-- root/root",
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(output(t, "dpkg-deb", "-c", deb)), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("dpkg-deb -c line %q", line)
		}
		if strings.HasPrefix(f[0], "d") {
			continue
		}
		got[f[len(f)-1]] = f[0] + " " + f[1]
	}
	for path, mode := range want {
		if got[path] != mode {
			t.Errorf("%s: %q, want %q", path, got[path], mode)
		}
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("unexpected file in the package: %s", path)
		}
	}

	fields := map[string]string{"Package": "simgate", "Version": testVersion, "Architecture": "amd64", "Depends": "adduser"}
	for k, v := range fields {
		if got := strings.TrimSpace(output(t, "dpkg-deb", "-f", deb, k)); got != v {
			t.Errorf("control %s = %q, want %q", k, got, v)
		}
	}
	ctrl := t.TempDir()
	output(t, "dpkg-deb", "-e", deb, ctrl)
	conf, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(conf)) != "/etc/simgate/simgate.yaml" {
		t.Errorf("conffiles = %q, want /etc/simgate/simgate.yaml alone", conf)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		fi, err := os.Stat(filepath.Join(ctrl, s))
		if err != nil || fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("maintainer script %s missing or not executable: %v", s, err)
		}
	}
}

// TestDeb_UnitVerifies: systemd-analyze verify accepts the packaged unit
// without a warning. verify needs ExecStart to exist, so it checks a copy
// that starts the package's own binary extracted beside it.
func TestDeb_UnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("systemd-analyze is required in CI (.ci/run installs systemd): %v", err)
		}
		t.Skip("systemd-analyze not installed")
	}
	root := t.TempDir()
	output(t, "dpkg-deb", "-x", debFile(t, dist(t), testVersion, "amd64"), root)
	unit, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/simgate.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "ExecStart=/usr/bin/simgate serve --config /etc/simgate/simgate.yaml\n") {
		t.Fatal("the unit does not start /usr/bin/simgate serve with the packaged config")
	}
	copyDir := t.TempDir()
	copyPath := filepath.Join(copyDir, "simgate.service")
	patched := strings.ReplaceAll(string(unit), "/usr/bin/simgate", filepath.Join(root, "usr/bin/simgate"))
	if err := os.WriteFile(copyPath, []byte(patched), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", copyPath).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	lines := strings.Split(string(unit), "\n")
	for _, want := range []string{"Type=notify", "WatchdogSec=", "Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict",
		"ProtectHome=yes", "PrivateTmp=yes", "ReadWritePaths=/var/lib/simgate", "DevicePolicy=closed", "DeviceAllow=char-ttyUSB rw",
		"DeviceAllow=char-ttyACM rw", "SupplementaryGroups=dialout", "User=simgate"} {
		if !slices.ContainsFunc(lines, func(l string) bool {
			return l == want || strings.HasSuffix(want, "=") && strings.HasPrefix(l, want)
		}) {
			t.Errorf("the unit lacks %q", want)
		}
	}
}

// TestUdevRules_Syntax: every rule line of 60-simgate.rules is a known form:
// a vendor match setting ID_MM_DEVICE_IGNORE, or the guard and its label.
func TestUdevRules_Syntax(t *testing.T) {
	b, err := os.ReadFile("60-simgate.rules")
	if err != nil {
		t.Fatal(err)
	}
	vendor := regexp.MustCompile(`^ATTRS\{idVendor\}=="[0-9a-f]{4}", ENV\{ID_MM_DEVICE_IGNORE\}="1"$`)
	var vendors int
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case line == `ACTION=="remove", GOTO="simgate_end"`, line == `LABEL="simgate_end"`:
		case vendor.MatchString(line):
			vendors++
		default:
			t.Errorf("unexpected rule line %q", line)
		}
	}
	if vendors < 8 {
		t.Errorf("%d vendors ignored by ModemManager, want at least 8", vendors)
	}
}
