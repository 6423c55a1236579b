package session_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/dispatch"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/modemdev"
	"github.com/simgate/simgate/pdu"
	"github.com/simgate/simgate/session"
	"github.com/simgate/simgate/store"
)

// The helpers of this file are prefixed "sup" so that they cannot collide
// with the dispatcher's tests in the same package.

// supWait is the deadline of every wait on a condition.
const supWait = 20 * time.Second

// supEventually polls cond until it holds or supWait passes.
func supEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(supWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func supLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func mustSupStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), filepath.Join(dir, "simgate.db"), nil)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("store Close: %v", err)
		}
	})
	return s
}

// supClock is a wall clock that tests can move forward.
type supClock struct{ skew atomic.Int64 }

func (c *supClock) Now() time.Time          { return time.Now().Add(time.Duration(c.skew.Load())) }
func (c *supClock) Advance(d time.Duration) { c.skew.Add(int64(d)) }

// supAttacher records what the supervisor hands the dispatcher.
type supAttacher struct {
	mu       sync.Mutex
	attached map[string]gateway.Device
	attaches int
	detaches int
}

func (a *supAttacher) Attach(imei string, dev gateway.Device, _ gateway.ModemLimits) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.attached == nil {
		a.attached = map[string]gateway.Device{}
	}
	a.attached[imei] = dev
	a.attaches++
}

func (a *supAttacher) Detach(imei string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.attached, imei)
	a.detaches++
}

func (a *supAttacher) counts() (attached, attaches, detaches int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.attached), a.attaches, a.detaches
}

// supRig is a virtual network with the supervised modem (sim), a phone that
// sends to it, a real store and a supervisor reaching sim over pipes.
type supRig struct {
	t     *testing.T
	dir   string
	net   *modemsim.Network
	sim   *modemsim.Modem
	phone *modemsim.Modem
	store gateway.Store
	clock *supClock
	att   *supAttacher
	pin   atomic.Value // string: the PIN the driver is configured with
	mu    sync.Mutex
	last  *modemdev.Device // the latest device opened
	opens atomic.Int32
	sup   *session.Supervisor // the running supervisor, after start
	stop  func()
}

func newSupRig(t *testing.T, simCfg modemsim.Config) *supRig {
	t.Helper()
	n := modemsim.NewNetwork()
	t.Cleanup(func() { n.Close() })
	r := &supRig{
		t:     t,
		dir:   t.TempDir(),
		net:   n,
		sim:   n.AddModem(simCfg),
		phone: n.AddModem(modemsim.Config{}),
		clock: &supClock{},
		att:   &supAttacher{},
	}
	r.pin.Store("")
	r.store = mustSupStore(t, r.dir)
	return r
}

// open is a gateway.Opener on pipes: every call is a new serial session
// with sim, as a reopened tty is.
func (r *supRig) open(ctx context.Context, port string) (gateway.Device, error) {
	r.opens.Add(1)
	m := modem.New(r.sim.Pipe(ctx), modem.Config{PIN: r.pin.Load().(string), CommandTimeout: 5 * time.Second})
	d := modemdev.New(m)
	r.mu.Lock()
	r.last = d
	r.mu.Unlock()
	return d, nil
}

func (r *supRig) device() *modemdev.Device {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func (r *supRig) config() session.Config {
	return session.Config{
		Ports:      []string{"pipe0"},
		BackoffMin: 5 * time.Millisecond,
		BackoffMax: 50 * time.Millisecond,
		ErrorAfter: 3,
		// The tests change registration in quick succession.
		RegistrationRefresh: 20 * time.Millisecond,
	}
}

// start runs a supervisor until the test ends or stop is called.
func (r *supRig) start(cfg session.Config, att session.Attacher, st gateway.Store) {
	r.t.Helper()
	if att == nil {
		att = r.att
	}
	if st == nil {
		st = r.store
	}
	sup := session.New(cfg, st, att, r.open, r.clock, supLogger(r.t))
	r.sup = sup
	ctx, cancel := context.WithCancel(r.t.Context())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					r.t.Errorf("Supervisor.Run: %v", err)
				}
			case <-time.After(supWait):
				r.t.Errorf("Supervisor.Run did not return after cancel")
			}
		})
	}
	r.t.Cleanup(r.stop)
}

