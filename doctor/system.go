package doctor

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/simgate/simgate/modem"
)

// running reports whether a process named comm runs, from /proc/*/comm.
func running(r Roots, comm string) bool {
	dirs, _ := filepath.Glob(filepath.Join(r.Proc, "[0-9]*", "comm"))
	for _, d := range dirs {
		if b, err := os.ReadFile(d); err == nil && strings.TrimSpace(string(b)) == comm {
			return true
		}
	}
	return false
}

// usbTTY is a USB serial port as sysfs shows it.
type usbTTY struct {
	Name   string // ttyUSB0
	Dev    string // major:minor
	Vendor string // USB vendor ID, lower case hex
}

// usbTTYs lists the ttys whose device hangs off a USB interface.
func usbTTYs(r Roots) []usbTTY {
	var out []usbTTY
	for _, pattern := range []string{"ttyUSB*", "ttyACM*"} {
		paths, _ := filepath.Glob(filepath.Join(r.Sys, "class/tty", pattern))
		for _, p := range paths {
			dev, _ := os.ReadFile(filepath.Join(p, "dev"))
			out = append(out, usbTTY{Name: filepath.Base(p), Dev: strings.TrimSpace(string(dev)), Vendor: usbVendor(p)})
		}
	}
	slices.SortFunc(out, func(a, b usbTTY) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// usbVendor walks up from a tty's device (the USB interface, or a
// usb-serial port below it) to the USB device and reads its vendor ID.
func usbVendor(tty string) string {
	d, err := filepath.EvalSymlinks(filepath.Join(tty, "device"))
	if err != nil {
		return ""
	}
	for range 4 {
		if b, err := os.ReadFile(filepath.Join(d, "idVendor")); err == nil {
			return strings.ToLower(strings.TrimSpace(string(b)))
		}
		d = filepath.Dir(d)
	}
	return ""
}

// mmIgnored reports whether udev tagged the tty ID_MM_DEVICE_IGNORE=1 (the
// package's 60-simgate.rules does for known modem vendors).
func mmIgnored(r Roots, t usbTTY) bool {
	b, err := os.ReadFile(filepath.Join(r.Run, "udev/data", "c"+t.Dev))
	return err == nil && slices.Contains(strings.Split(string(b), "\n"), "E:ID_MM_DEVICE_IGNORE=1")
}

const mmFix = "install the package's udev rule (or: simgate udev-rules | sudo tee /etc/udev/rules.d/60-simgate.rules), then replug the modem; or stop ModemManager: sudo systemctl disable --now ModemManager"

// checkModemManager: ModemManager opens every modem port it is not told to
// ignore, changes the SMS settings and reads (and deletes) incoming SMS.
func checkModemManager(r Roots) []Result {
	if !running(r, "ModemManager") {
		return []Result{{Check: "modemmanager", Status: OK, Detail: "ModemManager is not running"}}
	}
	ttys := usbTTYs(r)
	if len(ttys) == 0 {
		return []Result{{Check: "modemmanager", Status: Warn, Detail: "ModemManager is running; no USB serial port to check yet",
			Fix: "keep the package's udev rule installed so that it ignores the modem when it is plugged in"}}
	}
	var out []Result
	for _, t := range ttys {
		if mmIgnored(r, t) {
			out = append(out, Result{Check: "modemmanager", Target: "/dev/" + t.Name, Status: OK, Detail: "ModemManager is running and ignores this port"})
			continue
		}
		out = append(out, Result{Check: "modemmanager", Target: "/dev/" + t.Name, Status: Fail,
			Detail: fmt.Sprintf("ModemManager is running and may take this port (USB vendor %s): it reads and deletes SMS", t.Vendor), Fix: mmFix})
	}
	return out
}

// brlttyVendors are the USB-serial chips brltty's udev rules claim for
// braille displays, and many cheap SIM800 boards use (QinHeng CH340,
// Silicon Labs CP210x).
var brlttyVendors = []string{"1a86", "10c4"}

func checkBrltty(r Roots) Result {
	if !running(r, "brltty") {
		return Result{Check: "brltty", Status: OK, Detail: "brltty is not running"}
	}
	const fix = "unless a braille display is attached: sudo apt remove brltty, then replug the modem"
	for _, t := range usbTTYs(r) {
		if slices.Contains(brlttyVendors, t.Vendor) {
			return Result{Check: "brltty", Target: "/dev/" + t.Name, Status: Fail,
				Detail: "brltty is running and claims this USB-serial chip (vendor " + t.Vendor + ")", Fix: fix}
		}
	}
	return Result{Check: "brltty", Status: Warn, Detail: "brltty is running; it claims CH340 and CP210x USB-serial adapters when they appear", Fix: fix}
}

// checkDialout: serial ports are root:dialout 0660.
func checkDialout(serviceUser string) []Result {
	var out []Result
	g, err := user.LookupGroup("dialout")
	if err != nil {
		return []Result{{Check: "dialout", Status: Skip, Detail: "no dialout group on this system"}}
	}
	in := func(u *user.User) bool {
		ids, err := u.GroupIds()
		return err == nil && (slices.Contains(ids, g.Gid) || u.Gid == g.Gid)
	}
	if me, err := user.Current(); err == nil {
		switch {
		case me.Uid == "0":
			out = append(out, Result{Check: "dialout", Target: me.Username, Status: OK, Detail: "running as root"})
		case in(me):
			out = append(out, Result{Check: "dialout", Target: me.Username, Status: OK, Detail: me.Username + " is in dialout"})
		default:
			out = append(out, Result{Check: "dialout", Target: me.Username, Status: Fail, Detail: me.Username + " is not in dialout and cannot open serial ports",
				Fix: "sudo adduser " + me.Username + " dialout, then log out and in again"})
		}
	}
	if serviceUser == "" {
		return out
	}
	if su, err := user.Lookup(serviceUser); err == nil {
		if in(su) {
			out = append(out, Result{Check: "dialout", Target: serviceUser, Status: OK, Detail: "the service user " + serviceUser + " is in dialout"})
		} else {
			out = append(out, Result{Check: "dialout", Target: serviceUser, Status: Fail, Detail: "the service user " + serviceUser + " is not in dialout",
				Fix: "sudo adduser " + serviceUser + " dialout && sudo systemctl restart simgate"})
		}
	}
	return out
}

func checkHiLink(r Roots) []Result {
	found := modem.FindHiLinks(r.Sys)
	if len(found) == 0 {
		return []Result{{Check: "usb_mode", Status: OK, Detail: "no modem in HiLink (router) or storage (CD-ROM) mode"}}
	}
	var out []Result
	for _, f := range found {
		out = append(out, Result{Check: "usb_mode", Target: f.VID + ":" + f.PID, Status: Fail,
			Detail: strings.TrimSpace(f.Manufacturer + " " + f.Product + " has no serial port in this mode"), Fix: f.Note})
	}
	return out
}

// Free space below which the data directory fails, and below which it warns.
const (
	minFreeBytes  = 50 << 20
	warnFreeBytes = 500 << 20
)

// checkDataDir: the database holds numbers, texts and key hashes; a file
// in it owned by someone else (made by "sudo simgate apikey create") stops
// the service from opening it.
func checkDataDir(dir string) []Result {
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(dir)
	if os.IsNotExist(err) {
		return []Result{{Check: "data_dir", Target: dir, Status: Warn, Detail: "does not exist yet; serve makes it (0700) at its first start"}}
	}
	if err != nil {
		return []Result{{Check: "data_dir", Target: dir, Status: Fail, Detail: err.Error(), Fix: "run doctor as the gateway's user (sudo -u simgate simgate doctor …) or as root"}}
	}
	st := fi.Sys().(*syscall.Stat_t)
	var out []Result
	perm := Result{Check: "data_dir", Target: dir, Status: OK, Detail: fmt.Sprintf("mode %v, owner uid %d", fi.Mode().Perm(), st.Uid)}
	if fi.Mode().Perm()&0o077 != 0 {
		perm.Status, perm.Detail = Fail, fmt.Sprintf("mode %v lets other users read messages and key hashes", fi.Mode().Perm())
		perm.Fix = "chmod 700 " + dir
	}
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				continue
			}
			if s := info.Sys().(*syscall.Stat_t); s.Uid != st.Uid {
				perm.Status = Fail
				perm.Detail = fmt.Sprintf("%s is owned by uid %d, the directory by uid %d: the gateway cannot open it", e.Name(), s.Uid, st.Uid)
				perm.Fix = fmt.Sprintf("sudo chown -R %d:%d %s (and run commands on it as that user: sudo -u simgate simgate …)", st.Uid, st.Gid, dir)
				break
			}
		}
	}
	out = append(out, perm)
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return append(out, Result{Check: "disk_space", Target: dir, Status: Skip, Detail: err.Error()})
	}
	free := fs.Bavail * uint64(fs.Bsize)
	space := Result{Check: "disk_space", Target: dir, Status: OK, Detail: fmt.Sprintf("%d MB free", free>>20)}
	switch {
	case free < minFreeBytes:
		space.Status, space.Fix = Fail, "free space on that file system: below 50 MB SQLite cannot commit and messages are refused"
	case free < warnFreeBytes:
		space.Status, space.Fix = Warn, "free space on that file system, or lower the retention: settings"
	}
	return append(out, space)
}

