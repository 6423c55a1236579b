package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
)

// TestE2E_Soak is the chaos soak: the real binary against four virtual
// modems that misbehave at random ("simgate sim --chaos SEED": every class
// of +CMS ERROR, late and lost answers, prompts that never come, unplug and
// replug, resets mid-multipart, echo back on, noise inside answers, reports
// late, twice or never, inbound bursts and odd PDUs, registration flapping,
// hangs), while clients send messages and OTPs over HTTP and the gateway is
// SIGKILLed and restarted several times. Then the chaos stops, the gateway
// drains, and a table of invariants is printed (soak_check_test.go); any
// row that fails fails the test.
//
// SIMGATE_SOAK sets the length of the chaos (default 60s, the run in make
// test, with the fixed seed; make soak runs 10m with a new seed), SIMGATE_SOAK_SEED its seed (printed; the same seed draws the same
// faults and kill moments), SIMGATE_SOAK_DIR an empty directory to keep
// its database and logs in.
func TestE2E_Soak(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	length := 60 * time.Second
	if s := os.Getenv("SIMGATE_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 10*time.Second {
			t.Fatalf("SIMGATE_SOAK=%q: want a duration of at least 10s", s)
		}
		length = d
	}
	seed := uint64(20261202)
	if s := os.Getenv("SIMGATE_SOAK_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SIMGATE_SOAK_SEED=%q: %v", s, err)
		}
		seed = n
	}
	t.Logf("soak: seed %d, %v of chaos (SIMGATE_SOAK_SEED=%d reproduces it)", seed, length, seed)
	r := runSoak(t, seed, length)
	r.report(t)
}

// soakRun is one soak: its processes, its files and what the clients saw.
type soakRun struct {
	seed      uint64
	dir, data string
	netw      *virtualNetwork
	chaosLog  string
	deleted   string
	listen    string
	key       string

	mu         sync.Mutex
	gateways   []*gatewayProc // every gateway started, the last one running
	kills      []time.Time
	accepted   map[string]bool // message IDs answered 202
	otps       int             // verifications started
	approved   int
	latencies  []time.Duration // of every API request answered during the chaos
	idle       soakIdle        // the first gateway's figures before the chaos
	chaosEnd   time.Time
	duplicates int
}

func runSoak(t *testing.T, seed uint64, length time.Duration) (r *soakRun) {
	dir := t.TempDir()
	if d := os.Getenv("SIMGATE_SOAK_DIR"); d != "" {
		dir = d // kept afterwards, to look into
		if old, _ := os.ReadDir(d); len(old) > 0 {
			t.Fatalf("SIMGATE_SOAK_DIR %s is not empty: a run's database and logs go to an empty directory", d)
		}
	}
	defer func() { t.Cleanup(func() { r.keepLogs(t) }) }()
	r = &soakRun{seed: seed, dir: dir, data: filepath.Join(dir, "data"), chaosLog: filepath.Join(dir, "chaos.jsonl"),
		deleted: filepath.Join(dir, "deleted.jsonl"), listen: freePort(t), accepted: map[string]bool{}}
	r.netw = startNetwork(t, 4, "--deleted-log", r.deleted, "--chaos", strconv.FormatUint(seed, 10),
		"--chaos-log", r.chaosLog, "--chaos-paused")
	g := startGateway(t, r.data, r.listen, "", r.netw.ports)
	r.key = g.key
	r.gateways = append(r.gateways, g)
	time.Sleep(2 * time.Second) // past the start's own bustle
	r.idle = r.idleFigures(t, g)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for c := range 3 {
		wg.Go(func() { r.sendMessages(ctx, c) })
	}
	wg.Go(func() { r.sendOTPs(ctx) })
	r.netw.control(t, "chaos on")
	r.killAndRestart(t, seed, length)
	r.netw.control(t, "chaos off")
	r.mu.Lock()
	r.chaosEnd = time.Now()
	r.mu.Unlock()
	cancel()
	wg.Wait()
	return r
}

// killAndRestart SIGKILLs the gateway at seeded moments within the first
// two thirds of the chaos (so the last one lives through a good part of
// it) and starts it again at once; it returns when the chaos is over.
func (r *soakRun) killAndRestart(t *testing.T, seed uint64, length time.Duration) {
	rng := rand.New(rand.NewPCG(seed, seed^0x6b11))
	kills := max(2, int(length/(45*time.Second)))
	var at []time.Duration
	for range kills {
		at = append(at, time.Duration(rng.Int64N(int64(length*2/3))))
	}
	slices.Sort(at)
	start := time.Now()
	for _, d := range at {
		time.Sleep(time.Until(start.Add(d)))
		g := r.current()
		g.kill()
		r.mu.Lock()
		r.kills = append(r.kills, time.Now())
		r.mu.Unlock()
		g = r.startGateway(t)
		r.mu.Lock()
		r.gateways = append(r.gateways, g)
		r.mu.Unlock()
	}
	time.Sleep(time.Until(start.Add(length)))
}

func (r *soakRun) current() *gatewayProc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gateways[len(r.gateways)-1]
}