func (r *supRig) modemInfo() (gateway.ModemInfo, bool) {
	ms, err := r.store.Modems(context.Background())
	if err != nil {
		r.t.Errorf("Modems: %v", err)
		return gateway.ModemInfo{}, false
	}
	for _, m := range ms {
		if m.IMEI == r.sim.IMEI() {
			return m, true
		}
	}
	return gateway.ModemInfo{}, false
}

func (r *supRig) waitState(want gateway.ModemState) gateway.ModemInfo {
	r.t.Helper()
	var info gateway.ModemInfo
	supEventually(r.t, "modem state "+string(want), func() bool {
		var ok bool
		info, ok = r.modemInfo()
		return ok && info.State == want
	})
	return info
}

func (r *supRig) inbox() []*gateway.InboundMessage {
	in, err := r.store.Inbox(context.Background(), time.Time{}, 100)
	if err != nil {
		r.t.Errorf("Inbox: %v", err)
	}
	return in
}

func (r *supRig) waitInbox(n int) []*gateway.InboundMessage {
	r.t.Helper()
	var in []*gateway.InboundMessage
	supEventually(r.t, fmt.Sprintf("%d inbound messages", n), func() bool {
		in = r.inbox()
		return len(in) >= n
	})
	return in
}

// stored counts the messages in sim's storages.
func (r *supRig) stored() int {
	n := 0
	for _, mem := range []string{"SM", "ME", "SR"} {
		for _, p := range r.sim.Stored(mem) {
			if p != "" {
				n++
			}
		}
	}
	return n
}

func (r *supRig) deliver(from, text string) {
	r.t.Helper()
	if err := r.net.Deliver(from, r.sim.Number(), text); err != nil {
		r.t.Fatalf("Deliver: %v", err)
	}
}

// supLong is three GSM-7 parts with an extension character ("€", ESC+e)
// at the first boundary, where a sender that splits escapes would split it.
var supLong = strings.Repeat("a", 152) + "€" + strings.Repeat("b", 200)

func TestSupervisor_Online(t *testing.T) {
	r := newSupRig(t, modemsim.Config{})
	r.sim.SetSignal(21, 0)
	r.start(r.config(), nil, nil)

	info := r.waitState(gateway.ModemOnline)
	want := r.sim.Config()
	if info.Port != "pipe0" || info.Manufacturer != want.Manufacturer || info.Model != want.Model ||
		info.ICCID != want.ICCID || info.IMSI != want.IMSI {
		t.Errorf("modem = %+v, want port pipe0 and the identity of %+v", info, want)
	}
	if info.Operator != modemsim.DefaultOperator || info.Registration != "registered" ||
		!info.SignalKnown || info.CSQ != 21 || info.Bars == 0 {
		t.Errorf("modem health = operator %q, registration %q, csq %d, bars %d, known %v",
			info.Operator, info.Registration, info.CSQ, info.Bars, info.SignalKnown)
	}
	supEventually(t, "attach", func() bool { n, _, _ := r.att.counts(); return n == 1 })

	// +CREG URCs refresh the state without waiting for the poll.
	r.sim.SetRegistration(modemsim.RegSearching)
	if got := r.waitState(gateway.ModemNotRegistered); got.Registration != "searching" {
		t.Errorf("registration = %q, want searching", got.Registration)
	}
	// Without a network it sends nothing: other modems take its messages.
	supEventually(t, "detach while not registered", func() bool { n, _, _ := r.att.counts(); return n == 0 })
	r.sim.SetRegistration(modemsim.RegHome)
	r.waitState(gateway.ModemOnline)
	supEventually(t, "attach once registered", func() bool { n, _, _ := r.att.counts(); return n == 1 })

	r.stop()
	info, _ = r.modemInfo()
	if info.State != gateway.ModemOffline {
		t.Errorf("state after Run returned = %s, want offline", info.State)
	}
	if n, attaches, detaches := r.att.counts(); n != 0 || attaches != 2 || detaches < 2 {
		t.Errorf("after Run: %d attached, %d attaches, %d detaches; want 0, 2, at least 2", n, attaches, detaches)
	}
}

