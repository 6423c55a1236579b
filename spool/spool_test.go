package spool

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/store"
)

const imei = "356938035643809"

// rig is a spool on a real store and the real Service, without modems:
// the tests play the dispatcher's part through the store.
type rig struct {
	st    *store.Store
	clock *testkit.Clock
	svc   *gateway.Service
	cfg   Config
	s     *Spool
}

func newRig(t *testing.T) *rig {
	t.Helper()
	root := t.TempDir()
	r := &rig{st: testkit.OpenStore(t), clock: testkit.NewClock(time.Now())}
	r.svc = gateway.NewService(gateway.ServiceConfig{DefaultRegion: "US"}, r.st, nil, r.clock, nil)
	r.cfg = Config{Settle: time.Minute}
	for _, d := range []struct {
		dst  *string
		name string
	}{{&r.cfg.Outgoing, "outgoing"}, {&r.cfg.Checked, "checked"}, {&r.cfg.Sent, "sent"}, {&r.cfg.Failed, "failed"}, {&r.cfg.Incoming, "incoming"}} {
		*d.dst = filepath.Join(root, d.name)
		if err := os.Mkdir(*d.dst, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r.s = r.newSpool(t)
	return r
}

// newSpool is a spool as at a (re)start: cursor taken, checked looked through.
func (r *rig) newSpool(t *testing.T) *Spool {
	t.Helper()
	s, err := New(r.cfg, r.svc, r.st, r.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.startCursor(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.recoverChecked(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func (r *rig) drop(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(r.cfg.Outgoing, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// settled moves the clock past the settle time of every file written so far.
func (r *rig) settled() { r.clock.Add(2 * time.Minute) }

func (r *rig) messages(t *testing.T) []*gateway.Message {
	t.Helper()
	msgs, _, err := r.st.Messages(t.Context(), gateway.MessageFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const sms = "To: 12025550101\n\nhello\n"

// TestIntake_LeavesFilesBeingWritten: smstools' conventions — a hidden
// name, a NAME.LOCK beside it, a file changed within the settle time —
// keep a file in outgoing, unqueued.
func TestIntake_LeavesFilesBeingWritten(t *testing.T) {
	r := newRig(t)
	r.drop(t, "locked", sms)
	r.drop(t, "locked.LOCK", "")
	r.drop(t, ".hidden", sms)
	r.drop(t, "fresh", sms)
	r.s.intake(t.Context())
	if n := len(r.messages(t)); n != 0 {
		t.Fatalf("%d messages queued from files being written", n)
	}
	if got := names(t, r.cfg.Outgoing); len(got) != 4 {
		t.Fatalf("outgoing holds %v, want the four files", got)
	}
	r.settled()
	r.s.intake(t.Context())
	if got := strings.Join(names(t, r.cfg.Outgoing), " "); got != ".hidden locked locked.LOCK" {
		t.Errorf("outgoing holds %q once settled, want the hidden and the locked files", got)
	}
	if n := len(r.messages(t)); n != 1 {
		t.Errorf("%d messages queued, want 1 (fresh)", n)
	}
	if err := os.Remove(filepath.Join(r.cfg.Outgoing, "locked.LOCK")); err != nil {
		t.Fatal(err)
	}
	r.s.intake(t.Context())
	if n := len(r.messages(t)); n != 2 {
		t.Errorf("%d messages queued once unlocked, want 2", n)
	}
}

// TestIntake_CrashBetweenQueueAndMove: the file is queued but not moved
// (checked cannot be written, as if the gateway died in between); the next
// scan finds the message queued before and queues nothing more.
func TestIntake_CrashBetweenQueueAndMove(t *testing.T) {
	r := newRig(t)
	checked := r.cfg.Checked
	r.cfg.Checked = filepath.Join(t.TempDir(), "missing")
	r.s = r.newSpoolNoRecover(t)
	r.drop(t, "once", sms)
	r.settled()
	r.s.intake(t.Context())
	msgs := r.messages(t)
	if len(msgs) != 1 || len(names(t, r.cfg.Outgoing)) != 1 {
		t.Fatalf("after the failed move: %d messages, outgoing %v; want 1 and the file still there", len(msgs), names(t, r.cfg.Outgoing))
	}
	r.cfg.Checked = checked
	r.s = r.newSpool(t)
	r.s.intake(t.Context())
	if got := r.messages(t); len(got) != 1 {
		t.Fatalf("%d messages after the scan that follows the crash, want still 1", len(got))
	}
	if got := names(t, r.cfg.Checked); len(got) != 1 || got[0] != msgs[0].ID+".once" {
		t.Errorf("checked holds %v, want %s.once", got, msgs[0].ID)
	}
	// The same name written again later is another message.
	r.drop(t, "once", "To: 12025550101\n\nhello again\n")
	r.settled()
	r.s.intake(t.Context())
	if got := r.messages(t); len(got) != 2 {
		t.Errorf("%d messages after a new file under the same name, want 2", len(got))
	}
}

func (r *rig) newSpoolNoRecover(t *testing.T) *Spool {
	t.Helper()
	s, err := New(r.cfg, r.svc, r.st, r.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.startCursor(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// sendAs plays the dispatcher: the message is claimed and sent with mr.
func (r *rig) sendAs(t *testing.T, id string, mr int) {
	t.Helper()
	m, err := r.st.ClaimNext(t.Context(), gateway.Claim{Modem: imei, Now: r.clock.Now(), Lease: time.Minute})
	if err != nil || m == nil || m.ID != id {
		t.Fatalf("claim: %v %v, want %s", m, err, id)
	}
	if err := r.st.LastPartSent(t.Context(), id, 1, imei, mr, r.clock.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestOutcomes: a sent message's file goes to sent with Modem:, Sent:,
// Message_id: added to its headers; a failed one's to failed with Failed:
// and Error:; a file that is no SMS file, or one the gateway refuses, to
// failed at once; a file whose message ended while the spool was down is
// moved at the next start.
func TestOutcomes(t *testing.T) {
	r := newRig(t)
	r.drop(t, "ok", "To: 1 202 555 0101\nX-Mine: kept\n\nhello\n")
	r.settled()
	r.s.intake(t.Context())
	r.drop(t, "bad", "hello without headers")
	r.drop(t, "nowhere", "To: 999\n\nhi\n")
	r.drop(t, "empty data", "To: 12025550101\nAlphabet: binary\n\n\x00")
	r.settled()
	r.s.intake(t.Context())
	r.drop(t, "later", "To: 12025550102\n\nbye\n")
	r.settled()
	r.s.intake(t.Context())
	ids := map[string]string{}
	for _, m := range r.messages(t) {
		ids[m.To] = m.ID
	}
	r.sendAs(t, ids["+12025550101"], 42)
	if err := r.s.follow(t.Context()); err != nil {
		t.Fatal(err)
	}
	sent := read(t, filepath.Join(r.cfg.Sent, "ok"))
	want := "To: 1 202 555 0101\nX-Mine: kept\nModem: " + imei + "\nSent: " + stamp(r.clock.Now()) + "\nMessage_id: 42\nSimgate_id: " +
		ids["+12025550101"] + "\n\nhello\n"
	if sent != want {
		t.Errorf("sent/ok =\n%q\nwant\n%q", sent, want)
	}
	for name, reason := range map[string]string{"bad": "Error: no empty line", "nowhere": "Error: to: number",
		"empty data": "Error: data: is empty"} {
		if f := read(t, filepath.Join(r.cfg.Failed, name)); !strings.Contains(f, reason) || !strings.Contains(f, "Failed: ") {
			t.Errorf("failed/%s lacks %q:\n%s", name, reason, f)
		}
	}
	// The spool is down while "later" fails; the next start moves it.
	if err := r.st.Fail(t.Context(), ids["+12025550102"], "+CMS ERROR: 21", r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	r.newSpool(t)
	if f := read(t, filepath.Join(r.cfg.Failed, "later")); !strings.Contains(f, "\nError: +CMS ERROR: 21\n") || !strings.HasSuffix(f, "\n\nbye\n") {
		t.Errorf("failed/later =\n%s", f)
	}
	if left := names(t, r.cfg.Checked); len(left) != 0 {
		t.Errorf("checked still holds %v", left)
	}
	if left := names(t, r.cfg.Outgoing); len(left) != 0 {
		t.Errorf("outgoing still holds %v", left)
	}
}

// TestIncoming: a received SMS is written to incoming, once even when its
// event is taken again.
func TestIncoming(t *testing.T) {
	r := newRig(t)
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.Local)
	in := &gateway.InboundMessage{ID: gateway.NewID("in_", at), Modem: imei, From: "+14155550123", Text: "Grüße", Parts: 1,
		SCTS: at.Add(-time.Second), ReceivedAt: at}
	if err := r.st.SaveInbound(t.Context(), in, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.s.follow(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := read(t, filepath.Join(r.cfg.Incoming, imei+"."+in.ID))
	want := "From: 14155550123\nFrom_TOA: 91 international, ISDN/telephone\nSent: 26-03-04 05:06:06\nReceived: 26-03-04 05:06:07\n" +
		"Subject: " + imei + "\nModem: " + imei + "\nAlphabet: UTF-8\nLength: 5\nSimgate_id: " + in.ID + "\n\nGrüße"
	if got != want {
		t.Errorf("incoming file =\n%q\nwant\n%q", got, want)
	}
	r.s.cursor = 0 // taken again, as after a crash before the cursor moved
	if err := r.s.follow(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(names(t, r.cfg.Incoming)); n != 1 {
		t.Errorf("incoming holds %d files after the event was taken twice, want 1", n)
	}

	data := &gateway.InboundMessage{ID: gateway.NewID("in_", at.Add(time.Second)), Modem: imei, From: "+14155550123",
		Data: []byte{0xca, 0xfe, '\n'}, Ports: &gateway.Ports{Dest: 2948, Source: 9200}, Flash: true, Parts: 1, ReceivedAt: at}
	if err := r.st.SaveInbound(t.Context(), data, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.s.follow(t.Context()); err != nil {
		t.Fatal(err)
	}
	got = read(t, filepath.Join(r.cfg.Incoming, imei+"."+data.ID))
	if !strings.Contains(got, "\nAlphabet: binary\nFlash: yes\nPort: 2948\nSource_port: 9200\nLength: 3\n") ||
		!strings.HasSuffix(got, "\n\n\xca\xfe\n") {
		t.Errorf("incoming data SMS =\n%q", got)
	}
}

// TestIntake_DataFiles: a flash file and a binary file are queued as a
// flash message and a data message.
func TestIntake_DataFiles(t *testing.T) {
	r := newRig(t)
	r.drop(t, "flash", "To: 12025550101\nFlash: yes\n\nhi\n")
	r.drop(t, "binary", "To: 12025550102\nAlphabet: binary\n\n\x06\x05\x04\x23\xf4\x00\x00\x01\x02")
	r.settled()
	r.s.intake(t.Context())
	got := map[string]*gateway.Message{}
	for _, m := range r.messages(t) {
		got[m.To] = m
	}
	if m := got["+12025550101"]; m == nil || !m.Flash || m.Text != "hi" || m.Data != nil {
		t.Errorf("flash file queued as %+v, want a flash text message", m)
	}
	if m := got["+12025550102"]; m == nil || string(m.Data) != "\x01\x02" || string(m.UDH) != "\x06\x05\x04\x23\xf4\x00\x00" {
		t.Errorf("binary file queued as %+v, want data 0102 behind its UDH", m)
	}
	if left := names(t, r.cfg.Failed); len(left) != 0 {
		t.Errorf("failed holds %v", left)
	}
}
