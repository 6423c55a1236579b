package session_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/modemdev"
	"github.com/simgate/simgate/pdu"
	"github.com/simgate/simgate/session"
	"github.com/simgate/simgate/store"
)

// escTimeout is the driver's command timeout in these tests: long enough
// that a loaded machine never misses an answer the virtual modem gives at
// once, short enough that a hang is found within seconds.
const escTimeout = 2 * time.Second

// escRig is a supervised virtual modem on a real pty, opened through
// go.bug.st/serial as a USB modem is, with a phone on the same network
// (also on a pty, so that looking for the modem by IMEI has a wrong port
// to pass over).
type escRig struct {
	t     *testing.T
	net   *modemsim.Network
	sim   *modemsim.Modem
	phone *modemsim.Modem
	store *store.Store
	att   *supAttacher

	mu    sync.Mutex
	steps []session.Step
}

func newEscRig(t *testing.T, cfg modemsim.Config) *escRig {
	t.Helper()
	n := modemsim.NewNetwork()
	t.Cleanup(func() { n.Close() })
	r := &escRig{t: t, net: n, sim: n.AddModem(cfg), phone: n.AddModem(modemsim.Config{}), att: &supAttacher{}}
	for _, m := range []*modemsim.Modem{r.sim, r.phone} {
		if _, err := m.OpenPTY(t.Context()); err != nil {
			t.Fatalf("OpenPTY: %v", err)
		}
	}
	r.store = mustSupStore(t, t.TempDir())
	return r
}

// start runs a supervisor on the sim's pty until the test ends.
func (r *escRig) start() *session.Supervisor {
	cfg := session.Config{
		Ports:        []string{r.sim.Path()},
		PollInterval: 200 * time.Millisecond,
		BackoffMin:   20 * time.Millisecond,
		BackoffMax:   200 * time.Millisecond,
		ResetWait:    3 * time.Second,
		Locate:       r.locate,
		OnEscalation: func(imei string, st session.Step) {
			if imei != r.sim.IMEI() {
				r.t.Errorf("escalation of %s, want %s", imei, r.sim.IMEI())
			}
			r.mu.Lock()
			r.steps = append(r.steps, st)
			r.mu.Unlock()
		},
	}
	open := modemdev.Opener(modem.Config{CommandTimeout: escTimeout, ResyncTimeout: escTimeout / 2})
	sup := session.New(cfg, r.store, r.att, open, gateway.SystemClock{}, supLogger(r.t))
	ctx, cancel := context.WithCancel(r.t.Context())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	r.t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(supWait):
			r.t.Error("Supervisor.Run did not return after cancel")
		}
	})
	return sup
}

// locate is Config.Locate over the network's ptys: it probes each for its
// IMEI, as modem discovery does over USB ports.
func (r *escRig) locate(ctx context.Context, imei string, skip func(string) bool) (string, error) {
	for _, m := range []*modemsim.Modem{r.phone, r.sim} {
		path := m.Path()
		if path == "" || skip(path) {
			continue
		}
		f, err := modem.Probe(ctx, path, modem.Config{CommandTimeout: escTimeout, ResyncTimeout: escTimeout / 2})
		if err == nil && f.IMEI == imei {
			return path, nil
		}
	}
	return "", nil
}

func (r *escRig) taken() []session.Step {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.steps)
}

func (r *escRig) info() gateway.ModemInfo {
	ms, err := r.store.Modems(context.Background())
	if err != nil {
		r.t.Fatalf("Modems: %v", err)
	}
	for _, m := range ms {
		if m.IMEI == r.sim.IMEI() {
			return m
		}
	}
	return gateway.ModemInfo{}
}

func (r *escRig) waitOnline(what string) gateway.ModemInfo {
	r.t.Helper()
	var info gateway.ModemInfo
	escEventually(r.t, what, func() bool {
		info = r.info()
		return info.State == gateway.ModemOnline
	})
	return info
}

// waitInbound sends text from the phone to the modem and waits until the
// gateway committed it: proof that the modem is initialised again (PDU
// mode, new-message indications) after whatever brought it back.
func (r *escRig) waitInbound(text string) {
	r.t.Helper()
	if err := r.net.Deliver(r.phone.Number(), r.sim.Number(), text); err != nil {
		r.t.Fatalf("Deliver: %v", err)
	}
	supEventually(r.t, "the SMS "+text+" in the inbox", func() bool { return inboxHas(r.t, r.store, text) })
}