func TestSupervisor_Inbound(t *testing.T) {
	r := newSupRig(t, modemsim.Config{})
	r.start(r.config(), nil, nil)
	r.waitState(gateway.ModemOnline)

	r.deliver("+447700900123", "single part")
	r.deliver("+447700900124", supLong)
	in := r.waitInbox(2)
	byFrom := map[string]*gateway.InboundMessage{}
	for _, m := range in {
		byFrom[m.From] = m
	}
	if m := byFrom["+447700900123"]; m == nil || m.Text != "single part" || m.Parts != 1 || m.Modem != r.sim.IMEI() {
		t.Errorf("single = %+v, want the text from +447700900123 on %s", m, r.sim.IMEI())
	}
	if m := byFrom["+447700900124"]; m == nil || m.Text != supLong || m.Parts != 3 || m.Missing != 0 {
		t.Errorf("multipart = %+v, want the whole text in 3 parts", m)
	}
	for _, m := range in {
		if !strings.HasPrefix(m.ID, "in_") || len(m.ID) != len("in_")+26 {
			t.Errorf("inbound id %q, want in_ and 26 characters", m.ID)
		}
	}
	supEventually(t, "storage emptied", func() bool { return r.stored() == 0 })
}

// supFlakyStore is the real store with AddInboundPart failing on demand,
// the way a full disk would.
type supFlakyStore struct {
	gateway.Store
	fail  atomic.Bool
	tries atomic.Int32
}

func (s *supFlakyStore) AddInboundPart(ctx context.Context, p gateway.InboundPart) ([]gateway.InboundPart, error) {
	s.tries.Add(1)
	if s.fail.Load() {
		return nil, errors.New("disk full")
	}
	return s.Store.AddInboundPart(ctx, p)
}

// A message the store could not commit stays on the SIM, and the re-init
// after a reset picks it up.
func TestSupervisor_KeepUntilCommittedAndReset(t *testing.T) {
	r := newSupRig(t, modemsim.Config{})
	flaky := &supFlakyStore{Store: r.store}
	flaky.fail.Store(true)
	r.start(r.config(), nil, flaky)
	r.waitState(gateway.ModemOnline)

	r.deliver("+447700900123", "not yet")
	supEventually(t, "a commit attempt", func() bool { return flaky.tries.Load() > 0 })
	// The attempt is over once the supervisor answers again: a health read
	// after it is recorded only then.
	r.sim.SetSignal(5, 0)
	r.sim.SetRegistration(modemsim.RegRoaming)
	supEventually(t, "health after the failed commit", func() bool {
		info, _ := r.modemInfo()
		return info.CSQ == 5 && info.Roaming
	})
	if got := r.stored(); got != 1 {
		t.Fatalf("storage holds %d messages after a failed commit, want 1", got)
	}
	if in := r.inbox(); len(in) != 0 {
		t.Fatalf("inbox = %d messages, want none", len(in))
	}

	flaky.fail.Store(false)
	opens := r.opens.Load()
	r.sim.Reset()
	in := r.waitInbox(1)
	if in[0].Text != "not yet" {
		t.Errorf("text = %q, want %q", in[0].Text, "not yet")
	}
	supEventually(t, "storage emptied", func() bool { return r.stored() == 0 })
	// Re-init happened on the same port session: a reset modem announces
	// nothing (+CMTI off) until Init runs again, so this one arriving proves it.
	r.deliver("+447700900125", "after reset")
	r.waitInbox(2)
	if got := r.opens.Load(); got != opens {
		t.Errorf("port opened %d times more across a reset, want the same session", got-opens)
	}
}

func TestSupervisor_CatchUp(t *testing.T) {
	r := newSupRig(t, modemsim.Config{})
	// Nobody listens yet: the modem stores them silently.
	r.deliver("+447700900123", "while you were away")
	r.deliver("+447700900124", supLong)
	supEventually(t, "messages stored on the SIM", func() bool { return r.stored() == 4 })

	r.start(r.config(), nil, nil)
	in := r.waitInbox(2)
	texts := []string{in[0].Text, in[1].Text}
	slices.Sort(texts)
	if want := []string{supLong, "while you were away"}; !slices.Equal(texts, want) {
		t.Errorf("inbox texts = %q, want %q", texts, want)
	}
	supEventually(t, "storage emptied", func() bool { return r.stored() == 0 })
}

// supPhone drives the phone modem with the real driver, to send single
// parts of a concatenated message one at a time.
func supPhone(t *testing.T, r *supRig) *modem.Modem {
	t.Helper()
	m := modem.New(r.phone.Pipe(t.Context()), modem.Config{})
	t.Cleanup(func() { m.Close() })
	if err := m.Init(t.Context()); err != nil {
		t.Fatalf("phone Init: %v", err)
	}
	return m
}

