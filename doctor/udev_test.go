package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUdevRules_AttachedModem(t *testing.T) {
	m := newFakeMachine(t)
	// A Quectel EC25's AT port: ttyUSB2 on interface 02 of device 1-1.
	usb := filepath.Join(m.root.Sys, "devices/usb1/1-1")
	m.write(filepath.Join(usb, "idVendor"), "2c7c\n")
	m.write(filepath.Join(usb, "idProduct"), "0125\n")
	m.write(filepath.Join(usb, "serial"), "EC25XYZ\n")
	m.write(filepath.Join(usb, "1-1:1.2/bInterfaceNumber"), "02\n")
	port := filepath.Join(usb, "1-1:1.2/ttyUSB2")
	if err := os.MkdirAll(port, 0o755); err != nil {
		t.Fatal(err)
	}
	tty := filepath.Join(m.root.Sys, "class/tty/ttyUSB2")
	if err := os.MkdirAll(tty, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(port, filepath.Join(tty, "device")); err != nil {
		t.Fatal(err)
	}
	a, err := DescribePort(m.root, "/dev/ttyUSB2", "Quectel EC25")
	if err != nil {
		t.Fatal(err)
	}
	want := AttachedPort{Port: "/dev/ttyUSB2", Vendor: "2c7c", Product: "0125", Serial: "EC25XYZ", Interface: "02", Label: "Quectel EC25"}
	if a != want {
		t.Fatalf("DescribePort = %+v, want %+v", a, want)
	}
	var b strings.Builder
	if err := WriteUdevRules(&b, []AttachedPort{a}); err != nil {
		t.Fatal(err)
	}
	rule := `SUBSYSTEM=="tty", ATTRS{idVendor}=="2c7c", ATTRS{idProduct}=="0125", ATTRS{serial}=="EC25XYZ", ATTRS{bInterfaceNumber}=="02", SYMLINK+="simgate/2c7c-0125-EC25XYZ-if02", ENV{ID_MM_DEVICE_IGNORE}="1"`
	if !strings.Contains(b.String(), rule+"\n") {
		t.Errorf("rules lack\n%s\ngot:\n%s", rule, b.String())
	}
	for _, v := range ModemVendors {
		if !strings.Contains(b.String(), `ATTRS{idVendor}=="`+v.ID+`", ENV{ID_MM_DEVICE_IGNORE}="1"`) {
			t.Errorf("rules do not ignore %s", v.Name)
		}
	}
	if _, err := DescribePort(m.root, "/dev/ttyS0", ""); err == nil {
		t.Error("a non-USB port described without error")
	}
}

// TestUdevRules_MatchPackage: with no modem attached, the generated rules
// are the package's 60-simgate.rules, line for line (comments aside).
func TestUdevRules_MatchPackage(t *testing.T) {
	var b strings.Builder
	if err := WriteUdevRules(&b, nil); err != nil {
		t.Fatal(err)
	}
	pkg, err := os.ReadFile("../packaging/60-simgate.rules")
	if err != nil {
		t.Fatal(err)
	}
	rules := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				out = append(out, l)
			}
		}
		return out
	}
	if got, want := strings.Join(rules(b.String()), "\n"), strings.Join(rules(string(pkg)), "\n"); got != want {
		t.Errorf("simgate udev-rules:\n%s\npackaging/60-simgate.rules:\n%s", got, want)
	}
}
