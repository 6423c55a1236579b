package hooks_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/hooks"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/store"
)

// recorder is a program that writes what it got — stdin and its SIMGATE_*
// environment — to files named after the event in the directory $1.
const recorder = `#!/bin/sh
cat > "$1/$SIMGATE_EVENT_ID.json.tmp"
env | grep '^SIMGATE_' | sort > "$1/$SIMGATE_EVENT_ID.env"
mv "$1/$SIMGATE_EVENT_ID.json.tmp" "$1/$SIMGATE_EVENT_ID.json"
`

func writeScript(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// running is a Hooks running until stop.
type running struct {
	h    *hooks.Hooks
	stop func()
}

func start(t *testing.T, st *store.Store, cfg hooks.Config) *running {
	t.Helper()
	h, err := hooks.New(cfg, st, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	r := &running{h: h}
	r.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			r.stop()
		}
	})
	return r
}

// startFresh starts hooks on a log that has an event, and waits until they
// have taken it as their first position: the events a test appends after
// are theirs.
func startFresh(t *testing.T, st *store.Store, cfg hooks.Config) *running {
	t.Helper()
	mark := appendEvent(t, st, gateway.EventModemUpdated, "356938035643809", gateway.ModemEventData{IMEI: "356938035643809"})
	r := start(t, st, cfg)
	waitFor(t, "the first cursor", func() bool { seq, _ := st.EventCursor(t.Context(), hooks.Consumer); return seq >= mark.Seq })
	return r
}