func inboxHas(t *testing.T, st *store.Store, text string) bool {
	msgs, err := st.Inbox(context.Background(), time.Time{}, 100)
	if err != nil {
		t.Fatalf("Inbox: %v", err)
	}
	for _, m := range msgs {
		if m.Text == text {
			return true
		}
	}
	return false
}

// escEventually polls cond for up to three minutes: a ladder waits out
// several command timeouts and resyncs before each step, slower still on a
// loaded machine.
func escEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *escRig) waitSteps(want ...session.Step) {
	r.t.Helper()
	escEventually(r.t, fmt.Sprintf("escalation steps %v", want), func() bool {
		return slices.Equal(r.taken(), want)
	})
}

// A modem whose command parser is stuck until AT+CFUN=1,1: resync gets no
// answer, the CFUN reset brings it back on the same port, and nothing
// further is tried.
func TestEscalation_HungUntilCFUNReset(t *testing.T) {
	t.Parallel()
	r := newEscRig(t, modemsim.Config{})
	r.start()
	r.waitOnline("the modem online")
	r.sim.SetHang(modemsim.HangUntilReset)

	r.waitSteps(session.StepResync, session.StepCFUNReset)
	info := r.waitOnline("the modem online after its reset")
	if info.LastEscalation != string(session.StepCFUNReset) || info.LastEscalationAt.IsZero() {
		t.Errorf("last escalation %q at %v, want cfun_reset with a time", info.LastEscalation, info.LastEscalationAt)
	}
	r.waitInbound("after the reset")
	if got := r.taken(); !slices.Equal(got, []session.Step{session.StepResync, session.StepCFUNReset}) {
		t.Errorf("steps %v, want resync and cfun_reset only", got)
	}
}

// A modem that answers nothing, not even AT+CFUN, until its port is opened
// again.
func TestEscalation_AnswersOnlyAfterReopen(t *testing.T) {
	t.Parallel()
	r := newEscRig(t, modemsim.Config{})
	r.start()
	r.waitOnline("the modem online")
	r.sim.SetHang(modemsim.HangUntilReopen)

	r.waitSteps(session.StepResync, session.StepCFUNReset, session.StepReopen)
	info := r.waitOnline("the modem online after the reopen")
	if info.LastEscalation != string(session.StepReopen) {
		t.Errorf("last escalation %q, want reopen", info.LastEscalation)
	}
	r.waitInbound("after the reopen")
	if got := r.taken(); len(got) != 3 {
		t.Errorf("steps %v, want no more than resync, cfun_reset and reopen", got)
	}
}

// A modem that drops off its port at the CFUN reset and comes back on
// another pty: the old port is reopened in vain, the USB reset is skipped
// (a pty is no USB device), and the modem is found by its IMEI, past the
// phone's port.
func TestEscalation_ComesBackOnAnotherPort(t *testing.T) {
	t.Parallel()
	r := newEscRig(t, modemsim.Config{})
	r.start()
	old := r.waitOnline("the modem online").Port
	r.sim.SetReenumerateOnReset(true)
	r.sim.SetHang(modemsim.HangUntilReset)

	r.waitSteps(session.StepResync, session.StepCFUNReset, session.StepReopen, session.StepUSBReset, session.StepLocate)
	var info gateway.ModemInfo
	escEventually(t, "the modem online on its new port", func() bool {
		info = r.info()
		return info.State == gateway.ModemOnline && info.Port != old
	})
	if info.Port != r.sim.Path() {
		t.Errorf("modem recorded on %s, its pty is %s (was %s)", info.Port, r.sim.Path(), old)
	}
	if info.LastEscalation != string(session.StepLocate) {
		t.Errorf("last escalation %q, want locate", info.LastEscalation)
	}
	r.waitInbound("on the new port")
}

