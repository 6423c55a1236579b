package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/internal/powercut"
	_ "modernc.org/sqlite"
)

// TestE2E_PowerCut: the data directory on a filesystem that can lose power
// (internal/powercut), the gateway under load — clients sending messages,
// SMS arriving from outside, OTPs sent and approved — and the power cut
// again and again: SIGKILL, everything not fsynced dropped, remount,
// restart. In the end every message answered 202, every SMS the gateway
// deleted from a SIM (the virtual network's witness) and every approved
// OTP is still there, and the database passes its integrity check after
// every cut.
//
// The same run with durability normal (synchronous=NORMAL) must lose some
// of them: the test shows that it can see a loss.
//
// SIMGATE_POWERCUT_CUTS sets the number of cuts per run (make powercut);
// SIMGATE_E2E_SEED the seed of the kill moments.
func TestE2E_PowerCut(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	needFUSE(t)
	cuts := 3
	if s := os.Getenv("SIMGATE_POWERCUT_CUTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("SIMGATE_POWERCUT_CUTS=%q: want a positive number", s)
		}
		cuts = n
	}
	seed := uint64(20261201)
	if s := os.Getenv("SIMGATE_E2E_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SIMGATE_E2E_SEED=%q: %v", s, err)
		}
		seed = n
	}
	t.Run("full", func(t *testing.T) {
		r := powerCutRun(t, "full", cuts, seed)
		if r.lost() > 0 {
			t.Errorf("durability full lost %s", r)
		}
		if r.accepted == 0 || r.deleted == 0 || r.approved == 0 {
			t.Errorf("too little load to tell: %s", r)
		}
	})
	t.Run("normal", func(t *testing.T) {
		r := powerCutRun(t, "normal", cuts, seed)
		if r.lost() == 0 {
			t.Errorf("durability normal lost nothing over %d cuts (%s): the cuts do not drop what is not synced", cuts, r)
		}
	})
}

// needFUSE skips where the test filesystem cannot be mounted.
func needFUSE(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the power-cut filesystem mounts with mount(2): needs root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no FUSE: %v", err)
	}
}

// powerCutResult counts what was acknowledged and what of it a final look
// did not find.
type powerCutResult struct {
	accepted, deleted, approved             int // 202s, SMS deleted from a SIM, OTPs approved
	lostMessages, lostInbound, lostApproved int
	cuts                                    []string
}

func (r powerCutResult) lost() int { return r.lostMessages + r.lostInbound + r.lostApproved }

func (r powerCutResult) String() string {
	return fmt.Sprintf("%d of %d accepted messages, %d of %d SMS deleted from a SIM, %d of %d approved OTPs",
		r.lostMessages, r.accepted, r.lostInbound, r.deleted, r.lostApproved, r.approved)
}

// powerCutRun runs the gateway on a powercut filesystem with durability
// mode, cuts the power cuts times under load, and looks for what was
// acknowledged.
func powerCutRun(t *testing.T, mode string, cuts int, seed uint64) powerCutResult {
	t.Setenv("SIMGATE_DURABILITY", mode)
	rng := rand.New(rand.NewPCG(seed, seed^0x9c07))
	fsys, data := powerCutMount(t)
	deletedLog := filepath.Join(t.TempDir(), "deleted.jsonl")
	netw := startNetwork(t, 2, "--deleted-log", deletedLog)
	listen := freePort(t)
	g := startGateway(t, data, listen, "", netw.ports)

	load := newPowerCutLoad(netw)
	var res powerCutResult
	for round := range cuts {
		load.untilCut(t, g, round, time.Duration(800+rng.IntN(1200))*time.Millisecond, deletedLog)
		loss := powerCut(t, fsys, data)
		res.cuts = append(res.cuts, fmt.Sprintf("%+v", loss))
		integrityCheck(t, filepath.Join(data, "simgate.db"))
		g = startGateway(t, data, listen, g.key, netw.ports)
	}
	res = load.verify(t, g, res)
	g.stop(t)
	integrityCheck(t, filepath.Join(data, "simgate.db"))
	// The inbox API pages newest first; the database has them all.
	res = load.verifyInbound(t, inboundTexts(t, filepath.Join(data, "simgate.db")), readDeletions(t, deletedLog), res)
	t.Logf("durability %s, %d cuts: lost %s", mode, cuts, res)
	for i, c := range res.cuts {
		t.Logf("cut %d dropped %s", i+1, c)
	}
	return res
}

// powerCutMount mounts a new powercut filesystem for the test; it is
// unmounted after the processes using it are stopped.
func powerCutMount(t *testing.T) (*powercut.FS, string) {
	t.Helper()
	fsys, dir := powercut.New(), t.TempDir()
	if err := fsys.Mount(dir); err != nil {
		t.Fatal(err)
	}
	// Registered before the gateways', so it runs after they are stopped.
	t.Cleanup(func() {
		if err := fsys.Unmount(); err != nil {
			t.Error(err)
			syscall.Unmount(dir, syscall.MNT_DETACH) // leave no mount behind
		}
	})
	return fsys, dir
}

