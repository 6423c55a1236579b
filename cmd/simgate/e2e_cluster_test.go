package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
)

// cluster is three "simgate serve" on one PostgreSQL database, each with
// two modems of one virtual network, and the same otp.key.
type cluster struct {
	netw  *virtualNetwork
	url   string // the database
	names []string
	hosts []*gatewayProc
}

const clusterLease = 4 * time.Second // short, so that a dead host's claims come back soon

func startCluster(t *testing.T) *cluster {
	t.Helper()
	url := postgres(t)
	c := &cluster{netw: startNetwork(t, 6), url: url}
	cmd := exec.Command(simgateBin(t), "apikey", "create", "--data", t.TempDir(), "--name", "e2e")
	cmd.Env = append(os.Environ(), "SIMGATE_DATABASE="+url)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	key := lines[len(lines)-1]
	var otpKey []byte
	for i, name := range []string{"host-a", "host-b", "host-c"} {
		data := t.TempDir()
		if otpKey != nil { // every host seals and opens with the same key
			if err := os.WriteFile(filepath.Join(data, otpKeyFile), otpKey, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		conf := filepath.Join(data, "simgate.yaml")
		// No per-key rate limit (20/s, burst 200 by default, per host): the
		// bursts send as fast as three hosts accept.
		body := fmt.Sprintf("database: %q\nhost: %s\nlease: %s\nmessages:\n  key_rate: 0\n", url, name, clusterLease)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		g := startGateway(t, data, freePort(t), key, c.netw.ports[2*i:2*i+2], "--config", conf)
		c.hosts, c.names = append(c.hosts, g), append(c.names, name)
		if otpKey == nil {
			if otpKey, err = os.ReadFile(filepath.Join(data, otpKeyFile)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return c
}

// burst sends n messages, tagged, through the hosts in turn (those in
// via), from a few clients at once, and returns their IDs by tag. after,
// when not nil, runs once half of them are accepted.
func (c *cluster) burst(t *testing.T, tag string, n int, via []*gatewayProc, after func()) map[string]string {
	t.Helper()
	ids := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var once sync.Once
	next := make(chan int)
	dead := make(chan struct{}) // every client gone (a t.Fatalf in each): stop feeding them
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				text := fmt.Sprintf("%s-%04d", tag, i)
				st, resp := via[i%len(via)].send(t, map[string]any{"to": "+12025550188", "text": text})
				if st != 202 {
					t.Errorf("send %s: %d", text, st)
					continue
				}
				mu.Lock()
				ids[text] = resp.ID
				mu.Unlock()
			}
		}()
	}
	go func() { wg.Wait(); close(dead) }()
feed:
	for i := 0; i < n; i++ {
		if i == n/2 && after != nil {
			once.Do(after)
		}
		select {
		case next <- i:
		case <-dead:
			break feed
		}
	}
	close(next)
	wg.Wait()
	return ids
}

// sentCounts counts, per text with the tag, the SMS the network carried.
func (c *cluster) sentCounts(t *testing.T, tag string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, r := range c.netw.records(t) {
		if strings.HasPrefix(r.Text, tag+"-") {
			counts[r.Text]++
		}
	}
	return counts
}

// waitAllSent waits until every message of ids was carried at least once.
func (c *cluster) waitAllSent(t *testing.T, tag string, ids map[string]string) map[string]int {
	t.Helper()
	var counts map[string]int
	waitFor(t, 3*time.Minute, fmt.Sprintf("the %d %s messages on the network", len(ids), tag), func() bool {
		counts = c.sentCounts(t, tag)
		return len(counts) == len(ids)
	})
	return counts
}

// Three gateways on one PostgreSQL (issue 13): messages accepted by any
// host go out once, on any host's modems; an OTP sent through one host is
// approved through another; a host killed mid-burst loses nothing, its
// claims going out on the others once its lease ran out; a host frozen past
// its lease and resumed records nothing over the new owner's outcome.
func TestE2E_Cluster(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	phase := time.Now()
	lap := func(what string) { // make cluster shows where the time goes
		t.Logf("%s: %v", what, time.Since(phase).Round(100*time.Millisecond))
		phase = time.Now()
	}
	c := startCluster(t)
	c.watch(t)
	a, b, hc := c.hosts[0], c.hosts[1], c.hosts[2]

	// startGateway saw two online modems on the last host: maybe others'.
	var mods apiv1.ModemList
	waitFor(t, 30*time.Second, "host a listing every host's 6 modems online", func() bool {
		mods = apiv1.ModemList{}
		if a.get(t, "/api/v1/modems", &mods) != 200 || len(mods.Modems) != 6 {
			return false
		}
		for _, m := range mods.Modems {
			if m.State != "online" {
				return false
			}
		}
		return true
	})
	hostsSeen := map[string]int{}
	for _, m := range mods.Modems {
		hostsSeen[m.Host]++
	}
	if hostsSeen["host-a"] != 2 || hostsSeen["host-b"] != 2 || hostsSeen["host-c"] != 2 {
		t.Errorf("modems per host %v, want 2 on each", hostsSeen)
	}

	// 1,000 messages through all three APIs: each carried exactly once.
	lap("three hosts up")
	ids := c.burst(t, "once", 1000, c.hosts, nil)
	counts := c.waitAllSent(t, "once", ids)
	byModem := map[string]int{}
	for _, r := range c.netw.records(t) {
		if strings.HasPrefix(r.Text, "once-") {
			byModem[r.FromIMEI]++
		}
	}
	for text, n := range counts {
		if n != 1 {
			t.Errorf("%s carried %d times, want once", text, n)
		}
	}
	if len(byModem) < 4 {
		t.Errorf("messages went out on %d modems, want the three hosts' modems sharing them: %v", len(byModem), byModem)
	}

	lap("1,000 messages once")
	c.otpAcrossHosts(t, a, b)
	lap("OTP across hosts")
	c.killMidBurst(t, a, b, hc)
	lap("SIGKILL mid-burst")
	c.deadHostOffline(t, a, "host-c")
	lap("the dead host's modems offline")
	c.freezePastLease(t, a, b)
	lap("SIGSTOP past the lease")
}

// deadHostOffline waits until from lists the modems of the killed host
// dead offline (no heartbeat for a lease), the others' still online.
func (c *cluster) deadHostOffline(t *testing.T, from *gatewayProc, dead string) {
	t.Helper()
	var mods apiv1.ModemList
	waitFor(t, time.Minute, dead+"'s modems offline, the others online", func() bool {
		mods = apiv1.ModemList{}
		if from.get(t, "/api/v1/modems", &mods) != 200 || len(mods.Modems) != 6 {
			return false
		}
		for _, m := range mods.Modems {
			if (m.Host == dead) != (m.State == "offline") {
				return false
			}
		}
		return true
	})
}

// otpAcrossHosts sends a code through one host and approves it on another.
func (c *cluster) otpAcrossHosts(t *testing.T, from, check *gatewayProc) {
	t.Helper()
	to := "+12025550150"
	out, err := from.cli(t, "otp", "send", "--to", to, "--length", "10", "--json")
	var v apiv1.OTPSendResponse
	if err != nil || json.Unmarshal([]byte(out), &v) != nil {
		t.Fatalf("otp send: %v\n%s", err, out)
	}
	codeRe := regexp.MustCompile(`\b(\d{10})\b`)
	var code string
	waitFor(t, 30*time.Second, "the code SMS on the network", func() bool {
		for _, r := range c.netw.records(t) {
			if m := codeRe.FindStringSubmatch(r.Text); r.To == to && m != nil {
				code = m[1]
			}
		}
		return code != ""
	})
	if out, err := check.cli(t, "otp", "check", v.ID, code); err != nil || !strings.Contains(out, "approved") {
		t.Fatalf("code checked on another host: %v\n%s", err, out)
	}
}

// killMidBurst SIGKILLs host c, which claims from the queue with the
// others, halfway through a burst accepted by a and b: every message goes
// out, those c held once its lease ran out.
func (c *cluster) killMidBurst(t *testing.T, a, b, victim *gatewayProc) {
	t.Helper()
	ids := c.burst(t, "kill", 300, []*gatewayProc{a, b}, victim.kill)
	c.waitAllSent(t, "kill", ids)
	for text, id := range ids {
		if _, m := a.waitStatus(t, id, time.Minute, "sent", "delivered"); m.Status != "sent" && m.Status != "delivered" {
			t.Errorf("%s (%s) ended %s", text, id, m.Status)
		}
	}
}

// freezePastLease stops host b (SIGSTOP) halfway through a burst accepted
// by a, likely with messages in hand, until its leases ran out and a took
// them over, then resumes b: the outcomes a recorded stay.
func (c *cluster) freezePastLease(t *testing.T, a, frozen *gatewayProc) {
	t.Helper()
	t.Cleanup(func() { frozen.cmd.Process.Signal(syscall.SIGCONT) }) // so that it can stop
	ids := c.burst(t, "freeze", 200, []*gatewayProc{a}, func() {
		frozen.cmd.Process.Signal(syscall.SIGSTOP)
	})
	c.waitAllSent(t, "freeze", ids)
	time.Sleep(clusterLease) // nothing more depends on b: let its claims run out for sure
	final := map[string]apiv1.Message{}
	for text, id := range ids {
		_, m := a.waitStatus(t, id, time.Minute, "sent", "delivered")
		final[text] = m
	}
	frozen.cmd.Process.Signal(syscall.SIGCONT)
	// b wakes with its old claims; give it time to try to record them.
	waitFor(t, 30*time.Second, "host b answering again", func() bool {
		var l apiv1.ModemList
		return frozen.get(t, "/api/v1/modems", &l) == 200
	})
	time.Sleep(2 * time.Second)
	for text, before := range final {
		after := a.message(t, before.ID)
		if after.Status != "sent" && after.Status != "delivered" || deref(after.Modem) != deref(before.Modem) {
			t.Errorf("%s: %s on %s before host b resumed, %s on %s after", text, before.Status, deref(before.Modem),
				after.Status, deref(after.Modem))
		}
	}
}
