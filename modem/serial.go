package modem

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/modem/at"
	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// Open opens a serial port at 115200 8N1 and starts a Modem on it; the
// Modem owns the port and Close closes it. It sends nothing: call Init.
func Open(ctx context.Context, port string, cfg Config) (*Modem, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open %s: %w", port, err)
	}
	// Opened before the serial port, whose exclusive access would refuse
	// it (port.go); the serial port's error, which says busy or denied,
	// is the one reported when both fail.
	f, ferr := openPolled(port)
	p, err := serial.Open(port, &serial.Mode{
		BaudRate: 115200,
		DataBits: 8,
		Parity:   serial.NoParity,
		StopBits: serial.OneStopBit,
	})
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, fmt.Errorf("open %s: %w", port, err)
	}
	if ferr != nil {
		p.Close()
		return nil, fmt.Errorf("open %s: %w", port, ferr)
	}
	// Bytes left from a previous session would be read as answers.
	_ = p.ResetInputBuffer()
	if f == nil {
		return New(p, cfg), nil
	}
	return New(&polledPort{File: f, port: p}, cfg), nil
}

// Found is a modem found by Discover or Probe.
type Found struct {
	// Port is the tty that answers AT; empty for a HiLink device.
	Port                            string
	VID, PID, SerialNumber, Product string
	IMEI, Manufacturer, Model       string
	// Ports are all the ttys of this modem that answered AT, Port first.
	Ports []string
	// HiLink is a Huawei stick in router (or CD-ROM) mode: it has no AT port
	// at all; Note says what to do.
	HiLink bool
	Note   string
}

const probeTimeout = 2 * time.Second

// Probe opens port, checks that it answers AT and reads the IMEI,
// manufacturer and model. It does not run Init.
func Probe(ctx context.Context, port string, cfg Config) (Found, error) {
	m, err := Open(ctx, port, cfg)
	if err != nil {
		return Found{}, fmt.Errorf("probe: %w", err)
	}
	defer m.Close()
	f, err := m.probe(ctx)
	if err != nil {
		return Found{}, fmt.Errorf("probe %s: %w", port, err)
	}
	f.Port, f.Ports = port, []string{port}
	return f, nil
}

func (m *Modem) probe(ctx context.Context) (Found, error) {
	if err := m.lock(ctx); err != nil {
		return Found{}, err
	}
	defer m.unlock()
	t := min(probeTimeout, m.cfg.CommandTimeout)
	var err error
	// Two tries: the first AT may only wake the module or flush a half line.
	for range 2 {
		if _, err = m.exec(ctx, at.Request{Command: "AT", Timeout: t}); err == nil || fatal(err) {
			break
		}
	}
	if err != nil {
		return Found{}, fmt.Errorf("AT: %w", err)
	}
	var f Found
	if _, err := m.exec(ctx, at.Request{Command: "ATE0", Timeout: t}); fatal(err) {
		return f, err
	}
	for _, cmd := range []string{"AT+CGSN", "AT+GSN"} {
		lines, err := m.exec(ctx, at.Request{Command: cmd, Timeout: t})
		if fatal(err) {
			return f, err
		}
		if imei, ok := parseIMEI(lines); ok {
			f.IMEI = imei
			break
		}
	}
	if lines, err := m.exec(ctx, at.Request{Command: "AT+CGMI", Timeout: t}); err == nil {
		f.Manufacturer = firstValue(lines, "+CGMI:")
	} else if fatal(err) {
		return f, err
	}
	if lines, err := m.exec(ctx, at.Request{Command: "AT+CGMM", Timeout: t}); err == nil {
		f.Model = firstValue(lines, "+CGMM:")
	} else if fatal(err) {
		return f, err
	}
	return f, nil
}

// atInterfaces maps VID:PID to the USB interface of the primary AT port
// (ModemManager's 77-mm-*-port-types.rules).
var atInterfaces = map[string]int{
	"2c7c:0125": 2, // Quectel EC25/EG25
	"2c7c:0121": 2, // Quectel EC21
	"2c7c:0296": 2, // Quectel BG96
	"2c7c:0306": 2, // Quectel EP06
	"1e0e:9001": 2, // SIMCom SIM7600
	"1199:9071": 3, // Sierra MC7455
	"1199:9091": 3, // Sierra EM7565
}

// hiLinkModes are Huawei product IDs with no AT port.
var hiLinkModes = map[string]string{
	"14db": "Huawei HiLink (router mode): it is a network interface with no AT port; switch it to stick (modem) mode with usb_modeswitch or a stick firmware",
	"14dc": "Huawei HiLink (router mode): it is a network interface with no AT port; switch it to stick (modem) mode with usb_modeswitch or a stick firmware",
	"1f01": "Huawei in CD-ROM (mass storage) mode: usb_modeswitch must switch it before any port appears",
}