func appendEvent(t *testing.T, st *store.Store, typ, subject string, data any) gateway.Event {
	t.Helper()
	ev, err := gateway.NewEvent(typ, subject, data, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AppendEvent(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	if ev.Seq, err = st.LastEventSeq(t.Context()); err != nil { // one writer here: this event's
		t.Fatal(err)
	}
	return ev
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestHooks_ProgramGetsEventAsJSONAndEnv(t *testing.T) {
	st := testkit.OpenStore(t)
	out := t.TempDir()
	prog := writeScript(t, "on-event", recorder)
	r := startFresh(t, st, hooks.Config{Programs: map[string][]string{
		hooks.Received: {prog, out}, hooks.Failed: {prog, out},
	}, Env: []string{"PATH=" + os.Getenv("PATH")}})

	in := gateway.InboundEventData{ID: "in_1", From: "+14155550101", Text: "héllo\nworld", Modem: "356938035643809", ReceivedAt: time.Now().UTC()}
	recv := appendEvent(t, st, gateway.EventSMSReceived, "in_1", in)
	queued := appendEvent(t, st, gateway.EventMessageQueued, "msg_1", gateway.MessageEventData{ID: "msg_1", To: "+14155550102"})
	failed := appendEvent(t, st, gateway.EventMessageFailed, "msg_1",
		gateway.MessageEventData{ID: "msg_1", To: "+14155550102", Status: gateway.StatusFailed, Segments: 2, Error: "+CMS ERROR: 21"})

	waitFor(t, "both hooks", func() bool {
		return exists(filepath.Join(out, recv.ID+".json")) && exists(filepath.Join(out, failed.ID+".json"))
	})
	var p hooks.Payload
	b, _ := os.ReadFile(filepath.Join(out, recv.ID+".json"))
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("stdin %q: %v", b, err)
	}
	var got gateway.InboundEventData
	if err := json.Unmarshal(p.Data, &got); err != nil {
		t.Fatal(err)
	}
	if p.Event != "received" || p.Type != "sms.received" || p.ID != recv.ID || p.Subject != "in_1" || got.Text != in.Text || got.From != in.From {
		t.Errorf("stdin = %+v data %+v", p, got)
	}
	env, _ := os.ReadFile(filepath.Join(out, failed.ID+".env"))
	for _, want := range []string{"SIMGATE_EVENT=failed", "SIMGATE_EVENT_TYPE=message.failed", "SIMGATE_EVENT_ID=" + failed.ID,
		"SIMGATE_EVENT_SUBJECT=msg_1", "SIMGATE_ID=msg_1", "SIMGATE_TO=+14155550102", "SIMGATE_STATUS=failed",
		"SIMGATE_SEGMENTS=2", "SIMGATE_ERROR=+CMS ERROR: 21"} {
		if !strings.Contains("\n"+string(env), "\n"+want+"\n") {
			t.Errorf("environment lacks %s:\n%s", want, env)
		}
	}
	if exists(filepath.Join(out, queued.ID+".json")) {
		t.Error("message.queued ran a hook; none is set for it")
	}
	waitFor(t, "the cursor past the last event", func() bool {
		seq, _ := st.EventCursor(t.Context(), hooks.Consumer)
		return seq >= failed.Seq && seq > 0
	})
	if c := r.h.Counts(); c.OK != 2 || c.Failed != 0 || c.TimedOut != 0 {
		t.Errorf("counts %+v, want 2 ok", c)
	}
}

// TestHooks_CursorSurvivesRestart: the first start begins at the present;
// events that happen while the hooks are stopped run at the next start,
// and those already run do not run again.
func TestHooks_CursorSurvivesRestart(t *testing.T) {
	st := testkit.OpenStore(t)
	out := t.TempDir()
	cfg := hooks.Config{Programs: map[string][]string{hooks.Sent: {writeScript(t, "on-sent", recorder), out}},
		Env: []string{"PATH=" + os.Getenv("PATH")}}
	sent := func(id string) gateway.Event {
		return appendEvent(t, st, gateway.EventMessageSent, id, gateway.MessageEventData{ID: id, Status: gateway.StatusSent})
	}
	before := sent("msg_before")
	r := start(t, st, cfg)
	waitFor(t, "the first cursor", func() bool { seq, _ := st.EventCursor(t.Context(), hooks.Consumer); return seq >= before.Seq })
	during := sent("msg_during")
	waitFor(t, "the hook of msg_during", func() bool { return exists(filepath.Join(out, during.ID+".json")) })
	waitFor(t, "the cursor past msg_during", func() bool {
		seq, _ := st.EventCursor(t.Context(), hooks.Consumer)
		return seq >= during.Seq
	})
	r.stop()
	if err := os.Remove(filepath.Join(out, during.ID+".json")); err != nil {
		t.Fatal(err)
	}
	stopped := sent("msg_while_stopped")
	r = start(t, st, cfg)
	waitFor(t, "the hook of the event while stopped", func() bool { return exists(filepath.Join(out, stopped.ID+".json")) })
	r.stop()
	if exists(filepath.Join(out, before.ID+".json")) {
		t.Error("an event from before the first start ran a hook")
	}
	if exists(filepath.Join(out, during.ID+".json")) {
		t.Error("an event already taken ran its hook again after a restart")
	}
}

// TestHooks_HangingProgramIsKilled: a program that does not end is killed
// at the timeout with its whole process group (a child it started too),
// counted, and the hooks go on with the next event. The timeout leaves the
// script time to start and write its PIDs on a loaded machine.
func TestHooks_HangingProgramIsKilled(t *testing.T) {
	st := testkit.OpenStore(t)
	out := t.TempDir()
	hang := writeScript(t, "hang", `#!/bin/sh
sleep 600 &
echo $! > "$1/child.pid"
echo $$ > "$1/hook.pid"
wait
`)
	fail := writeScript(t, "fail", "#!/bin/sh\necho broken >&2\nexit 3\n")
	r := startFresh(t, st, hooks.Config{Programs: map[string][]string{hooks.Received: {hang, out}, hooks.Sent: {fail}},
		Timeout: 5 * time.Second, Concurrency: 1, Env: []string{"PATH=" + os.Getenv("PATH")}})
	appendEvent(t, st, gateway.EventSMSReceived, "in_1", gateway.InboundEventData{ID: "in_1"})
	last := appendEvent(t, st, gateway.EventMessageSent, "msg_1", gateway.MessageEventData{ID: "msg_1"})

	waitFor(t, "the hanging hook counted as timed out and the failing one as failed", func() bool {
		c := r.h.Counts()
		return c.TimedOut == 1 && c.Failed == 1
	})
	for _, f := range []string{"hook.pid", "child.pid"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		waitFor(t, f+" gone", func() bool { return !alive(pid) })
	}
	waitFor(t, "the cursor past both", func() bool { seq, _ := st.EventCursor(t.Context(), hooks.Consumer); return seq >= last.Seq })
}

// alive: the process exists and is not a zombie waiting to be reaped.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func TestNew_RefusesUnknownEvent(t *testing.T) {
	st := testkit.OpenStore(t)
	if _, err := hooks.New(hooks.Config{Programs: map[string][]string{"recieved": {"/bin/true"}}}, st, nil); err == nil {
		t.Error("New accepted a misspelt event")
	}
	if _, err := hooks.New(hooks.Config{Programs: map[string][]string{"sent": {""}}}, st, nil); err == nil {
		t.Error("New accepted an empty program")
	}
}
