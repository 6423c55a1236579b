package modemdev

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fakeSysfs builds the part of /sys a USB modem's tty shows: the tty's
// class entry links to the USB interface, whose parent is the device with
// busnum, devnum and authorized.
func fakeSysfs(t *testing.T) (root, devDir string) {
	t.Helper()
	root = t.TempDir()
	devDir = filepath.Join(root, "devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1.2")
	iface := filepath.Join(devDir, "1-1.2:1.2")
	for _, d := range []string{filepath.Join(iface, "ttyUSB2/tty/ttyUSB2"), filepath.Join(root, "class/tty/ttyUSB2")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A hub above the device also has busnum and devnum: the nearest wins.
	for dir, files := range map[string]map[string]string{
		devDir:               {"busnum": "1\n", "devnum": "7\n", "authorized": "1\n"},
		filepath.Dir(devDir): {"busnum": "1\n", "devnum": "2\n"},
		iface:                {"bInterfaceNumber": "02\n"},
	} {
		for name, v := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	rel, err := filepath.Rel(filepath.Join(root, "class/tty/ttyUSB2"), iface)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(rel, filepath.Join(root, "class/tty/ttyUSB2/device")); err != nil {
		t.Fatal(err)
	}
	return root, devDir
}

func TestFindUSBDevice(t *testing.T) {
	root, devDir := fakeSysfs(t)
	// A by-id link resolves to the tty first.
	byID := filepath.Join(t.TempDir(), "usb-Quectel_EC25-if02-port0")
	if err := os.Symlink("/dev/ttyUSB2", byID); err != nil {
		t.Fatal(err)
	}
	realDev, err := filepath.EvalSymlinks(devDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range []string{"/dev/ttyUSB2", byID} {
		got, err := FindUSBDevice(root, port)
		if err != nil {
			t.Fatalf("FindUSBDevice(%s): %v", port, err)
		}
		if got.Bus != 1 || got.Dev != 7 || got.SysPath != realDev {
			t.Errorf("FindUSBDevice(%s) = %+v, want bus 1 dev 7 at %s", port, got, realDev)
		}
		if n := got.node("/dev/bus/usb"); n != "/dev/bus/usb/001/007" {
			t.Errorf("node %s", n)
		}
	}
	for _, port := range []string{"/dev/pts/3", "/dev/ttyS0"} {
		if _, err := FindUSBDevice(root, port); !errors.Is(err, ErrNotUSB) {
			t.Errorf("FindUSBDevice(%s) = %v, want ErrNotUSB", port, err)
		}
	}
}

// A pty has no USB device on the real sysfs either.
func TestFindUSBDevice_PTYOnRealSysfs(t *testing.T) {
	if _, err := os.Stat("/sys/class/tty"); err != nil {
		t.Skip("no /sys/class/tty here")
	}
	if _, err := FindUSBDevice("/sys", "/dev/pts/0"); !errors.Is(err, ErrNotUSB) {
		t.Errorf("FindUSBDevice(/dev/pts/0) = %v, want ErrNotUSB", err)
	}
}

// Where the usbfs ioctl is refused (here the node is no usbfs file), the
// device is de-authorised and authorised again through sysfs.
func TestResetUSB_FallsBackToAuthorized(t *testing.T) {
	root, devDir := fakeSysfs(t)
	usbfs := t.TempDir()
	if err := os.MkdirAll(filepath.Join(usbfs, "001"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(usbfs, "001/007"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(devDir, "authorized"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	how, err := resetUSB(t.Context(), root, usbfs, "/dev/ttyUSB2")
	if err != nil {
		t.Fatalf("resetUSB: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(devDir, "authorized")); string(b) != "1" {
		t.Errorf("authorized = %q, want 1 written last", b)
	}
	if how == "" {
		t.Error("resetUSB did not say how it reset the device")
	}
	if _, err := resetUSB(t.Context(), root, usbfs, "/dev/pts/4"); !errors.Is(err, ErrNotUSB) {
		t.Errorf("resetUSB of a pty: %v, want ErrNotUSB", err)
	}
}
