package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simgate/simgate/internal/testkit"
)

// TestServe_NotifiesSystemd runs the binary as systemd would run the
// packaged unit (NOTIFY_SOCKET, WATCHDOG_USEC) on a socket the test reads:
// READY=1 comes once the HTTP port answers, WATCHDOG=1 pings follow, and
// STOPPING=1 comes on SIGTERM.
func TestServe_NotifiesSystemd(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	states := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(states)
				return
			}
			for _, s := range strings.Split(strings.TrimSpace(string(buf[:n])), "\n") {
				states <- s
			}
		}
	}()

	cmd := exec.Command(simgateBin(t), "serve", "--sim", "1", "--data", t.TempDir(), "--listen", "127.0.0.1:0")
	stdout, stderr := &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// 200 ms: a ping every 100 ms, so several arrive within the test.
	cmd.Env = append(os.Environ(), "SIMGATE_CONFIG=", "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=200000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})

	next := func(want string) {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case s, ok := <-states:
				if !ok {
					t.Fatalf("notify socket closed before %s", want)
				}
				if s == want {
					return
				}
			case <-done:
				t.Fatalf("simgate exited before %s\nstderr:\n%s", want, tail(stderr.String(), 3000))
			case <-deadline:
				t.Fatalf("no %s within 60 s\nstderr:\n%s", want, tail(stderr.String(), 3000))
			}
		}
	}
	next("READY=1")
	// Ready means serving: the address is printed and /healthz answers.
	url := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(stdout.String())
	if url == nil {
		t.Fatalf("READY=1 before the listen address was printed; stdout:\n%s", stdout.String())
	}
	resp, err := http.Get(url[1] + "/healthz")
	if err != nil {
		t.Fatalf("READY=1 but /healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("READY=1 but /healthz answers %d", resp.StatusCode)
	}
	next("WATCHDOG=1")
	next("WATCHDOG=1")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	next("STOPPING=1")
	<-done
	if !cmd.ProcessState.Success() {
		t.Errorf("simgate exited with %v after SIGTERM\nstderr:\n%s", cmd.ProcessState, tail(stderr.String(), 3000))
	}
}