func TestSupervisor_MultipartAcrossRestart(t *testing.T) {
	r := newSupRig(t, modemsim.Config{})
	phone := supPhone(t, r)
	sub, err := pdu.EncodeSubmit(r.sim.Number(), supLong, pdu.SubmitOptions{ConcatRef: 99})
	if err != nil || len(sub.Segments) != 3 {
		t.Fatalf("EncodeSubmit = %d segments, %v; want 3", len(sub.Segments), err)
	}
	send := func(i int) {
		t.Helper()
		s := sub.Segments[i]
		if _, err := phone.SendPDU(t.Context(), s.TPDULength, s.PDU); err != nil {
			t.Fatalf("send part %d: %v", i+1, err)
		}
	}

	r.start(r.config(), nil, nil)
	r.waitState(gateway.ModemOnline)
	send(0)
	send(2)
	// Each part is committed raw, then deleted from the SIM.
	supEventually(t, "parts 1 and 3 taken off the SIM", func() bool {
		return r.stored() == 0 && len(r.net.Records()) == 2
	})
	if in := r.inbox(); len(in) != 0 {
		t.Fatalf("inbox has %d messages with a part missing, want none", len(in))
	}
	r.stop()

	send(1) // arrives while simgate is down
	supEventually(t, "part 2 stored", func() bool { return r.stored() == 1 })
	r.start(r.config(), nil, nil)
	in := r.waitInbox(1)
	if in[0].Text != supLong || in[0].Parts != 3 || in[0].From != r.phone.Number() {
		t.Errorf("joined = %+v, want the whole text from %s", in[0], r.phone.Number())
	}
	supEventually(t, "storage emptied", func() bool { return r.stored() == 0 })
}

func TestSupervisor_StaleParts(t *testing.T) {
	r := newSupRig(t, modemsim.Config{})
	phone := supPhone(t, r)
	sub, err := pdu.EncodeSubmit(r.sim.Number(), supLong, pdu.SubmitOptions{ConcatRef: 5})
	if err != nil {
		t.Fatalf("EncodeSubmit: %v", err)
	}
	cfg := r.config()
	cfg.StaleAfter = time.Hour
	cfg.StaleEvery = 10 * time.Millisecond
	r.start(cfg, nil, nil)
	r.waitState(gateway.ModemOnline)
	for _, i := range []int{0, 1} {
		s := sub.Segments[i]
		if _, err := phone.SendPDU(t.Context(), s.TPDULength, s.PDU); err != nil {
			t.Fatalf("send part %d: %v", i+1, err)
		}
	}
	supEventually(t, "parts taken off the SIM", func() bool { return r.stored() == 0 && len(r.net.Records()) == 2 })
	if in := r.inbox(); len(in) != 0 {
		t.Fatalf("inbox = %d before the set is stale, want 0", len(in))
	}
	r.clock.Advance(2 * time.Hour)
	in := r.waitInbox(1)
	var want string
	for _, s := range sub.Segments[:2] {
		m, err := pdu.Decode(s.PDU)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		want += m.Text
	}
	if in[0].Missing != 1 || in[0].Parts != 3 || in[0].Text != want {
		t.Errorf("stale = %+v, want parts 3, missing 1 and the text of the first two parts", in[0])
	}
}

// supDevice is a hand-written Device for what the virtual modem cannot do:
// hold or route a PDU that does not decode, refuse for lack of a SIM.
type supDevice struct {
	imei    string
	initErr error
	list    []gateway.StoredSMS
	events  chan gateway.DeviceEvent
	done    chan struct{}

	mu      sync.Mutex
	deleted []int
	closed  bool
}

func newSupDevice(imei string) *supDevice {
	return &supDevice{imei: imei, events: make(chan gateway.DeviceEvent), done: make(chan struct{})}
}

func (d *supDevice) Init(context.Context) error { return d.initErr }
func (d *supDevice) Identity(context.Context) (gateway.DeviceIdentity, error) {
	return gateway.DeviceIdentity{IMEI: d.imei, Manufacturer: "fake"}, nil
}
func (d *supDevice) Health(context.Context) (gateway.DeviceHealth, error) {
	return gateway.DeviceHealth{Registration: "registered", Registered: true}, nil
}
func (d *supDevice) SendPDU(context.Context, int, string) (int, error) {
	return 0, errors.New("not for sending")
}
func (d *supDevice) ListMessages(context.Context) ([]gateway.StoredSMS, error) { return d.list, nil }
func (d *supDevice) ReadMessage(_ context.Context, mem string, index int) (gateway.StoredSMS, error) {
	for _, s := range d.list {
		if s.Mem == mem && s.Index == index {
			return s, nil
		}
	}
	return gateway.StoredSMS{}, errors.New("empty slot")
}
func (d *supDevice) USSD(context.Context, string) (gateway.USSDReply, error) {
	return gateway.USSDReply{}, errors.New("no ussd on this fake")
}