// powerCut is what the machine goes through after its processes died with
// the power: the kernel's caches gone, the disk as it was last synced.
func powerCut(t *testing.T, fsys *powercut.FS, dir string) powercut.Loss {
	t.Helper()
	if err := fsys.Unmount(); err != nil {
		t.Fatal(err)
	}
	loss, err := fsys.Cut()
	if err != nil {
		t.Fatal(err)
	}
	if err := fsys.Mount(dir); err != nil {
		t.Fatal(err)
	}
	return loss
}

// integrityCheck runs PRAGMA integrity_check on the database as a restart
// finds it.
func integrityCheck(t *testing.T, path string) {
	t.Helper()
	if got := queryStrings(t, path, "PRAGMA integrity_check"); len(got) != 1 || got[0] != "ok" {
		t.Fatalf("integrity_check after a power cut: %q", got)
	}
}

// inboundTexts returns the text of every SMS in the database's inbox.
func inboundTexts(t *testing.T, path string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, s := range queryStrings(t, path, "SELECT body FROM inbound") {
		out[s] = true
	}
	return out
}

// queryStrings runs query on a copy of the database at path and returns
// the first column of each row. A copy, made with plain reads: SQLite maps
// the -shm file into memory, and this process serves the filesystem, so a
// page fault of its own on it would wait for itself (the kernel holds the
// process's memory-map lock, which the Go runtime may need to answer).
// The -shm file is left out; SQLite rebuilds it from the WAL, as after a
// power cut.
func queryStrings(t *testing.T, path, query string) []string {
	t.Helper()
	cp := filepath.Join(t.TempDir(), filepath.Base(path))
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cp+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+cp+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return got
}

// powerCutLoad drives the gateway as its users and the outside world do,
// and remembers what the gateway acknowledged.
type powerCutLoad struct {
	netw        *virtualNetwork
	client      *http.Client
	mu          sync.Mutex
	accepted    map[string]string // message ID → text, for each 202
	approved    []string          // OTP IDs, for each check answered approved
	otps        int               // verifications started, to give each its own number
	approvedNow chan struct{}     // a tick for each approval
	inbound     int               // SMS handed to the network
}

func newPowerCutLoad(netw *virtualNetwork) *powerCutLoad {
	return &powerCutLoad{netw: netw, client: &http.Client{Timeout: 30 * time.Second}, accepted: map[string]string{},
		approvedNow: make(chan struct{}, 1)}
}

// start runs three message clients, an SMS sender outside and an OTP user
// against g until ctx ends; wait waits for them.
func (l *powerCutLoad) start(ctx context.Context, g *gatewayProc, round int) (wait func()) {
	var wg sync.WaitGroup
	for c := range 3 {
		wg.Go(func() { l.sendMessages(ctx, g, round, c) })
	}
	wg.Go(func() { l.deliverInbound(ctx, round) })
	wg.Go(func() { l.approveOTPs(ctx, g) })
	return wg.Wait
}

// untilCut runs the load against g for at least d, and until each kind of
// acknowledgement has happened in this round, the last an OTP approval;
// then the power goes: the gateway is SIGKILLed and the clients stop.
func (l *powerCutLoad) untilCut(t *testing.T, g *gatewayProc, round int, d time.Duration, deletedLog string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	before := l.counts(deletedLog)
	wait := l.start(ctx, g, round)
	defer wait()
	defer cancel()
	time.Sleep(d)
	waitFor(t, 30*time.Second, "a 202 and an SMS deleted from a SIM in this round", func() bool {
		now := l.counts(deletedLog)
		return now.accepted > before.accepted && now.deleted > before.deleted
	})
	// Right after an OTP is approved: then its commit, and the last 202s
	// and SIM deletions, are most likely after the last checkpoint, which
	// is all that synchronous=NORMAL syncs.
	for len(l.approvedNow) > 0 {
		<-l.approvedNow
	}
	select {
	case <-l.approvedNow:
	case <-time.After(30 * time.Second):
		t.Fatalf("no OTP approved within 30 s in round %d", round)
	}
	g.kill()
}

// get reads path and decodes a 200 answer into out; it returns the
// status, 0 when the request failed.
func (l *powerCutLoad) get(g *gatewayProc, path string, out any) int {
	req, err := http.NewRequest(http.MethodGet, g.url+path, nil)
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+g.key)
	resp, err := l.client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(out) != nil {
		return 0
	}
	return resp.StatusCode
}

// post sends a JSON request and decodes the answer into out; it returns
// the status, 0 when the request did not complete (the gateway died).
func (l *powerCutLoad) post(ctx context.Context, g *gatewayProc, path string, body, out any) int {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url+path, bytes.NewReader(b))
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+g.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return 0
	}
	return resp.StatusCode
}

func (l *powerCutLoad) sendMessages(ctx context.Context, g *gatewayProc, round, client int) {
	for i := 0; ctx.Err() == nil; i++ {
		text := fmt.Sprintf("pc r%d c%d %05d", round, client, i)
		var out apiv1.SendResponse
		if l.post(ctx, g, "/api/v1/messages", map[string]any{"to": "+12025550150", "text": text, "status_report": false}, &out) == 202 {
			l.mu.Lock()
			l.accepted[out.ID] = text
			l.mu.Unlock()
		}
	}
}