const sysfsRoot = "/sys"

// Discover lists USB serial ports, probes each with AT in parallel and
// returns one entry per modem: ttys are grouped by IMEI (or USB serial
// number) and the known AT interface of the VID:PID is preferred. Huawei
// HiLink sticks, which have no tty, are reported with HiLink set.
func Discover(ctx context.Context, cfg Config) ([]Found, error) {
	return DiscoverSkipping(ctx, cfg, nil)
}

// DiscoverSkipping is Discover leaving alone the ports for which skip is
// true: those a running gateway already holds, whose session an "AT" from
// a probe would disturb (exclusive open does not stop root).
func DiscoverSkipping(ctx context.Context, cfg Config, skip func(port string) bool) ([]Found, error) {
	ports, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, fmt.Errorf("discover: list ports: %w", err)
	}
	if skip != nil {
		kept := ports[:0:0]
		for _, p := range ports {
			if !skip(p.Name) {
				kept = append(kept, p)
			}
		}
		ports = kept
	}
	probe := func(ctx context.Context, port string) (Found, error) { return Probe(ctx, port, cfg) }
	found := discover(ctx, ports, probe, func(port string) int { return usbInterface(sysfsRoot, port) })
	return append(found, FindHiLinks(sysfsRoot)...), nil
}

func discover(ctx context.Context, ports []*enumerator.PortDetails, probe func(context.Context, string) (Found, error), iface func(string) int) []Found {
	type result struct {
		d     *enumerator.PortDetails
		f     Found
		iface int
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	for _, d := range ports {
		if !d.IsUSB {
			continue
		}
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, 3*probeTimeout)
			defer cancel()
			f, err := probe(pctx, d.Name)
			if err != nil {
				return
			}
			mu.Lock()
			results = append(results, result{d: d, f: f, iface: iface(d.Name)})
			mu.Unlock()
		})
	}
	wg.Wait()

	groups := map[string][]result{}
	var order []string
	for _, r := range results {
		key := "imei:" + r.f.IMEI
		switch {
		case r.f.IMEI != "":
		case r.d.SerialNumber != "":
			key = "usb:" + strings.ToLower(r.d.VID+":"+r.d.PID+":"+r.d.SerialNumber)
		default:
			key = "port:" + r.d.Name
		}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], r)
	}
	var out []Found
	for _, key := range order {
		g := groups[key]
		want, known := atInterfaces[strings.ToLower(g[0].d.VID+":"+g[0].d.PID)]
		slices.SortFunc(g, func(a, b result) int {
			if known && (a.iface == want) != (b.iface == want) {
				if a.iface == want {
					return -1
				}
				return 1
			}
			return cmp.Or(cmp.Compare(len(a.d.Name), len(b.d.Name)), cmp.Compare(a.d.Name, b.d.Name))
		})
		best := g[0]
		f := best.f
		f.Port = best.d.Name
		f.VID, f.PID, f.SerialNumber, f.Product = best.d.VID, best.d.PID, best.d.SerialNumber, best.d.Product
		f.Ports = nil
		for _, r := range g {
			f.Ports = append(f.Ports, r.d.Name)
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Found) int {
		return cmp.Or(cmp.Compare(len(a.Port), len(b.Port)), cmp.Compare(a.Port, b.Port))
	})
	return out
}

// usbInterface reads the USB interface number of a tty from sysfs, which the
// enumerator does not report; -1 when unknown.
func usbInterface(root, port string) int {
	b, err := os.ReadFile(filepath.Join(root, "class/tty", filepath.Base(port), "device/bInterfaceNumber"))
	if err != nil {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 16, 32)
	if err != nil {
		return -1
	}
	return int(n)
}

// FindHiLinks scans the USB devices under a sysfs root ("/sys") for Huawei
// sticks in a mode without an AT port.
func FindHiLinks(root string) []Found {
	dir := filepath.Join(root, "bus/usb/devices")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	read := func(dev, name string) string {
		b, err := os.ReadFile(filepath.Join(dir, dev, name))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	var out []Found
	for _, e := range entries {
		vid, pid := read(e.Name(), "idVendor"), read(e.Name(), "idProduct")
		if !strings.EqualFold(vid, "12d1") {
			continue
		}
		note, ok := hiLinkModes[strings.ToLower(pid)]
		if !ok {
			continue
		}
		out = append(out, Found{
			VID: vid, PID: pid,
			SerialNumber: read(e.Name(), "serial"),
			Product:      read(e.Name(), "product"),
			Manufacturer: read(e.Name(), "manufacturer"),
			HiLink:       true,
			Note:         note,
		})
	}
	return out
}
