// Command peers is "make bench-peers": the same SMS workloads through
// simgate, gammu-smsd, smstools and Kannel, each on virtual modems of
// "simgate sim" that time every AT+CMGS they see (docs/benchmarks.md).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	simgate := flag.String("simgate", "bin/simgate", "the simgate binary (make build)")
	only := flag.String("peers", "simgate,gammu-smsd,smstools,kannel", "peers to run, comma-separated")
	modes := flag.String("configs", "default,tuned", "default, tuned or both")
	out := flag.String("out", "", "also write the markdown report to FILE")
	keep := flag.Bool("keep", false, "keep the run's directory (configs, logs) instead of removing it")
	var lim limits
	flag.IntVar(&lim.idle, "idle", 50, "OTPs sent one at a time on an idle modem")
	flag.DurationVar(&lim.idleCap, "idle-cap", 3*time.Minute, "most time spent on the idle OTPs of one peer")
	flag.DurationVar(&lim.cap, "cap", 3*time.Minute, "most time any other scenario (or one idle OTP) may take")
	flag.Parse()
	if err := run(*simgate, strings.Split(*only, ","), strings.Split(*modes, ","), *out, *keep, lim); err != nil {
		fmt.Fprintln(os.Stderr, "bench-peers:", err)
		os.Exit(1)
	}
}

func run(simgate string, only, modes []string, out string, keep bool, lim limits) error {
	bin, err := filepath.Abs(simgate)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("simgate binary: %w (make build)", err)
	}
	root, err := os.MkdirTemp("", "simgate-bench-peers-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintln(os.Stderr, "run directory:", root)
	} else {
		defer os.RemoveAll(root)
	}
	rep := &report{machine: machine(), lim: lim}
	nums := &numbers{}
	for _, k := range peerKinds {
		if !contains(only, k.name) {
			continue
		}
		if err := k.installed(); err != nil {
			return err
		}
		for _, mode := range modes {
			row := row{peer: k.name, mode: mode}
			for si, sc := range scenarios {
				dir := filepath.Join(root, fmt.Sprintf("%s-%s-%d", k.name, mode, si+1))
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
				cell, err := runTrial(bin, dir, k, mode == "tuned", sc, lim, nums)
				if err != nil {
					cell = "error: " + err.Error()
				}
				fmt.Fprintf(os.Stderr, "%s %s | %s | %s\n", k.name, mode, sc.title, cell)
				row.cells = append(row.cells, cell)
			}
			rep.rows = append(rep.rows, row)
		}
	}
	var w io.Writer = os.Stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = io.MultiWriter(os.Stdout, f)
	}
	rep.write(w)
	return nil
}

// runTrial runs one scenario on a fresh peer and fresh virtual modems,
// after one warm-up message per modem has gone through.
func runTrial(bin, dir string, k peerKind, tuned bool, sc scenario, lim limits, nums *numbers) (string, error) {
	sim, err := startSim(bin, dir, sc.modems, sc.latency)
	if err != nil {
		return "", err
	}
	defer sim.stop()
	p := k.new()
	defer p.stop()
	if err := p.start(rig{dir: dir, ports: sim.ports, tuned: tuned, simgate: bin}); err != nil {
		return "", err
	}
	warm := nums.take(sc.modems)
	for _, n := range warm {
		if err := p.submit(message{to: n, text: "warm-up"}); err != nil {
			return "", fmt.Errorf("warm-up: %w", err)
		}
	}
	if _, err := sim.waitSeen(warm, 90*time.Second); err != nil {
		return "", fmt.Errorf("warm-up message not sent within 90s (logs in %s)", dir)
	}
	t := &trial{sim: sim, p: p, lim: lim, latency: sc.latency, nums: nums}
	return sc.run(t)
}

// installed checks that the peer's programs are on PATH.
func (k peerKind) installed() error {
	progs := map[string][]string{"gammu-smsd": {"gammu-smsd", "gammu-smsd-inject"}, "smstools": {"smsd"}, "kannel": {"bearerbox", "smsbox"}}[k.name]
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("%s: %s is not installed (make bench-peers installs it from Debian)", k.name, p)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

// machine describes where the run happened: CPUs, load, kernel, date.
func machine() string {
	load, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(load))
	if len(f) > 3 {
		f = f[:3]
	}
	kernel, _ := exec.Command("uname", "-sr").Output()
	return fmt.Sprintf("%d CPUs (nproc), load average %s at the start, %s, %s, %s", runtime.NumCPU(),
		strings.Join(f, " "), strings.TrimSpace(string(kernel)), runtime.Version(), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
}
