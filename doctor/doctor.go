// Package doctor checks what a gateway needs from the machine it runs on and
// from its modems, and says for each problem how to fix it in one line:
// ModemManager or brltty taking the ports, serial port permissions, what
// answers on each port, Huawei sticks in HiLink or storage mode, stable
// /dev/serial/by-id names, the SIM's PIN, registration and signal, the data
// directory and the clock. "simgate doctor" runs it.
package doctor

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/simgate/simgate/modem"
)

// Status is a check's outcome. Only Fail makes the report fail: Warn is
// something to know (a name that may change after a reboot), Skip a check
// that could not run here.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result is one check: a stable name, what was found and, when it is not
// OK, the one thing to do about it.
type Result struct {
	Check  string `json:"check"`
	Target string `json:"target,omitempty"` // the port or path it is about
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is every check in the order they ran.
type Report struct {
	OK     bool     `json:"ok"`
	Checks []Result `json:"checks"`
}

// Roots are where the checks look at the machine; tests point them at a
// fake tree. Empty fields mean the real ones.
type Roots struct {
	Sys  string // /sys: USB devices, tty interfaces
	Proc string // /proc: running ModemManager, brltty
	Dev  string // /dev: /dev/serial/by-id
	Run  string // /run: udev's database, time synchronisation
}

func (r Roots) orDefault() Roots {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&r.Sys, "/sys")
	def(&r.Proc, "/proc")
	def(&r.Dev, "/dev")
	def(&r.Run, "/run")
	return r
}

// Options say what to check.
type Options struct {
	// Ports are the modems' serial ports, from the config or --modem;
	// empty: every USB serial port is probed (modem.Discover).
	Ports []string
	PIN   string // entered once if a SIM asks; never a second time
	// DataDir is the gateway's data directory, checked for ownership,
	// permissions and free space.
	DataDir string
	// ServiceUser, when such a user exists, must be in dialout too (the
	// packaged service runs as "simgate").
	ServiceUser string
	// GatewayRunning: a gateway holds the data directory's lock, and so the
	// modems; the modem checks are skipped rather than disturb it.
	GatewayRunning bool
	Roots          Roots
	Now            func() time.Time
	// Discover lists the modems when Ports is empty; default modem.Discover.
	Discover func(ctx context.Context) ([]modem.Found, error)
	Logger   *slog.Logger // the modems' AT trace; default: discarded
	Timeout  time.Duration
}

// Run runs every check and reports them; it fails only when a check does.
func Run(ctx context.Context, o Options) Report {
	o.Roots = o.Roots.orDefault()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Discover == nil {
		o.Discover = func(ctx context.Context) ([]modem.Found, error) {
			return modem.Discover(ctx, modem.Config{Logger: o.Logger})
		}
	}
	if o.Timeout <= 0 {
		o.Timeout = 45 * time.Second
	}
	var out []Result
	out = append(out, checkModemManager(o.Roots)...)
	out = append(out, checkBrltty(o.Roots))
	out = append(out, checkDialout(o.ServiceUser)...)
	out = append(out, checkHiLink(o.Roots)...)
	out = append(out, checkModems(ctx, o)...)
	out = append(out, checkDataDir(o.DataDir)...)
	out = append(out, checkClock(o.Roots, o.Now()))
	return NewReport(out)
}

// NewReport totals results: OK unless one failed.
func NewReport(results []Result) Report {
	r := Report{OK: true, Checks: results}
	for _, c := range results {
		if c.Status == Fail {
			r.OK = false
		}
	}
	return r
}