// deliverInbound has the network deliver an SMS to one of the gateway's
// modems every 25 ms; it lands on the SIM, and the gateway reads, stores
// and deletes it.
func (l *powerCutLoad) deliverInbound(ctx context.Context, round int) {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		to := l.netw.numbers[i%len(l.netw.numbers)]
		if _, err := fmt.Fprintf(l.netw.stdin, "deliver +12025550177 %s pc-in-r%d-%04d\n", to, round, i); err != nil {
			return
		}
		l.mu.Lock()
		l.inbound++
		l.mu.Unlock()
	}
}

var otpCodeRe = regexp.MustCompile(`\b(\d{10})\b`)

// approveOTPs starts verifications one after another, each to a number of
// its own (the per-number and per-prefix limits stay far), reads the code
// where the phone would, and checks it.
func (l *powerCutLoad) approveOTPs(ctx context.Context, g *gatewayProc) {
	for ctx.Err() == nil {
		l.mu.Lock()
		l.otps++
		to := fmt.Sprintf("+1202%03d0150", 200+l.otps)
		l.mu.Unlock()
		var v apiv1.OTPSendResponse
		if l.post(ctx, g, "/api/v1/otp", map[string]any{"to": to, "length": 10}, &v) != 201 {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		code := ""
		for code == "" && ctx.Err() == nil {
			time.Sleep(30 * time.Millisecond)
			for _, r := range readRecords(l.netw.log) {
				if m := otpCodeRe.FindStringSubmatch(r.Text); r.To == to && m != nil {
					code = m[1]
				}
			}
		}
		var c apiv1.OTPCheckResponse
		if code != "" && l.post(ctx, g, "/api/v1/otp/"+v.ID+"/check", map[string]any{"code": code}, &c) == 200 && c.Status == "approved" {
			l.mu.Lock()
			l.approved = append(l.approved, v.ID)
			l.mu.Unlock()
			select {
			case l.approvedNow <- struct{}{}:
			default:
			}
		}
	}
}

// readRecords reads the network's record log as far as it is whole; it is
// read while the network appends to it.
func readRecords(path string) []recordJSON {
	b, _ := os.ReadFile(path)
	var out []recordJSON
	for line := range bytes.Lines(b) {
		var r recordJSON
		if json.Unmarshal(line, &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// powerCutCounts are running totals of what was acknowledged.
type powerCutCounts struct{ accepted, deleted, approved int }

func (l *powerCutLoad) counts(deletedLog string) powerCutCounts {
	b, _ := os.ReadFile(deletedLog)
	l.mu.Lock()
	defer l.mu.Unlock()
	return powerCutCounts{accepted: len(l.accepted), deleted: bytes.Count(b, []byte("\n")), approved: len(l.approved)}
}

// verify looks, through the API of the restarted gateway, for every
// message answered 202 and every approved OTP.
func (l *powerCutLoad) verify(t *testing.T, g *gatewayProc, res powerCutResult) powerCutResult {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	res.accepted, res.approved = len(l.accepted), len(l.approved)
	var examples []string
	for id, text := range l.accepted {
		switch s := l.get(g, "/api/v1/messages/"+id, &apiv1.Message{}); s {
		case 200:
		case 404:
			res.lostMessages++
			examples = append(examples, fmt.Sprintf("message %s (%q)", id, text))
		default:
			t.Fatalf("GET message %s: %d", id, s)
		}
	}
	for _, id := range l.approved {
		var v apiv1.Verification
		if s := l.get(g, "/api/v1/otp/"+id, &v); s != 200 || v.Status != "approved" {
			res.lostApproved++
			examples = append(examples, fmt.Sprintf("OTP %s: %d %q", id, s, v.Status))
		}
	}
	t.Logf("load: %d SMS delivered to the modems, %d OTPs started", l.inbound, l.otps)
	if len(examples) > 0 {
		t.Logf("lost, for example: %s", strings.Join(examples[:min(5, len(examples))], "; "))
	}
	return res
}

// verifyInbound looks for every SMS deleted from a SIM among those stored.
func (l *powerCutLoad) verifyInbound(t *testing.T, stored, deleted map[string]bool, res powerCutResult) powerCutResult {
	t.Helper()
	var examples []string
	for text := range deleted {
		res.deleted++
		if !stored[text] {
			res.lostInbound++
			examples = append(examples, fmt.Sprintf("%q", text))
		}
	}
	if len(examples) > 0 {
		t.Logf("SMS deleted from a SIM and lost, for example: %s", strings.Join(examples[:min(5, len(examples))], ", "))
	}
	return res
}

// readDeletions returns the texts of the test's SMS the gateway deleted
// from a SIM, from the network's --deleted-log.
func readDeletions(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var d deletionJSON
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("deleted log line %q: %v", sc.Text(), err)
		}
		if strings.HasPrefix(d.Text, "pc-in-") {
			out[d.Text] = true
		}
	}
	return out
}