// A modem that answers late, but within the command timeout, is not hung:
// many health reads go by without a single escalation step.
func TestEscalation_LateAnswersWithinTimeoutAreNotAHang(t *testing.T) {
	t.Parallel()
	r := newEscRig(t, modemsim.Config{})
	r.start()
	r.waitOnline("the modem online")
	r.sim.SetAnswerDelay("", escTimeout/8)
	seen := map[time.Time]bool{}
	escEventually(t, "five health reads of the slow modem", func() bool {
		seen[r.info().UpdatedAt] = true
		return len(seen) >= 5
	})
	if got := r.taken(); len(got) != 0 {
		t.Errorf("a slow modem was escalated: %v", got)
	}
	if info := r.info(); info.State != gateway.ModemOnline || info.LastEscalation != "" {
		t.Errorf("slow modem: state %s, last escalation %q", info.State, info.LastEscalation)
	}
}

// deliverPDU is an SMS-DELIVER from the phone, as a modem stores it.
func deliverPDU(t *testing.T, from, text string) string {
	t.Helper()
	pdus, err := pdu.EncodeDeliver(pdu.Address{Number: from}, text, pdu.DeliverOptions{})
	if err != nil {
		t.Fatalf("EncodeDeliver: %v", err)
	}
	return pdus[0]
}

func emptySlots(slots []string) bool {
	for _, s := range slots {
		if s != "" {
			return false
		}
	}
	return true
}

// A modem that says its storage is full (^SMMEMFULL) is drained: the
// messages stored while nobody read them are committed and deleted, and
// the one the network held back arrives.
func TestStorage_MemoryFullIsDrained(t *testing.T) {
	t.Parallel()
	r := newEscRig(t, modemsim.Config{Storage: 3})
	r.sim.SetMemoryFullURC(`^SMMEMFULL: "SM"`)
	r.start()
	r.waitOnline("the modem online")
	for i := range 3 { // stored without +CMTI, as after a lost indication
		if r.sim.Store("SM", deliverPDU(t, r.phone.Number(), fmt.Sprint("stored ", i))) == 0 {
			t.Fatal("Store: SM full")
		}
	}
	r.waitInbound("the one held back")
	for i := range 3 {
		if !inboxHas(t, r.store, fmt.Sprint("stored ", i)) {
			t.Errorf("stored %d not in the inbox", i)
		}
	}
	supEventually(t, "SM empty", func() bool { return emptySlots(r.sim.Stored("SM")) })
}

// A send answered +CMS ERROR: 322 (memory full) drains the storage too.
func TestStorage_CMS322IsDrained(t *testing.T) {
	t.Parallel()
	r := newEscRig(t, modemsim.Config{Storage: 3})
	r.start()
	r.waitOnline("the modem online")
	for i := range 2 {
		r.sim.Store("SM", deliverPDU(t, r.phone.Number(), fmt.Sprint("waiting ", i)))
	}
	r.sim.SetFailure("", 322)
	var dev gateway.Device
	supEventually(t, "the modem attached", func() bool {
		r.att.mu.Lock()
		defer r.att.mu.Unlock()
		dev = r.att.attached[r.sim.IMEI()]
		return dev != nil
	})
	sub, err := pdu.EncodeSubmit(r.phone.Number(), "hello", pdu.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dev.SendPDU(t.Context(), sub.Segments[0].TPDULength, sub.Segments[0].PDU); err == nil {
		t.Fatal("send succeeded, want +CMS ERROR: 322")
	}
	supEventually(t, "both waiting messages in the inbox", func() bool {
		return inboxHas(t, r.store, "waiting 0") && inboxHas(t, r.store, "waiting 1")
	})
	supEventually(t, "SM empty", func() bool { return emptySlots(r.sim.Stored("SM")) })
}

// Messages in ME are read as well as those in SM: at connect, and when a
// full SM makes the modem store a new one in ME (+CMTI: "ME",1).
func TestStorage_ReadsMEAsWellAsSM(t *testing.T) {
	t.Parallel()
	r := newEscRig(t, modemsim.Config{Storage: 2})
	r.sim.Store("ME", deliverPDU(t, r.phone.Number(), "kept in ME"))
	r.start()
	r.waitOnline("the modem online")
	supEventually(t, "the ME message in the inbox", func() bool { return inboxHas(t, r.store, "kept in ME") })

	for i := range 2 { // SM full behind the gateway's back
		r.sim.Store("SM", deliverPDU(t, r.phone.Number(), fmt.Sprint("in SM ", i)))
	}
	r.sim.SetStorageOverflow(true)
	r.waitInbound("overflowed to ME")
	supEventually(t, "ME empty", func() bool { return emptySlots(r.sim.Stored("ME")) })
}
