package doctor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/simgate/simgate/modem"
	"go.bug.st/serial"
)

// checkModems finds the modems (the configured ports, or discovery) and
// checks each: what answers on the port, a stable name, the SIM, the
// network and the signal.
func checkModems(ctx context.Context, o Options) []Result {
	if o.GatewayRunning {
		return []Result{{Check: "modems", Status: Skip, Detail: "a gateway is running on this data directory and holds the modems",
			Fix: "see its status page, or stop it (sudo systemctl stop simgate) and run doctor again to probe them"}}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	ports := o.Ports
	var out []Result
	if len(ports) == 0 {
		found, err := o.Discover(ctx)
		var names []string
		for _, f := range found {
			if f.Port != "" {
				ports = append(ports, f.Port)
				names = append(names, fmt.Sprintf("%s (%s)", f.Port, strings.TrimSpace(f.Manufacturer+" "+f.Model)))
			}
		}
		switch {
		case err != nil:
			out = append(out, Result{Check: "serial_ports", Status: Fail, Detail: "cannot list serial ports: " + err.Error(), Fix: "name the modem's port: --modem /dev/ttyUSB2"})
		case len(ports) == 0:
			out = append(out, Result{Check: "serial_ports", Status: Fail, Detail: "no modem answered AT on any USB serial port",
				Fix: "plug the modem in and look at sudo dmesg | tail; a stick in storage mode needs usb-modeswitch"})
		default:
			out = append(out, Result{Check: "serial_ports", Status: OK, Detail: "modems found: " + strings.Join(names, ", ")})
		}
	}
	for _, p := range ports {
		if len(o.Ports) > 0 {
			out = append(out, checkStableName(o.Roots, p))
		}
		out = append(out, checkPort(ctx, o, p)...)
	}
	return out
}

// checkStableName: /dev/ttyUSBn numbers follow the order the kernel saw
// the devices in, which changes with a replug or a reboot.
func checkStableName(r Roots, port string) Result {
	byID := filepath.Join(r.Dev, "serial/by-id")
	if strings.HasPrefix(port, byID+"/") {
		return Result{Check: "stable_name", Target: port, Status: OK, Detail: "a /dev/serial/by-id name, stable across reboots"}
	}
	real, err := filepath.EvalSymlinks(port)
	if err != nil {
		real = port
	}
	entries, _ := os.ReadDir(byID)
	for _, e := range entries {
		link := filepath.Join(byID, e.Name())
		if t, err := filepath.EvalSymlinks(link); err == nil && t == real {
			return Result{Check: "stable_name", Target: port, Status: Warn, Detail: "this name may change after a replug or a reboot",
				Fix: "use " + link + " in modems: (or --modem)"}
		}
	}
	return Result{Check: "stable_name", Target: port, Status: Warn, Detail: "no /dev/serial/by-id name points at this port",
		Fix: "leave modems: empty and let simgate find the modem by probing (it knows modems by IMEI)"}
}

// checkPort opens the port, initialises the modem (entering the PIN at
// most once) and reads its identity, registration and signal.
func checkPort(ctx context.Context, o Options, port string) []Result {
	m, err := modem.Open(ctx, port, modem.Config{PIN: o.PIN, Logger: o.Logger})
	if err != nil {
		return []Result{openFailure(port, err)}
	}
	defer m.Close()
	err = m.Init(ctx)
	switch {
	case errors.Is(err, modem.ErrPINRequired):
		return []Result{
			{Check: "port", Target: port, Status: OK, Detail: "a modem answers AT"},
			{Check: "sim", Target: port, Status: Fail, Detail: "the SIM asks for its PIN", Fix: "set pin: in the config (or SIMGATE_PIN), or remove the PIN with a phone"},
		}
	case errors.Is(err, modem.ErrPUKRequired):
		return []Result{
			{Check: "port", Target: port, Status: OK, Detail: "a modem answers AT"},
			{Check: "sim", Target: port, Status: Fail, Detail: "the SIM is blocked (wrong PINs) and needs its PUK",
				Fix: "unblock it in a phone, or: simgate at " + port + " then AT+CPIN=\"<PUK>\",\"<new PIN>\""},
		}
	case errors.Is(err, modem.ErrNoSIM):
		return []Result{
			{Check: "port", Target: port, Status: OK, Detail: "a modem answers AT"},
			{Check: "sim", Target: port, Status: Fail, Detail: "no SIM card", Fix: "insert the SIM (with the modem unplugged), then replug"},
		}
	case err != nil:
		return []Result{{Check: "port", Target: port, Status: Fail, Detail: "opened, but no working modem answers: " + err.Error(),
			Fix: "try the modem's other ports (simgate ports); a DIAG or GPS port never answers AT"}}
	}
	var out []Result
	id, err := m.Identity(ctx)
	if err != nil {
		out = append(out, Result{Check: "port", Target: port, Status: Warn, Detail: "a modem answers, but not with its identity: " + err.Error()})
	} else {
		out = append(out, Result{Check: "port", Target: port, Status: OK, Detail: fmt.Sprintf("%s %s, IMEI %s", id.Manufacturer, id.Model, id.IMEI)})
	}
	out = append(out, Result{Check: "sim", Target: port, Status: OK, Detail: "ready"})
	return append(out, checkRegistration(ctx, m, port), checkSignal(ctx, m, port))
}

func openFailure(port string, err error) Result {
	r := Result{Check: "port", Target: port, Status: Fail, Detail: err.Error()}
	var pe *serial.PortError
	switch {
	case errors.As(err, &pe) && pe.Code() == serial.PermissionDenied:
		r.Fix = "add the user to dialout: sudo adduser $USER dialout, then log in again"
	case errors.As(err, &pe) && pe.Code() == serial.PortBusy:
		r.Fix = "another program holds it: sudo fuser -v " + port + " (ModemManager? a running simgate?)"
	case errors.Is(err, os.ErrNotExist):
		r.Fix = "no such port: is the modem plugged in? (ls /dev/serial/by-id/)"
	default:
		r.Fix = "check the port's name: ls -l /dev/serial/by-id/"
	}
	return r
}

func checkRegistration(ctx context.Context, m *modem.Modem, port string) Result {
	reg, err := m.Registration(ctx)
	if err != nil {
		return Result{Check: "registration", Target: port, Status: Fail, Detail: err.Error(), Fix: "simgate probe " + port + " --debug shows the modem's answers"}
	}
	r := Result{Check: "registration", Target: port, Status: OK, Detail: string(reg.State)}
	switch reg.State {
	case modem.RegRegistered, modem.RegRoaming:
		if reg.Roaming {
			r.Detail = "registered, roaming"
		}
	case modem.RegSearching:
		r.Status, r.Detail, r.Fix = Fail, "searching for a network", "check the antenna and the coverage, and that the SIM's operator works here; wait a minute after plugging in"
	case modem.RegDenied:
		r.Status, r.Detail, r.Fix = Fail, "the network refused the SIM", "ask the operator whether the SIM is activated and has credit"
	default:
		r.Status, r.Detail, r.Fix = Fail, "not registered ("+string(reg.State)+")", "check that the SIM works in a phone; then simgate at "+port+" and AT+COPS=0"
	}
	return r
}

func checkSignal(ctx context.Context, m *modem.Modem, port string) Result {
	s, err := m.Signal(ctx)
	if err != nil {
		return Result{Check: "signal", Target: port, Status: Fail, Detail: err.Error(), Fix: "simgate probe " + port + " --debug shows the modem's answers"}
	}
	const fix = "attach the antenna, or move the modem (a USB extension cable away from the computer helps)"
	switch {
	case !s.Known:
		return Result{Check: "signal", Target: port, Status: Fail, Detail: "no signal (CSQ 99)", Fix: fix}
	case s.Bars <= 1:
		return Result{Check: "signal", Target: port, Status: Warn, Detail: fmt.Sprintf("weak: %d dBm (%d/4 bars)", s.DBM, s.Bars), Fix: fix}
	}
	return Result{Check: "signal", Target: port, Status: OK, Detail: fmt.Sprintf("%d dBm (%d/4 bars)", s.DBM, s.Bars)}
}
