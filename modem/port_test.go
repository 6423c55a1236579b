//go:build linux

package modem_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/modemsim"
)

// A modem waiting for its port holds no OS thread: its reads wait in the
// poller (port.go). Read in select(2), as go.bug.st/serial does, each idle
// modem kept a thread blocked in the kernel, 32 modems 32 threads.
func TestOpen_IdleModemsHoldNoThread(t *testing.T) {
	const modems = 32
	n := modemsim.NewNetwork()
	t.Cleanup(func() { n.Close() })
	before := threads(t)
	for range modems {
		path, err := n.AddModem(modemsim.Config{}).OpenPTY(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		m, err := modem.Open(t.Context(), path, modem.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		if err := m.Init(ctxFor(t)); err != nil {
			t.Fatalf("init: %v", err)
		}
	}
	// Every reader is back in its Read once its Init is answered; a
	// thread blocked in one is there for good, so a short look suffices.
	most := 0
	for range 20 {
		most = max(most, threads(t)-before)
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%d idle modems, %d threads more", modems, most)
	if most >= modems/2 {
		t.Errorf("%d idle modems added up to %d threads; want fewer than %d", modems, most, modems/2)
	}
}

// threads is this process's number of OS threads.
func threads(t *testing.T) int {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}
