package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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
	"github.com/simgate/simgate/internal/testkit"
)

// The end-to-end tests run the real binary, as a user does: "simgate sim" in
// one process is the virtual network (and the witness of what was sent),
// "simgate serve" in another is the gateway, driven over HTTP.

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	stopPostgres()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// simgateBin builds the binary once per test run.
func simgateBin(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "simgate-e2e-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "simgate")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// proc is a running simgate process.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *testkit.SyncBuffer
	stderr *testkit.SyncBuffer
	done   chan struct{}
}

func startProc(t testing.TB, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(simgateBin(t), args...)
	p := &proc{cmd: cmd, stdout: &testkit.SyncBuffer{}, stderr: &testkit.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	cmd.Env = append(os.Environ(), "SIMGATE_CONFIG=")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = in
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop ends the process with SIGTERM (SIGKILL after 15 s) and waits.
func (p *proc) stop(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Errorf("%s did not stop on SIGTERM; killing it\nstderr:\n%s", p.cmd.Args[1], tail(p.stderr.String(), 3000))
		p.cmd.Process.Kill()
		<-p.done
	}
}

// kill ends the process with SIGKILL, as a power cut would.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// virtualNetwork is a "simgate sim" process.
type virtualNetwork struct {
	*proc
	ports   []string
	numbers []string
	imeis   []string
	log     string
}

func startNetwork(t testing.TB, count int, extra ...string) *virtualNetwork {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "records.jsonl")
	args := append([]string{"sim", "--count", fmt.Sprint(count), "--link-dir", filepath.Join(dir, "dev"), "--log", log}, extra...)
	p := startProc(t, args...)
	n := &virtualNetwork{proc: p, log: log}
	re := regexp.MustCompile(`virtual modem \d+: \S+\s+number (\+\d+)\s+IMEI (\d+)`)
	// stdout and stderr are copied by separate goroutines: wait for both.
	waitFor(t, 10*time.Second, "the virtual modems", func() bool {
		return len(re.FindAllStringSubmatch(p.stderr.String(), -1)) == count &&
			len(strings.Fields(p.stdout.String())) == count
	})
	for _, m := range re.FindAllStringSubmatch(p.stderr.String(), -1) {
		n.numbers = append(n.numbers, m[1])
		n.imeis = append(n.imeis, m[2])
	}
	n.ports = strings.Fields(p.stdout.String())
	if len(n.ports) != count {
		t.Fatalf("sim printed ports %q, want %d", n.ports, count)
	}
	return n
}

// control sends a command to the network ("unplug 1").
func (n *virtualNetwork) control(t testing.TB, cmd string) {
	t.Helper()
	if _, err := io.WriteString(n.stdin, cmd+"\n"); err != nil {
		t.Fatalf("sim %s: %v", cmd, err)
	}
}

