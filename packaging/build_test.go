package packaging

import (
	"bufio"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The package the tests build, once per run: "make release" for amd64 only
// (the three architectures take minutes on a small machine; make release
// builds them all), stamped with testVersion.
const testVersion = "1.0.0"

var (
	distOnce sync.Once
	distDir  string
	distErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if distDir != "" {
		os.RemoveAll(distDir)
	}
	os.Exit(code)
}

// repoRoot is the module's root: the tests run in packaging/.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// dist runs "make release" once and returns its output directory.
func dist(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is required: %v", err)
	}
	distOnce.Do(func() {
		distDir, distErr = os.MkdirTemp("", "simgate-dist-")
		if distErr != nil {
			return
		}
		cmd := exec.Command("make", "-C", repoRoot(t), "release", "ARCHES=amd64", "DIST="+distDir,
			"VERSION="+testVersion, "COMMIT=0123456789abcdef", "DATE=2026-01-02T03:04:05Z")
		if out, err := cmd.CombinedOutput(); err != nil {
			distErr = fmt.Errorf("make release: %v\n%s", err, out)
		}
	})
	if distErr != nil {
		t.Fatal(distErr)
	}
	return distDir
}

// debFile is the package make release built for version and Debian arch.
func debFile(t testing.TB, dir, version, arch string) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("simgate_%s_%s.deb", version, arch))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("package missing: %v", err)
	}
	return p
}

// repackage builds another version of the amd64 package from the same
// binary, for the upgrade test.
func repackage(t testing.TB, version string) string {
	t.Helper()
	dir := dist(t)
	out := t.TempDir()
	cmd := exec.Command("go", "tool", "nfpm", "package", "--config", "packaging/nfpm.yaml", "--packager", "deb", "--target", out+"/")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "SIMGATE_BINARY="+filepath.Join(dir, "simgate-linux-amd64"),
		"SIMGATE_VERSION="+version, "NFPM_ARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nfpm: %v\n%s", err, b)
	}
	return debFile(t, out, version, "amd64")
}

func output(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestRelease_Binary: static, stripped, and stamped with what make was given.
func TestRelease_Binary(t *testing.T) {
	bin := filepath.Join(dist(t), "simgate-linux-amd64")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has a dynamic loader (PT_INTERP): not static; is CGO_ENABLED=0 set?")
		}
	}
	for _, name := range []string{".symtab", ".debug_info"} {
		if f.Section(name) != nil {
			t.Errorf("binary has %s: not stripped (-s -w)", name)
		}
	}
	got := output(t, bin, "version")
	for _, want := range []string{"simgate " + testVersion, "commit 0123456789abcdef", "built  2026-01-02T03:04:05Z"} {
		if !strings.Contains(got, want) {
			t.Errorf("simgate version = %q, want a line %q", got, want)
		}
	}
}

// TestRelease_Checksums: SHA256SUMS covers the binary and the package, and
// its sums are theirs.
func TestRelease_Checksums(t *testing.T) {
	dir := dist(t)
	f, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q is not \"<sum>  <file>\"", sc.Text())
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != sum {
			t.Errorf("%s: SHA256SUMS says %s, file has %x", name, sum, h)
		}
		listed[name] = true
	}
	for _, name := range []string{"simgate-linux-amd64", "simgate_" + testVersion + "_amd64.deb"} {
		if !listed[name] {
			t.Errorf("SHA256SUMS does not list %s (lists %v)", name, listed)
		}
	}
}
