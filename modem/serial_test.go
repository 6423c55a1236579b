package modem

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"

	"go.bug.st/serial/enumerator"
)

func TestDiscover_GroupsAndPicks(t *testing.T) {
	ports := []*enumerator.PortDetails{
		// Quectel EC25: four ttys; if2 and if3 both answer AT.
		{Name: "/dev/ttyUSB0", IsUSB: true, VID: "2c7c", PID: "0125", SerialNumber: "EC25A"},
		{Name: "/dev/ttyUSB1", IsUSB: true, VID: "2c7c", PID: "0125", SerialNumber: "EC25A"},
		{Name: "/dev/ttyUSB2", IsUSB: true, VID: "2c7c", PID: "0125", SerialNumber: "EC25A"},
		{Name: "/dev/ttyUSB3", IsUSB: true, VID: "2c7c", PID: "0125", SerialNumber: "EC25A"},
		// A SIM800 on a USB-serial adapter.
		{Name: "/dev/ttyUSB10", IsUSB: true, VID: "1a86", PID: "7523"},
		// A Huawei stick: two PCUI-like ports answer with the same IMEI, no serial.
		{Name: "/dev/ttyUSB5", IsUSB: true, VID: "12d1", PID: "1506"},
		{Name: "/dev/ttyUSB4", IsUSB: true, VID: "12d1", PID: "1506"},
		// A modem that answers AT but not AT+CGSN, grouped by USB serial.
		{Name: "/dev/ttyACM1", IsUSB: true, VID: "1bc7", PID: "1201", SerialNumber: "T1"},
		{Name: "/dev/ttyACM0", IsUSB: true, VID: "1bc7", PID: "1201", SerialNumber: "T1"},
		// Not USB: never probed.
		{Name: "/dev/ttyS0"},
	}
	answers := map[string]Found{
		"/dev/ttyUSB2":  {IMEI: "866758040000001", Manufacturer: "Quectel", Model: "EC25"},
		"/dev/ttyUSB3":  {IMEI: "866758040000001", Manufacturer: "Quectel", Model: "EC25"},
		"/dev/ttyUSB10": {IMEI: "869000000000002", Manufacturer: "SIMCOM_Ltd", Model: "SIMCOM_SIM800L"},
		"/dev/ttyUSB4":  {IMEI: "351234567890123", Manufacturer: "huawei", Model: "E173"},
		"/dev/ttyUSB5":  {IMEI: "351234567890123", Manufacturer: "huawei", Model: "E173"},
		"/dev/ttyACM0":  {Manufacturer: "Telit"},
		"/dev/ttyACM1":  {Manufacturer: "Telit"},
	}
	ifaces := map[string]int{"/dev/ttyUSB0": 0, "/dev/ttyUSB1": 1, "/dev/ttyUSB2": 2, "/dev/ttyUSB3": 3}
	var (
		mu     sync.Mutex
		probed []string
	)
	probe := func(ctx context.Context, port string) (Found, error) {
		mu.Lock()
		probed = append(probed, port)
		mu.Unlock()
		f, ok := answers[port]
		if !ok {
			return Found{}, errors.New("no answer")
		}
		return f, nil
	}
	iface := func(port string) int {
		if n, ok := ifaces[port]; ok {
			return n
		}
		return -1
	}
	got := discover(t.Context(), ports, probe, iface)

	want := []Found{
		{Port: "/dev/ttyACM0", VID: "1bc7", PID: "1201", SerialNumber: "T1", Manufacturer: "Telit", Ports: []string{"/dev/ttyACM0", "/dev/ttyACM1"}},
		{Port: "/dev/ttyUSB2", VID: "2c7c", PID: "0125", SerialNumber: "EC25A", IMEI: "866758040000001", Manufacturer: "Quectel", Model: "EC25", Ports: []string{"/dev/ttyUSB2", "/dev/ttyUSB3"}},
		{Port: "/dev/ttyUSB4", VID: "12d1", PID: "1506", IMEI: "351234567890123", Manufacturer: "huawei", Model: "E173", Ports: []string{"/dev/ttyUSB4", "/dev/ttyUSB5"}},
		{Port: "/dev/ttyUSB10", VID: "1a86", PID: "7523", IMEI: "869000000000002", Manufacturer: "SIMCOM_Ltd", Model: "SIMCOM_SIM800L", Ports: []string{"/dev/ttyUSB10"}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d modems: %+v", len(got), got)
	}
	for i := range want {
		if !equalFound(got[i], want[i]) {
			t.Errorf("modem %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if slices.Contains(probed, "/dev/ttyS0") {
		t.Error("a non-USB port was probed")
	}
}

func TestDiscover_PrefersKnownATInterface(t *testing.T) {
	// Sierra MC7455: the AT port is interface 3 even though if2 (NMEA here
	// misconfigured to echo) answers AT too and sorts first.
	ports := []*enumerator.PortDetails{
		{Name: "/dev/ttyUSB2", IsUSB: true, VID: "1199", PID: "9071"},
		{Name: "/dev/ttyUSB3", IsUSB: true, VID: "1199", PID: "9071"},
	}
	probe := func(ctx context.Context, port string) (Found, error) {
		return Found{IMEI: "359000000000001"}, nil
	}
	iface := func(port string) int { return map[string]int{"/dev/ttyUSB2": 2, "/dev/ttyUSB3": 3}[port] }
	got := discover(t.Context(), ports, probe, iface)
	if len(got) != 1 || got[0].Port != "/dev/ttyUSB3" {
		t.Fatalf("got %+v", got)
	}
}

func equalFound(a, b Found) bool {
	return reflect.DeepEqual(a, b)
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUSBInterface(t *testing.T) {
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "class/tty/ttyUSB2/device/bInterfaceNumber"), "02\n")
	mustWrite(t, filepath.Join(root, "class/tty/ttyACM0/device/bInterfaceNumber"), "0a\n")
	mustWrite(t, filepath.Join(root, "class/tty/ttyUSB9/device/bInterfaceNumber"), "zz\n")
	for port, want := range map[string]int{"/dev/ttyUSB2": 2, "/dev/ttyACM0": 10, "/dev/ttyUSB9": -1, "/dev/ttyUSB7": -1} {
		if got := usbInterface(root, port); got != want {
			t.Errorf("usbInterface(%s) = %d, want %d", port, got, want)
		}
	}
}

func TestFindHiLinks(t *testing.T) {
	root := t.TempDir()
	dev := func(name, vid, pid, product string) {
		d := filepath.Join(root, "bus/usb/devices", name)
		mustWrite(t, filepath.Join(d, "idVendor"), vid+"\n")
		mustWrite(t, filepath.Join(d, "idProduct"), pid+"\n")
		if product != "" {
			mustWrite(t, filepath.Join(d, "product"), product+"\n")
		}
	}
	dev("1-1", "12d1", "14dc", "HUAWEI_MOBILE")
	dev("1-2", "12d1", "1506", "HUAWEI_MOBILE") // stick mode: has AT ports
	dev("1-3", "2c7c", "0125", "EC25")
	dev("1-4", "12d1", "1f01", "")
	got := FindHiLinks(root)
	if len(got) != 2 {
		t.Fatalf("got %+v", got)
	}
	for _, f := range got {
		if !f.HiLink || f.Port != "" || f.Note == "" || f.VID != "12d1" {
			t.Errorf("got %+v", f)
		}
	}
	if got[0].PID != "14dc" || got[0].Product != "HUAWEI_MOBILE" || got[1].PID != "1f01" {
		t.Errorf("got %+v", got)
	}
	if FindHiLinks(filepath.Join(root, "missing")) != nil {
		t.Error("found devices in a missing tree")
	}
}

func TestOpen_Missing(t *testing.T) {
	_, err := Open(t.Context(), filepath.Join(t.TempDir(), "ttyNONE"), Config{})
	if err == nil {
		t.Fatal("no error")
	}
}

func TestProbe_FakeModem(t *testing.T) {
	f := newFake(t).
		on("AT\r\n", "\r\nOK\r\n").
		on("ATE0\r\n", "\r\nOK\r\n").
		on("AT+CGSN\r\n", "\r\n866758040000001\r\n\r\nOK\r\n").
		on("AT+CGMI\r\n", "\r\nQuectel\r\n\r\nOK\r\n").
		on("AT+CGMM\r\n", "\r\nEC25\r\n\r\nOK\r\n")
	m := mustModem(t, f, Config{})
	got, err := m.probe(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if got.IMEI != "866758040000001" || got.Manufacturer != "Quectel" || got.Model != "EC25" {
		t.Errorf("got %+v", got)
	}
}