// records reads the network's record log.
func (n *virtualNetwork) records(t testing.TB) []recordJSON {
	t.Helper()
	b, err := os.ReadFile(n.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	// The network may be writing a record as it is read: only whole lines.
	b = b[:bytes.LastIndexByte(b, '\n')+1]
	var out []recordJSON
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r recordJSON
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("record log line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// e2eClient is the end-to-end tests' HTTP client: a gateway that stops
// answering fails the request (and the test) instead of hanging it.
var e2eClient = &http.Client{Timeout: time.Minute}

// gatewayProc is a "simgate serve" process.
type gatewayProc struct {
	*proc
	url string
	key string
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startGateway runs "simgate serve" on data with the given modem ports and
// waits until every modem is online. key is the API key to use; when empty
// one is created first with "simgate apikey create".
func startGateway(t testing.TB, data, listen, key string, ports []string, extra ...string) *gatewayProc {
	t.Helper()
	if key == "" {
		out, err := exec.Command(simgateBin(t), "apikey", "create", "--data", data, "--name", "e2e").Output()
		if err != nil {
			t.Fatalf("apikey create: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		key = lines[len(lines)-1]
	}
	args := []string{"serve", "--data", data, "--listen", listen}
	for _, p := range ports {
		args = append(args, "--modem", p)
	}
	p := startProc(t, append(args, extra...)...)
	g := &gatewayProc{proc: p, url: "http://" + listen, key: key}
	waitFor(t, 30*time.Second, "the gateway to serve /healthz", func() bool {
		resp, err := e2eClient.Get(g.url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	waitFor(t, 30*time.Second, "every modem online", func() bool {
		var out apiv1.ModemList
		if g.get(t, "/api/v1/modems", &out) != 200 || len(out.Modems) < len(ports) {
			return false
		}
		for _, m := range out.Modems {
			if m.State != "online" {
				return false
			}
		}
		return true
	})
	return g
}

// call sends a request with the gateway's key and decodes a JSON answer
// into out (when not nil); it returns the status.
func (g *gatewayProc) call(t testing.TB, method, path string, body io.Reader, out any, hdr ...string) int {
	t.Helper()
	req, err := http.NewRequest(method, g.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+g.key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e2eClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// cli runs a simgate client command against the gateway, with its URL and
// key in the environment, and returns stdout (and stderr when it fails).
func (g *gatewayProc) cli(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(simgateBin(t), args...)
	cmd.Env = append(os.Environ(), "SIMGATE_SERVER="+g.url, "SIMGATE_API_KEY="+g.key)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out) + string(ee.Stderr), err
	}
	return string(out), err
}

func (g *gatewayProc) get(t testing.TB, path string, out any) int {
	t.Helper()
	return g.call(t, http.MethodGet, path, nil, out)
}

func (g *gatewayProc) send(t testing.TB, body map[string]any) (int, apiv1.SendResponse) {
	t.Helper()
	b, _ := json.Marshal(body)
	var out apiv1.SendResponse
	status := g.call(t, http.MethodPost, "/api/v1/messages", bytes.NewReader(b), &out)
	return status, out
}

func (g *gatewayProc) message(t testing.TB, id string) apiv1.Message {
	t.Helper()
	var m apiv1.Message
	if s := g.get(t, "/api/v1/messages/"+id, &m); s != 200 {
		t.Fatalf("GET message %s: %d", id, s)
	}
	return m
}

// waitStatus polls a message until its status is final or want, and
// returns every status it saw, in order, without repeats.
func (g *gatewayProc) waitStatus(t testing.TB, id string, d time.Duration, want ...string) ([]string, apiv1.Message) {
	t.Helper()
	var seen []string
	var m apiv1.Message
	deadline := time.Now().Add(d)
	for {
		m = g.message(t, id)
		if len(seen) == 0 || seen[len(seen)-1] != m.Status {
			seen = append(seen, m.Status)
		}
		for _, w := range want {
			if m.Status == w {
				return seen, m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s: statuses %v, wanted one of %v within %v", id, seen, want, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestE2E_SendDeliverReceive(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	netw := startNetwork(t, 2, "--report-delay", "300ms", "--fail", "+12025550199:1")
	g := startGateway(t, t.TempDir(), freePort(t), "", netw.ports)
	from, to := netw.imeis[0], netw.numbers[1]

	tests := []struct {
		name, text, encoding string
		segments             int
	}{
		{"gsm7 single", "Hello from simgate: {ok} €5", "gsm7", 1},
		{"gsm7 multipart", strings.Repeat("A long message in GSM-7. ", 16), "gsm7", 3},
		{"ucs2 single", "Привет, мир! 👋", "ucs2", 1},
		{"ucs2 multipart", strings.Repeat("Ünïcödé текст 🚀 ", 10), "ucs2", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, sent := g.send(t, map[string]any{"to": to, "text": tt.text, "modem": from})
			if status != 202 || sent.Status != "queued" || sent.Encoding != tt.encoding || sent.Segments != tt.segments {
				t.Fatalf("POST = %d %+v, want 202 queued %s with %d segments", status, sent, tt.encoding, tt.segments)
			}
			seen, m := g.waitStatus(t, sent.ID, 30*time.Second, "delivered", "failed")
			if m.Status != "delivered" {
				t.Fatalf("message ended %s (%s), statuses %v", m.Status, m.Error, seen)
			}
			// The report comes 300 ms after the send: "sent" is observable.
			if !containsInOrder(seen, "sent", "delivered") {
				t.Errorf("statuses %v, want sent then delivered", seen)
			}
			if len(m.Parts) != tt.segments {
				t.Fatalf("%d parts, want %d", len(m.Parts), tt.segments)
			}
			for _, p := range m.Parts {
				if p.Status != "delivered" || p.MR == nil {
					t.Errorf("part %d: %s mr %v, want delivered with an MR", p.Index, p.Status, p.MR)
				}
			}
			// The virtual network saw the exact text, from modem 1 to modem 2.
			var joined strings.Builder
			for _, r := range netw.records(t) {
				if r.FromIMEI == from && r.To == to && strings.HasPrefix(tt.text, joined.String()+r.Text) && (joined.Len() > 0 || r.Part == 1) {
					joined.WriteString(r.Text)
				}
			}
			if joined.String() != tt.text {
				t.Errorf("network records join to %q, want %q", joined.String(), tt.text)
			}
			// And modem 2 received it whole: the inbox has it.
			waitFor(t, 10*time.Second, "the message in the inbox", func() bool {
				var in apiv1.Inbox
				g.get(t, "/api/v1/inbox?limit=100", &in)
				for _, im := range in.Messages {
					if im.Text == tt.text && im.Modem == netw.imeis[1] && im.From == netw.numbers[0] {
						return true
					}
				}
				return false
			})
		})
	}

	t.Run("failing number does not block", func(t *testing.T) {
		_, bad := g.send(t, map[string]any{"to": "+12025550199", "text": "to nowhere", "modem": from})
		_, good := g.send(t, map[string]any{"to": to, "text": "right behind it", "modem": from})
		_, m := g.waitStatus(t, bad.ID, 30*time.Second, "failed", "delivered")
		if m.Status != "failed" || !strings.Contains(m.Error, "CMS ERROR: 1") {
			t.Errorf("failing number: status %s error %q, want failed with +CMS ERROR: 1", m.Status, m.Error)
		}
		_, m = g.waitStatus(t, good.ID, 30*time.Second, "delivered", "failed")
		if m.Status != "delivered" {
			t.Errorf("message behind the failing one: %s (%s)", m.Status, m.Error)
		}
	})
}

// containsInOrder reports whether want appear in seen in that order.
func containsInOrder(seen []string, want ...string) bool {
	i := 0
	for _, s := range seen {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}
