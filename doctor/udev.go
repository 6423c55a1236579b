package doctor

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// AttachedPort is a modem's AT port as udev can match it.
type AttachedPort struct {
	Port      string // /dev/ttyUSB2
	Vendor    string // USB idVendor
	Product   string // USB idProduct
	Serial    string // USB serial number; empty when the device has none
	Interface string // bInterfaceNumber, two hex digits
	Label     string // manufacturer and model, for a comment
}

// DescribePort reads from sysfs what a udev rule can match a tty by: the
// USB device's vendor, product and serial, and the interface number.
func DescribePort(r Roots, port, label string) (AttachedPort, error) {
	r = r.orDefault()
	real, err := filepath.EvalSymlinks(port)
	if err != nil {
		real = port
	}
	a := AttachedPort{Port: port, Label: label}
	d, err := filepath.EvalSymlinks(filepath.Join(r.Sys, "class/tty", filepath.Base(real), "device"))
	if err != nil {
		return a, fmt.Errorf("%s is not a USB serial port: %w", port, err)
	}
	read := func(dir, name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return strings.TrimSpace(string(b))
	}
	for range 4 {
		if a.Interface == "" {
			a.Interface = read(d, "bInterfaceNumber")
		}
		if v := read(d, "idVendor"); v != "" {
			a.Vendor, a.Product, a.Serial = strings.ToLower(v), strings.ToLower(read(d, "idProduct")), read(d, "serial")
			break
		}
		d = filepath.Dir(d)
	}
	if a.Vendor == "" || a.Interface == "" {
		return a, fmt.Errorf("%s: no USB device or interface found in sysfs", port)
	}
	return a, nil
}

// safeName keeps what a device name under /dev may hold.
var safeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// WriteUdevRules writes rules that make ModemManager ignore every known
// modem vendor and give each attached AT port a stable name,
// /dev/simgate/<vendor>-<product>-<serial>-if<NN>, for the modems: list.
func WriteUdevRules(w io.Writer, ports []AttachedPort) error {
	var b strings.Builder
	b.WriteString("# simgate udev rules (simgate udev-rules). Install:\n")
	b.WriteString("#   simgate udev-rules | sudo tee /etc/udev/rules.d/60-simgate.rules\n")
	b.WriteString("#   sudo udevadm control --reload-rules && sudo udevadm trigger\n")
	b.WriteString("\nACTION==\"remove\", GOTO=\"simgate_end\"\n")
	b.WriteString("\n# ModemManager leaves these vendors' modems alone.\n")
	for _, v := range ModemVendors {
		fmt.Fprintf(&b, "# %s\nATTRS{idVendor}==\"%s\", ENV{ID_MM_DEVICE_IGNORE}=\"1\"\n", v.Name, v.ID)
	}
	if len(ports) == 0 {
		b.WriteString("\n# No modem is attached now: plug one in and run simgate udev-rules again\n# for its stable name under /dev/simgate/.\n")
	}
	for _, p := range ports {
		id := p.Serial
		match := fmt.Sprintf(`SUBSYSTEM=="tty", ATTRS{idVendor}=="%s", ATTRS{idProduct}=="%s", `, p.Vendor, p.Product)
		if id != "" {
			match += fmt.Sprintf(`ATTRS{serial}=="%s", `, p.Serial)
		} else {
			id = "noserial"
			fmt.Fprintf(&b, "\n# %s has no USB serial number: this matches any such modem.", p.Port)
		}
		name := safeName.ReplaceAllString(fmt.Sprintf("%s-%s-%s-if%s", p.Vendor, p.Product, id, p.Interface), "_")
		fmt.Fprintf(&b, "\n# %s (%s), now %s\n", p.Label, p.Vendor+":"+p.Product, p.Port)
		fmt.Fprintf(&b, "%sATTRS{bInterfaceNumber}==\"%s\", SYMLINK+=\"simgate/%s\", ENV{ID_MM_DEVICE_IGNORE}=\"1\"\n", match, p.Interface, name)
	}
	b.WriteString("\nLABEL=\"simgate_end\"\n")
	_, err := io.WriteString(w, b.String())
	return err
}