// earliestSane is a time before which the clock is certainly wrong (a
// Raspberry Pi without a real-time clock boots in the past until NTP).
var earliestSane = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// staUnsync is the kernel's "clock not synchronised" status bit (adjtimex(2)).
const staUnsync = 0x0040

// checkClock: SMS timestamps, delivery times, OTP expiry and API key ages
// all come from this clock.
func checkClock(r Roots, now time.Time) Result {
	if now.Before(earliestSane) {
		return Result{Check: "clock", Status: Fail, Detail: "the clock reads " + now.UTC().Format(time.RFC3339) + ", which is in the past",
			Fix: "sudo timedatectl set-ntp true (and check the network), or set it: sudo date -s …"}
	}
	if _, err := os.Stat(filepath.Join(r.Run, "systemd/timesync/synchronized")); err == nil {
		return Result{Check: "clock", Status: OK, Detail: now.UTC().Format(time.RFC3339) + ", synchronised by systemd-timesyncd"}
	}
	var tx syscall.Timex
	if _, err := syscall.Adjtimex(&tx); err == nil && tx.Status&staUnsync == 0 {
		return Result{Check: "clock", Status: OK, Detail: now.UTC().Format(time.RFC3339) + ", synchronised (kernel)"}
	}
	return Result{Check: "clock", Status: Warn, Detail: now.UTC().Format(time.RFC3339) + ", not known to be synchronised",
		Fix: "sudo timedatectl set-ntp true, or install chrony"}
}
