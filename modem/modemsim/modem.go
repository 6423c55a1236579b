package modemsim

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DefaultNoise is a set of unsolicited lines seen on real modems, for SetNoise.
var DefaultNoise = []string{"RING", "^RSSI:12", "", "+CIEV: 2,3"}

// DefaultAckTimeout is how long the modem waits for AT+CNMA after a +CMT or
// +CDS when AT+CSMS=1 (TS 27.005 §3.4.4) before it gives up on direct
// routing.
const DefaultAckTimeout = 30 * time.Second

// Registration status values of +CREG, +CGREG and +CEREG (TS 27.007 §7.2).
const (
	RegNotRegistered = 0
	RegHome          = 1
	RegSearching     = 2
	RegDenied        = 3
	RegUnknown       = 4
	RegRoaming       = 5
)

type pinState int

const (
	pinReady pinState = iota
	pinWanted
	pukWanted
)

// state is what a power cycle resets.
type state struct {
	echo       bool
	cmee       int
	cfun       int
	cmgf       int
	csms       int
	cnmi       [5]int
	mem        [3]string // AT+CPMS <mem1>,<mem2>,<mem3>
	regN       [3]int    // n of +CREG, +CGREG, +CEREG
	copsFormat int
	cscs       string
	csmp       [4]int
	ifc        [2]int // AT+IFC: flow control by the TE, by the TA
	pin        pinState
	pinTries   int
	ackWanted  bool
	ackSeq     int
	unacked    *inbound
}

func powerOnState(locked bool) state {
	s := state{
		echo: true,
		cfun: 1,
		mem:  [3]string{"SM", "SM", "SM"},
		cscs: "IRA",
		csmp: [4]int{17, 167, 0, 0},
		ifc:  [2]int{2, 2},
	}
	if locked {
		s.pin, s.pinTries = pinWanted, 3
	}
	return s
}

// slot is one stored message. stat follows AT+CMGL: 0 received unread,
// 1 received read, 2 stored unsent, 3 stored sent.
type slot struct {
	stat int
	pdu  string
}

// inbound is a PDU the network hands to a modem.
type inbound struct {
	pdu    string // hex with SMSC prefix
	report bool   // SMS-STATUS-REPORT rather than SMS-DELIVER
}

// knobs are the test controls; a power cycle keeps them.
type knobs struct {
	latency    time.Duration
	failures   map[string]int
	noPrompt   bool
	noise      []string
	rssi, ber  int
	reg        int
	ackTimeout time.Duration
	ussd       map[string]USSDReply
	ussdStyle  USSDStyle
	// Faults (faults.go).
	hang        HangMode
	reenumerate bool
	memFullURC  string
	overflow    bool
	delays      map[string]time.Duration // answer delay by command name ("+CSQ")
	delayOnce   map[string]time.Duration // likewise, for the next answer only
	late        map[string]bool          // answers held until the host writes again
	loseSend    bool                     // +CMGS answers are lost
	loseNext    int                      // so many more +CMGS answers are lost
	okPrompt    bool                     // a stray OK before the "> " prompt
	failNext    int                      // so many more sends answer failCode
	failCode    int
}

// Modem is one virtual modem. Its methods are safe for concurrent use,
// including the knobs while a host is talking to it.
type Modem struct {
	net    *Network
	cfg    Config
	log    *slog.Logger
	timers timers
	wg     sync.WaitGroup // serve goroutines started by Pipe, OpenPTY and Replug

	mu      sync.Mutex
	closed  bool
	unplug  bool
	st      state
	knobs   knobs
	smsc    string
	mr      int
	mems    map[string][]*slot
	pending []inbound // held by the network until the modem can take them
	urcs    [][]byte
	sess    *session
	onPTY   bool
	path    string
	ptyCtx  context.Context // of the last OpenPTY, for a re-enumeration
	boots   int             // power cycles, so a session drops a half-typed line
	memFull bool            // the memory-full line went out; cleared by a deletion
	// reenumPending: AT+CFUN=1,1 ran with SetReenumerateOnReset on.
	reenumPending bool
	deleted       func(Deletion)
	submitted     func(Submit)
}