// startGateway starts the gateway again on the same data and waits until
// it serves: its modems may well be unplugged or hung just now.
func (r *soakRun) startGateway(t *testing.T) *gatewayProc {
	args := []string{"serve", "--data", r.data, "--listen", r.listen}
	for _, p := range r.netw.ports {
		args = append(args, "--modem", p)
	}
	g := &gatewayProc{proc: startProc(t, args...), url: "http://" + r.listen, key: r.key}
	waitFor(t, 60*time.Second, "the restarted gateway to serve /healthz", func() bool {
		resp, err := http.Get(g.url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	return g
}

var soakClient = &http.Client{Timeout: 60 * time.Second}

// post sends a JSON request to the running gateway and decodes the answer;
// it returns the status, 0 when no answer came (the gateway was killed).
// The time of each answer during the chaos is kept for the latency figure.
func (r *soakRun) post(ctx context.Context, path string, body, out any) int {
	b, _ := json.Marshal(body)
	g := r.current()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url+path, bytes.NewReader(b))
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+r.key)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := soakClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	took := time.Since(start)
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil && resp.StatusCode < 300 {
		return 0
	}
	r.mu.Lock()
	r.latencies = append(r.latencies, took)
	r.mu.Unlock()
	return resp.StatusCode
}

// sendMessages is one client: a message every 100–300 ms to one of a
// hundred numbers, one in four long (two or three parts), one in three
// asking for a report; every text is unique.
func (r *soakRun) sendMessages(ctx context.Context, client int) {
	rng := rand.New(rand.NewPCG(r.seed, uint64(client)))
	for i := 0; ctx.Err() == nil; i++ {
		text := fmt.Sprintf("soak c%d %05d", client, i)
		if rng.IntN(4) == 0 {
			for len(text) < 200+rng.IntN(200) {
				text += fmt.Sprintf(" c%d.%05d/%d", client, i, len(text)) // each part unique too
			}
		}
		body := map[string]any{"to": fmt.Sprintf("+1202555%04d", 200+rng.IntN(100)), "text": text,
			"status_report": rng.IntN(3) == 0}
		var out apiv1.SendResponse
		if r.post(ctx, "/api/v1/messages", body, &out) == 202 {
			r.mu.Lock()
			r.accepted[out.ID] = true
			r.mu.Unlock()
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(100+rng.IntN(200)) * time.Millisecond):
		}
	}
}

// sendOTPs starts verifications one after another, each to a number of its
// own, reads the code where the phone would (the network's record) and
// checks it; a code that does not come within 20 s is left.
func (r *soakRun) sendOTPs(ctx context.Context) {
	for ctx.Err() == nil {
		r.mu.Lock()
		r.otps++
		to := fmt.Sprintf("+1202%03d0150", 200+r.otps%700)
		r.mu.Unlock()
		var v apiv1.OTPSendResponse
		if r.post(ctx, "/api/v1/otp", map[string]any{"to": to, "length": 10}, &v) != 201 {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		code := ""
		for deadline := time.Now().Add(20 * time.Second); code == "" && ctx.Err() == nil && time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
			for _, rec := range readRecords(r.netw.log) {
				if m := otpCodeRe.FindStringSubmatch(rec.Text); rec.To == to && m != nil {
					code = m[1]
				}
			}
		}
		var c apiv1.OTPCheckResponse
		if code != "" && r.post(ctx, "/api/v1/otp/"+v.ID+"/check", map[string]any{"code": code}, &c) == 200 && c.Status == "approved" {
			r.mu.Lock()
			r.approved++
			r.mu.Unlock()
		}
	}
}

// soakIdle is what a gateway uses at rest.
type soakIdle struct {
	goroutines, heap float64
}

func (r *soakRun) idleFigures(t *testing.T, g *gatewayProc) soakIdle {
	m := scrape(t, g.url+"/metrics")
	return soakIdle{goroutines: m["go_goroutines"], heap: m["go_memstats_heap_inuse_bytes"]}
}

// keepLogs writes every process's log beside the database when
// SIMGATE_SOAK_DIR keeps the run: gateway-N.log (N from 1, in start order)
// sim.log and the network's records.jsonl.
func (r *soakRun) keepLogs(t *testing.T) {
	if r == nil || r.netw == nil || os.Getenv("SIMGATE_SOAK_DIR") == "" {
		return
	}
	files := map[string]string{"sim.log": r.netw.stderr.String()}
	if b, err := os.ReadFile(r.netw.log); err == nil {
		files["records.jsonl"] = string(b) // the network's record, gone with the temp dir else
	}
	r.mu.Lock()
	for i, g := range r.gateways {
		files[fmt.Sprintf("gateway-%d.log", i+1)] = g.stderr.String()
	}
	r.mu.Unlock()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(r.dir, name), []byte(text), 0o600); err != nil {
			t.Errorf("keep %s: %v", name, err)
		}
	}
}

// panics returns the first panic or fatal error in the logs of every
// process, "" when there is none.
func (r *soakRun) panics() string {
	logs := []string{r.netw.stderr.String()}
	r.mu.Lock()
	for _, g := range r.gateways {
		logs = append(logs, g.stderr.String())
	}
	r.mu.Unlock()
	for _, l := range logs {
		for _, needle := range []string{"panic:", "fatal error:", "DATA RACE"} {
			if i := strings.Index(l, needle); i >= 0 {
				return l[i:min(len(l), i+2000)]
			}
		}
	}
	return ""
}