func (d *supDevice) DeleteMessage(_ context.Context, _ string, index int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.deleted = append(d.deleted, index)
	return nil
}
func (d *supDevice) Events() <-chan gateway.DeviceEvent { return d.events }
func (d *supDevice) Done() <-chan struct{}              { return d.done }
func (d *supDevice) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.closed = true
		close(d.done)
	}
	return nil
}

func (d *supDevice) deletedIndexes() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.deleted)
}

func startSupFake(t *testing.T, st gateway.Store, open gateway.Opener) {
	t.Helper()
	cfg := session.Config{Ports: []string{"fake0"}, BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond}
	sup := session.New(cfg, st, &supAttacher{}, open, gateway.SystemClock{}, supLogger(t))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { sup.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func supModem(t *testing.T, st gateway.Store, imei string) (gateway.ModemInfo, bool) {
	ms, err := st.Modems(context.Background())
	if err != nil {
		t.Errorf("Modems: %v", err)
	}
	for _, m := range ms {
		if m.IMEI == imei {
			return m, true
		}
	}
	return gateway.ModemInfo{}, false
}

func TestSupervisor_NoSIM(t *testing.T) {
	st := mustSupStore(t, t.TempDir())
	startSupFake(t, st, func(context.Context, string) (gateway.Device, error) {
		d := newSupDevice("356938035643809")
		d.initErr = fmt.Errorf("init: %w", gateway.ErrNoSIM)
		return d, nil
	})
	supEventually(t, "state no_sim", func() bool {
		info, ok := supModem(t, st, "356938035643809")
		return ok && info.State == gateway.ModemNoSIM && strings.Contains(info.LastError, "no sim")
	})
}

func TestSupervisor_PINRequired(t *testing.T) {
	r := newSupRig(t, modemsim.Config{PIN: "1234"})
	r.start(r.config(), nil, nil)
	info := r.waitState(gateway.ModemPINRequired)
	if !strings.Contains(info.LastError, "pin") {
		t.Errorf("last error = %q, want it to name the PIN", info.LastError)
	}
	if n, _, _ := r.att.counts(); n != 0 {
		t.Errorf("%d modems attached while the SIM is locked, want 0", n)
	}
	// The admin configures the PIN: the next retry gets in.
	r.pin.Store("1234")
	info = r.waitState(gateway.ModemOnline)
	if info.LastError != "" {
		t.Errorf("last error once online = %q, want none", info.LastError)
	}
}

func TestSupervisor_UnplugReplug(t *testing.T) {
	r := newSupRig(t, modemsim.Config{})
	r.start(r.config(), nil, nil)
	r.waitState(gateway.ModemOnline)

	r.sim.Unplug()
	info := r.waitState(gateway.ModemError) // offline first, error after ErrorAfter failed reopens
	if info.LastError == "" {
		t.Error("no last error for a modem that keeps failing")
	}
	if n, _, detaches := r.att.counts(); n != 0 || detaches == 0 {
		t.Errorf("after unplug: %d attached, %d detaches; want it detached", n, detaches)
	}

	if err := r.sim.Replug(t.Context()); err != nil {
		t.Fatalf("Replug: %v", err)
	}
	r.waitState(gateway.ModemOnline)
	// Attach follows the online record.
	supEventually(t, "attached again", func() bool { n, attaches, _ := r.att.counts(); return n == 1 && attaches == 2 })
	// And it works: an SMS sent while it was unplugged waited in the
	// network and arrives now.
	r.deliver("+447700900123", "welcome back")
	if in := r.waitInbox(1); in[0].Text != "welcome back" {
		t.Errorf("text = %q", in[0].Text)
	}
}

func TestSupervisor_Discover(t *testing.T) {
	r := newSupRig(t, modemsim.Config{})
	var scans atomic.Int32
	cfg := r.config()
	cfg.Ports = nil
	cfg.DiscoverInterval = 10 * time.Millisecond
	var skipped atomic.Bool
	cfg.Discover = func(_ context.Context, skip func(string) bool) ([]string, error) {
		if scans.Add(1) < 3 {
			return nil, nil // plugged in a little later
		}
		if skip("pipe0") {
			skipped.Store(true) // held by a session: a real discovery would not probe it
		}
		return []string{"pipe0"}, nil
	}
	r.start(cfg, nil, nil)
	info := r.waitState(gateway.ModemOnline)
	if info.Port != "pipe0" {
		t.Errorf("port = %q, want pipe0", info.Port)
	}
	// Rescans do not open the port a second time.
	n := scans.Load()
	supEventually(t, "more scans", func() bool { return scans.Load() > n+3 })
	if got := r.opens.Load(); got != 1 {
		t.Errorf("port opened %d times, want 1", got)
	}
	if !skipped.Load() {
		t.Error("rescans did not tell Discover to skip the port in use")
	}
}

// Status reports come back from the virtual network for messages the real
// dispatcher sent; they mark the parts delivered, through +CDSI (stored in
// SR) and then +CDS (routed directly).
func TestSupervisor_StatusReports(t *testing.T) {
	r := newSupRig(t, modemsim.Config{})
	d := dispatch.New(dispatch.Config{}, r.store, r.clock, supLogger(t))
	ctx, cancel := context.WithCancel(t.Context())
	dDone := make(chan struct{})
	go func() { d.Run(ctx); close(dDone) }()
	t.Cleanup(func() { cancel(); <-dDone }) // after the supervisor stopped
	r.start(r.config(), d, nil)
	r.waitState(gateway.ModemOnline)

	send := func(text string) string {
		t.Helper()
		est := pdu.Preview(text)
		m := &gateway.Message{
			ID:           gateway.NewID("msg_", r.clock.Now()),
			To:           r.phone.Number(),
			Text:         text,
			Encoding:     string(est.Encoding),
			Segments:     est.Segments,
			Priority:     gateway.PriorityNormal,
			StatusReport: true,
			Status:       gateway.StatusQueued,
			ConcatRef:    42,
			CreatedAt:    r.clock.Now(),
		}
		for i := range est.Segments {
			m.Parts = append(m.Parts, gateway.Part{Index: i + 1, Status: gateway.StatusQueued, ReportCode: -1})
		}
		if _, _, err := r.store.CreateMessage(t.Context(), m, gateway.IdempotencyKey{}); err != nil {
			t.Fatalf("CreateMessage: %v", err)
		}
		d.Wake()
		return m.ID
	}
	waitDelivered := func(id string, parts int) {
		t.Helper()
		var m *gateway.Message
		supEventually(t, "message "+id+" delivered", func() bool {
			var err error
			m, err = r.store.Message(context.Background(), id)
			return err == nil && m.Status == gateway.StatusDelivered
		})
		if len(m.Parts) != parts {
			t.Fatalf("message has %d parts, want %d", len(m.Parts), parts)
		}
		for _, p := range m.Parts {
			if p.Status != gateway.StatusDelivered || p.DeliveredAt.IsZero() || p.ReportCode != 0 {
				t.Errorf("part %d = %s, delivered at %v, code %d; want delivered with code 0", p.Index, p.Status, p.DeliveredAt, p.ReportCode)
			}
		}
	}

	id := send(supLong)
	waitDelivered(id, 3)
	supEventually(t, "SR emptied", func() bool { return r.stored() == 0 })

	// +CDS: switch the modem's status reports to direct routing.
	if _, err := r.device().Modem().Command(t.Context(), "AT+CNMI=2,1,0,1,0"); err != nil {
		t.Fatalf("CNMI: %v", err)
	}
	id = send("second")
	waitDelivered(id, 1)

	// A failed report fails the message.
	r.net.SetReport(r.phone.Number(), modemsim.ReportPolicy{Status: 0x41})
	id = send("third")
	supEventually(t, "message failed by its report", func() bool {
		m, err := r.store.Message(context.Background(), id)
		return err == nil && m.Status == gateway.StatusFailed
	})
}

func TestSupervisor_PTY(t *testing.T) {
	n := modemsim.NewNetwork()
	t.Cleanup(func() { n.Close() })
	sim := n.AddModem(modemsim.Config{})
	path, err := sim.OpenPTY(t.Context())
	if err != nil {
		t.Skipf("no pty here: %v", err)
	}
	st := mustSupStore(t, t.TempDir())
	cfg := session.Config{Ports: []string{path}, BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond}
	sup := session.New(cfg, st, &supAttacher{}, modemdev.Opener(modem.Config{}), gateway.SystemClock{}, supLogger(t))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { sup.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	supEventually(t, "modem online on the pty", func() bool {
		info, ok := supModem(t, st, sim.IMEI())
		return ok && info.State == gateway.ModemOnline && info.Port == path
	})
	if err := n.Deliver("+447700900123", sim.Number(), supLong); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	supEventually(t, "inbound over the pty", func() bool {
		in, err := st.Inbox(context.Background(), time.Time{}, 10)
		return err == nil && len(in) == 1 && in[0].Text == supLong
	})
}

// A report that overtakes the commit of its part's MR (a fast SC, +CDS
// racing the dispatcher's PartSent) is tried again until it matches.
func TestSupervisor_ReportBeforePartSent(t *testing.T) {
	st := &supCountingStore{Store: mustSupStore(t, t.TempDir())}
	dev := newSupDevice("356938035643809")
	var opened atomic.Int32
	startSupFake(t, st, func(context.Context, string) (gateway.Device, error) {
		if opened.Add(1) > 1 {
			return nil, errors.New("one session is enough")
		}
		return dev, nil
	})
	supEventually(t, "online", func() bool {
		info, ok := supModem(t, st, dev.imei)
		return ok && info.State == gateway.ModemOnline
	})

	now := time.Now()
	const to = "+447700900123"
	report, err := pdu.EncodeStatusReport(pdu.StatusReport{
		MR:        77,
		Recipient: pdu.Address{Number: to, TOA: pdu.TOAInternational},
		SCTS:      now,
		Status:    0x00,
	})
	if err != nil {
		t.Fatalf("EncodeStatusReport: %v", err)
	}
	select {
	case dev.events <- gateway.DeviceEvent{Kind: gateway.EventReport, PDU: report}:
	case <-time.After(supWait):
		t.Fatal("supervisor does not read events")
	}

	supEventually(t, "a first try of the report", func() bool { return st.reports.Load() > 0 })
	// Only now does the part get its MR.
	m := &gateway.Message{
		ID: gateway.NewID("msg_", now), To: to, Text: "hi", Encoding: "gsm7", Segments: 1,
		StatusReport: true, Status: gateway.StatusQueued, CreatedAt: now,
		Parts: []gateway.Part{{Index: 1, Status: gateway.StatusQueued, ReportCode: -1}},
	}
	ctx := t.Context()
	if _, _, err := st.CreateMessage(ctx, m, gateway.IdempotencyKey{}); err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	if c, err := st.ClaimNext(ctx, gateway.Claim{Modem: dev.imei, Now: now, Lease: time.Minute}); err != nil || c == nil {
		t.Fatalf("ClaimNext = %v, %v", c, err)
	}
	if err := st.PartSent(ctx, m.ID, 1, dev.imei, 77, now); err != nil {
		t.Fatalf("PartSent: %v", err)
	}
	if err := st.Sent(ctx, m.ID, now); err != nil {
		t.Fatalf("Sent: %v", err)
	}
	supEventually(t, "the held report applied", func() bool {
		got, err := st.Message(context.Background(), m.ID)
		return err == nil && got.Status == gateway.StatusDelivered
	})
}

// supCountingStore is the real store, counting ApplyReport calls.
type supCountingStore struct {
	gateway.Store
	reports atomic.Int32
}

func (s *supCountingStore) ApplyReport(ctx context.Context, r gateway.Report) (*gateway.Message, error) {
	defer s.reports.Add(1)
	return s.Store.ApplyReport(ctx, r)
}

// At start, a modem the store still holds as online from a previous
// process is marked offline until a session here brings it up: its port
// may never open again, and routing must not take it for up meanwhile.
func TestSupervisor_StartForgetsStaleStates(t *testing.T) {
	st := mustSupStore(t, t.TempDir())
	const imei = "356938035643809"
	if err := st.UpsertModem(t.Context(), gateway.ModemInfo{IMEI: imei, Port: "fake0", State: gateway.ModemOnline}); err != nil {
		t.Fatal(err)
	}
	startSupFake(t, st, func(context.Context, string) (gateway.Device, error) {
		return nil, errors.New("the port does not open")
	})
	supEventually(t, "the stale online state forgotten", func() bool {
		m, ok := supModem(t, st, imei)
		return ok && m.State == gateway.ModemOffline
	})
}