func newModem(n *Network, cfg Config) *Modem {
	m := &Modem{
		net:  n,
		cfg:  cfg,
		log:  n.log.With("imei", cfg.IMEI),
		smsc: n.smsc,
		knobs: knobs{
			failures:   make(map[string]int),
			delays:     make(map[string]time.Duration),
			late:       make(map[string]bool),
			rssi:       20,
			ber:        99,
			reg:        RegHome,
			ackTimeout: DefaultAckTimeout,
			ussd: map[string]USSDReply{
				"*100#": {Text: "Your balance is 10.00 USD, valid until 31.12.2099."},
				"*101#": {Text: "Your number is " + cfg.Number + "."},
			},
		},
		mems: map[string][]*slot{
			"SM": make([]*slot, cfg.Storage),
			"ME": make([]*slot, cfg.Storage),
			"SR": make([]*slot, cfg.Storage),
		},
	}
	m.st = powerOnState(cfg.PIN != "")
	return m
}

// Config returns the modem's configuration with its generated defaults.
func (m *Modem) Config() Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg
}

// Number returns the SIM's own number.
func (m *Modem) Number() string { return m.cfg.Number }

// IMEI returns the modem's IMEI.
func (m *Modem) IMEI() string { return m.cfg.IMEI }

// Path returns the device path of the modem's current pseudo-terminal, ""
// when it is not on one or is unplugged.
func (m *Modem) Path() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.unplug {
		return ""
	}
	return m.path
}

// SetSendLatency delays every +CMGS answer by d, as a network round trip does.
func (m *Modem) SetSendLatency(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.latency = d
}

// SetFailure makes this modem answer a send to number with +CMS ERROR: code;
// number "" fails every destination, code 0 removes the failure.
func (m *Modem) SetFailure(number string, code int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if code == 0 {
		delete(m.knobs.failures, normalize(number))
		return
	}
	m.knobs.failures[normalize(number)] = code
}

// SetNoPrompt makes AT+CMGS never show its "> " prompt: the modem swallows
// everything until ESC, then answers OK, as a wedged modem does.
func (m *Modem) SetNoPrompt(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.noPrompt = on
}

// SetNoise injects the given unsolicited lines ("" is a blank line) between
// the information lines of every response and its final result, and between
// +CMGS: and OK. No lines turns noise off.
func (m *Modem) SetNoise(lines ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.noise = append([]string(nil), lines...)
}

// SetSignal sets what AT+CSQ answers (rssi 0–31 or 99, ber 0–7 or 99).
func (m *Modem) SetSignal(rssi, ber int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.rssi, m.knobs.ber = rssi, ber
}

// SetRegistration sets the registration status (RegHome, RegRoaming, …)
// and announces it with +CREG/+CGREG/+CEREG URCs where the host enabled
// them. Inbound messages wait in the network while the modem is not
// registered.
func (m *Modem) SetRegistration(stat int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	before := m.regStatLocked()
	m.knobs.reg = stat
	if m.regStatLocked() != before {
		m.announceRegLocked()
	}
	m.flushPendingLocked()
}

// SetAckTimeout sets how long a +CMT or +CDS waits for AT+CNMA when
// AT+CSMS=1; past it the modem turns direct routing off (mt and ds to 0),
// as TS 27.005 §3.4.4 describes, and stores the message instead.
func (m *Modem) SetAckTimeout(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.knobs.ackTimeout = d
}

// SetNextMR sets the <mr> the next +CMGS answers (mod 256), to test wrap-around.
func (m *Modem) SetNextMR(mr int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mr = (mr + 255) % 256
}

// Deletion is a stored message the host deleted with AT+CMGD.
type Deletion struct {
	Mem   string // "SM", "ME" or "SR"
	Index int    // 1-based slot
	PDU   string // as stored, hex with the SMSC prefix
}

// OnDelete sets fn to be called with every stored message the host
// deletes, before the modem answers the AT+CMGD: a witness of what has
// left the SIM. fn runs with the modem locked and must not call it.
func (m *Modem) OnDelete(fn func(Deletion)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleted = fn
}

// Submit is an SMS-SUBMIT the host typed after AT+CMGS, as the modem saw
// it before the network round trip (the send latency) began.
type Submit struct {
	CMGSAt time.Time // when the AT+CMGS=<length> line arrived
	PDUAt  time.Time // when the PDU's closing Ctrl-Z arrived
	To     string
	Text   string // this part's text
}

// OnSubmit sets fn to be called with every SMS-SUBMIT that decodes, as
// soon as its PDU is in, before the send latency: the modem-side clock of
// a benchmark. fn runs with the modem locked and must not call it.
func (m *Modem) OnSubmit(fn func(Submit)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.submitted = fn
}

// Stored returns the PDUs stored in memory mem ("SM", "ME" or "SR"), by
// 1-based index; empty slots are "".
func (m *Modem) Stored(mem string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, s := range m.mems[mem] {
		if s == nil {
			out = append(out, "")
			continue
		}
		out = append(out, s.pdu)
	}
	return out
}

