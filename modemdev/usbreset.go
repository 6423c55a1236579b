package modemdev

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNotUSB means a port is not the tty of a USB device (a pty, a built-in
// UART): there is no device to reset.
var ErrNotUSB = errors.New("port is not a usb device")

// USBDevice is the USB device a tty belongs to, as sysfs shows it.
type USBDevice struct {
	SysPath  string // the device's directory in sysfs (…/usb1/1-1.2)
	Bus, Dev int    // busnum and devnum: its node is /dev/bus/usb/BBB/DDD
}

// node is the device's usbfs node under dir (normally /dev/bus/usb).
func (u USBDevice) node(dir string) string {
	return filepath.Join(dir, fmt.Sprintf("%03d", u.Bus), fmt.Sprintf("%03d", u.Dev))
}

// FindUSBDevice finds the USB device of the tty port in the sysfs tree under
// root ("/sys"): /sys/class/tty/<name>/device is the USB interface
// (…/1-1.2:1.2); the device is the nearest directory above it with busnum
// and devnum. A symlink port (/dev/serial/by-id/…) is followed first. A pty
// has no such entry: ErrNotUSB.
func FindUSBDevice(root, port string) (USBDevice, error) {
	if p, err := filepath.EvalSymlinks(port); err == nil {
		port = p
	} else if l, err := os.Readlink(port); err == nil {
		if !filepath.IsAbs(l) {
			l = filepath.Join(filepath.Dir(port), l)
		}
		port = l // the link's tty only needs a name here
	}
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return USBDevice{}, fmt.Errorf("find usb device of %s: %w", port, err)
	}
	iface, err := filepath.EvalSymlinks(filepath.Join(root, "class", "tty", filepath.Base(port), "device"))
	if err != nil {
		return USBDevice{}, fmt.Errorf("find usb device of %s: %w", port, ErrNotUSB)
	}
	for d := iface; d != root && strings.HasPrefix(d, root+string(filepath.Separator)); d = filepath.Dir(d) {
		bus, err1 := readSysInt(d, "busnum")
		dev, err2 := readSysInt(d, "devnum")
		if err1 == nil && err2 == nil {
			return USBDevice{SysPath: d, Bus: bus, Dev: dev}, nil
		}
	}
	return USBDevice{}, fmt.Errorf("find usb device of %s: no busnum/devnum above %s: %w", port, iface, ErrNotUSB)
}

func readSysInt(dir, name string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// ResetUSB resets the USB device of the tty port, the last rung of the
// escalation ladder before looking for the modem on every port: the
// usbfs reset ioctl (USBDEVFS_RESET on /dev/bus/usb/BBB/DDD), or, where
// that is refused, de-authorising and re-authorising the device through
// sysfs (its "authorized" file), which makes it re-enumerate. It returns
// how it reset the device. Both need root (or a udev rule giving access);
// a port that is no USB device's tty gives ErrNotUSB. The modem drops off
// its port and may come back as another tty.
func ResetUSB(ctx context.Context, port string) (string, error) {
	return resetUSB(ctx, "/sys", "/dev/bus/usb", port)
}

func resetUSB(ctx context.Context, sysRoot, usbfs, port string) (string, error) {
	dev, err := FindUSBDevice(sysRoot, port)
	if err != nil {
		return "", err
	}
	ioctlErr := usbfsReset(dev.node(usbfs))
	if ioctlErr == nil {
		return "usbfs reset of " + dev.node(usbfs), nil
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := reauthorize(dev.SysPath); err != nil {
		return "", fmt.Errorf("reset usb device %s: %w", dev.SysPath, errors.Join(ioctlErr, err))
	}
	return "re-authorised " + filepath.Join(dev.SysPath, "authorized"), nil
}

// reauthorize writes 0 and then 1 to the device's authorized file: the
// kernel unbinds its drivers and binds them again, as on a replug.
func reauthorize(sysPath string) error {
	f := filepath.Join(sysPath, "authorized")
	if err := os.WriteFile(f, []byte("0"), 0); err != nil {
		return fmt.Errorf("de-authorise: %w", err)
	}
	if err := os.WriteFile(f, []byte("1"), 0); err != nil {
		return fmt.Errorf("re-authorise: %w", err)
	}
	return nil
}
