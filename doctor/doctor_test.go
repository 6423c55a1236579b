package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeMachine is a /sys, /proc, /dev and /run tree for the checks.
type fakeMachine struct {
	t    *testing.T
	root Roots
}

func newFakeMachine(t *testing.T) *fakeMachine {
	dir := t.TempDir()
	r := Roots{Sys: filepath.Join(dir, "sys"), Proc: filepath.Join(dir, "proc"), Dev: filepath.Join(dir, "dev"), Run: filepath.Join(dir, "run")}
	return &fakeMachine{t: t, root: r}
}

func (m *fakeMachine) write(path, content string) {
	m.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		m.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		m.t.Fatal(err)
	}
}

// process starts a fake process named comm.
func (m *fakeMachine) process(pid, comm string) {
	m.write(filepath.Join(m.root.Proc, pid, "comm"), comm+"\n")
}

// usbSerial plugs a USB device with one usb-serial tty, as the kernel lays
// it out: class/tty/NAME/device → …/1-1:1.0/NAME, idVendor on 1-1.
func (m *fakeMachine) usbSerial(name, dev, vendor string) {
	m.t.Helper()
	usb := filepath.Join(m.root.Sys, "devices/usb1/1-"+name)
	m.write(filepath.Join(usb, "idVendor"), vendor+"\n")
	port := filepath.Join(usb, "1-1:1.0", name)
	if err := os.MkdirAll(port, 0o755); err != nil {
		m.t.Fatal(err)
	}
	tty := filepath.Join(m.root.Sys, "class/tty", name)
	m.write(filepath.Join(tty, "dev"), dev+"\n")
	if err := os.Symlink(port, filepath.Join(tty, "device")); err != nil {
		m.t.Fatal(err)
	}
}

func find(t *testing.T, rs []Result, check, target string) Result {
	t.Helper()
	for _, r := range rs {
		if r.Check == check && (target == "" || r.Target == target) {
			return r
		}
	}
	t.Fatalf("no %s %s result in %+v", check, target, rs)
	return Result{}
}

func TestModemManager(t *testing.T) {
	m := newFakeMachine(t)
	if r := checkModemManager(m.root); r[0].Status != OK {
		t.Errorf("not running: %+v, want ok", r)
	}
	m.process("412", "ModemManager")
	m.usbSerial("ttyUSB0", "188:0", "2c7c")
	m.usbSerial("ttyUSB1", "188:1", "12d1")
	// udev tagged only ttyUSB1 (say, the rule was installed after ttyUSB0 appeared)
	m.write(filepath.Join(m.root.Run, "udev/data/c188:1"), "S:serial/by-id/usb-x\nE:ID_MM_DEVICE_IGNORE=1\nE:ID_VENDOR_ID=12d1\n")
	rs := checkModemManager(m.root)
	if r := find(t, rs, "modemmanager", "/dev/ttyUSB0"); r.Status != Fail || r.Fix == "" || !strings.Contains(r.Detail, "2c7c") {
		t.Errorf("ttyUSB0 not ignored: %+v, want fail with its vendor and a fix", r)
	}
	if r := find(t, rs, "modemmanager", "/dev/ttyUSB1"); r.Status != OK {
		t.Errorf("ttyUSB1 ignored: %+v, want ok", r)
	}
}

func TestBrltty(t *testing.T) {
	m := newFakeMachine(t)
	m.process("7", "brltty")
	if r := checkBrltty(m.root); r.Status != Warn {
		t.Errorf("brltty with no adapter: %+v, want warn", r)
	}
	m.usbSerial("ttyUSB0", "188:0", "1a86") // CH340, as on SIM800 boards
	if r := checkBrltty(m.root); r.Status != Fail || r.Target != "/dev/ttyUSB0" || r.Fix == "" {
		t.Errorf("brltty with a CH340: %+v, want fail with a fix", r)
	}
}

func TestHiLink(t *testing.T) {
	m := newFakeMachine(t)
	if r := checkHiLink(m.root); r[0].Status != OK {
		t.Errorf("no stick: %+v", r)
	}
	dev := filepath.Join(m.root.Sys, "bus/usb/devices/1-1")
	m.write(filepath.Join(dev, "idVendor"), "12d1\n")
	m.write(filepath.Join(dev, "idProduct"), "14dc\n")
	m.write(filepath.Join(dev, "product"), "HUAWEI_MOBILE\n")
	r := checkHiLink(m.root)
	if len(r) != 1 || r[0].Status != Fail || r[0].Target != "12d1:14dc" || !strings.Contains(r[0].Fix, "usb_modeswitch") {
		t.Errorf("HiLink stick: %+v, want one fail naming usb_modeswitch", r)
	}
}

func TestDataDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	rs := checkDataDir(dir)
	if r := find(t, rs, "data_dir", dir); r.Status != OK {
		t.Errorf("0700 dir: %+v", r)
	}
	if r := find(t, rs, "disk_space", dir); r.Status == Fail || !strings.Contains(r.Detail, "MB free") {
		t.Errorf("disk space: %+v", r)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if r := find(t, checkDataDir(dir), "data_dir", dir); r.Status != Fail || !strings.Contains(r.Fix, "chmod 700") {
		t.Errorf("0755 dir: %+v, want fail, chmod 700", r)
	}
	if os.Geteuid() == 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, "simgate.db")
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(f, 12345, 12345); err != nil {
			t.Fatal(err)
		}
		if r := find(t, checkDataDir(dir), "data_dir", dir); r.Status != Fail || !strings.Contains(r.Detail, "simgate.db") {
			t.Errorf("a file owned by another user: %+v, want fail naming it", r)
		}
	}
	if r := checkDataDir(filepath.Join(dir, "missing")); r[0].Status != Warn {
		t.Errorf("missing dir: %+v, want warn", r)
	}
}

func TestClock(t *testing.T) {
	m := newFakeMachine(t)
	if r := checkClock(m.root, time.Date(1970, 1, 1, 0, 0, 42, 0, time.UTC)); r.Status != Fail || r.Fix == "" {
		t.Errorf("1970: %+v, want fail", r)
	}
	m.write(filepath.Join(m.root.Run, "systemd/timesync/synchronized"), "")
	if r := checkClock(m.root, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)); r.Status != OK {
		t.Errorf("synchronised: %+v, want ok", r)
	}
}

func TestStableName(t *testing.T) {
	m := newFakeMachine(t)
	tty := filepath.Join(m.root.Dev, "ttyUSB2")
	m.write(tty, "")
	byID := filepath.Join(m.root.Dev, "serial/by-id/usb-Quectel_EC25-if02-port0")
	if err := os.MkdirAll(filepath.Dir(byID), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := checkStableName(m.root, tty); r.Status != Warn || strings.Contains(r.Fix, "by-id/usb") {
		t.Errorf("no link yet: %+v", r)
	}
	if err := os.Symlink("../../ttyUSB2", byID); err != nil {
		t.Fatal(err)
	}
	if r := checkStableName(m.root, tty); r.Status != Warn || !strings.Contains(r.Fix, byID) {
		t.Errorf("ttyUSB2 with a by-id link: %+v, want warn naming %s", r, byID)
	}
	if r := checkStableName(m.root, byID); r.Status != OK {
		t.Errorf("by-id name: %+v, want ok", r)
	}
}