// Reset power-cycles the modem without unplugging it: it comes back in its
// power-on state (echo on, new-message indications off, SIM locked again
// when it has a PIN) and announces itself with RDY … SMS Ready.
func (m *Modem) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.unplug {
		return
	}
	m.bootLocked()
}

// Unplug pulls the modem off its port: the current session ends, the host's
// reads fail (EOF on a pipe, EIO on a pty) and its writes fail. Messages
// sent to the modem wait in the network until Replug.
func (m *Modem) Unplug() {
	m.mu.Lock()
	m.unplug = true
	sess := m.sess
	m.urcs = nil
	m.mu.Unlock()
	if sess != nil {
		sess.stop()
	}
}

// Replug plugs the modem back in after Unplug. It boots in its power-on
// state and announces RDY … SMS Ready. A modem that was on a pty gets a new
// one, served until ctx ends, whose path (Path) may differ from the old one
// as after a USB re-enumeration; a modem on a pipe is reached with a new
// Pipe.
func (m *Modem) Replug(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if !m.unplug {
		m.mu.Unlock()
		return nil
	}
	m.unplug = false
	m.bootLocked()
	onPTY := m.onPTY
	m.mu.Unlock()
	if onPTY {
		if _, err := m.OpenPTY(ctx); err != nil {
			return fmt.Errorf("replug: %w", err)
		}
	}
	return nil
}

// Close stops the modem's sessions and timers and waits for its goroutines.
func (m *Modem) Close() error {
	m.mu.Lock()
	m.closed = true
	sess := m.sess
	m.mu.Unlock()
	if sess != nil {
		sess.stop()
	}
	m.timers.stop()
	m.wg.Wait()
	return nil
}

// bootLocked resets the AT state and queues the boot announcement of a
// SIM800/Quectel-like module.
func (m *Modem) bootLocked() {
	m.boots++
	m.knobs.hang = HangOff // a power cycle cures any hang
	m.st = powerOnState(m.cfg.PIN != "")
	m.urcs = nil
	m.queueLineLocked("RDY")
	m.queueLineLocked("+CFUN: 1")
	if m.st.pin != pinReady {
		m.queueLineLocked("+CPIN: SIM PIN")
		return
	}
	m.queueLineLocked("+CPIN: READY")
	m.queueLineLocked("Call Ready")
	m.queueLineLocked("SMS Ready")
	m.flushPendingLocked()
}

// regStatLocked is the registration the host sees: none while the radio is
// off or the SIM locked.
func (m *Modem) regStatLocked() int {
	if m.st.cfun != 1 || m.st.pin != pinReady {
		return RegNotRegistered
	}
	return m.knobs.reg
}

func (m *Modem) registeredLocked() bool {
	s := m.regStatLocked()
	return s == RegHome || s == RegRoaming
}

func (m *Modem) announceRegLocked() {
	for i, name := range []string{"+CREG", "+CGREG", "+CEREG"} {
		switch m.st.regN[i] {
		case 1:
			m.queueLineLocked(fmt.Sprintf("%s: %d", name, m.regStatLocked()))
		case 2:
			m.queueLineLocked(fmt.Sprintf("%s: %d,%s", name, m.regStatLocked(), cellInfo))
		}
	}
}

// cellInfo is the <lac>,<ci>,<AcT> of the one virtual cell.
const cellInfo = `"1A2B","01C2D3E4",7`

// queueLineLocked queues one unsolicited result line.
func (m *Modem) queueLineLocked(line string) {
	m.queueURCLocked([]byte("\r\n" + line + "\r\n"))
}

// maxQueuedURCs bounds what waits for a host that does not read.
const maxQueuedURCs = 256

func (m *Modem) queueURCLocked(b []byte) {
	if m.unplug || m.closed {
		return
	}
	if len(m.urcs) >= maxQueuedURCs {
		m.urcs = m.urcs[1:]
	}
	m.urcs = append(m.urcs, b)
	if m.sess != nil {
		m.sess.kick()
	}
}

// tpduLen is the <length> of +CMT, +CDS, +CMGR and +CMGL: the TPDU octets,
// without the SMSC prefix.
func tpduLen(hexPDU string) int {
	if len(hexPDU) < 2 {
		return 0
	}
	var n int
	fmt.Sscanf(hexPDU[:2], "%02X", &n)
	return len(hexPDU)/2 - 1 - n
}

func (m *Modem) bootCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.boots
}
