package modemsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/pdu"
)

// ErrUnknownNumber is returned by Deliver when no modem of the network owns
// the destination.
var ErrUnknownNumber = errors.New("number not on the virtual network")

// ErrClosed is returned when the network or modem has been closed.
var ErrClosed = errors.New("modemsim: closed")

// ErrUnplugged is returned when a transport is asked of an unplugged modem.
var ErrUnplugged = errors.New("modemsim: modem unplugged")

// Config describes one virtual modem and its SIM. Zero fields get generated
// defaults (see AddModem).
type Config struct {
	Number       string // the SIM's own number, E.164 ("+12025550101")
	IMEI         string
	IMSI         string
	ICCID        string
	Operator     string // long alphanumeric operator name
	Manufacturer string
	Model        string
	Revision     string
	// PIN, when set, locks the SIM at every power-on (+CPIN: SIM PIN) until
	// AT+CPIN="<PIN>". Three wrong PINs block it (+CPIN: SIM PUK).
	PIN string
	// PUK unblocks a blocked SIM with AT+CPIN="<PUK>","<new PIN>"; default "12345678".
	PUK string
	// Storage is the number of slots in each message memory (SM, ME, SR); default 30.
	Storage int
}

// Record is one SMS-SUBMIT the network accepted from a virtual modem.
type Record struct {
	From     string // sending modem's number
	FromIMEI string
	To       string // destination as submitted (E.164 when international)
	Text     string // decoded text of this part
	Data     []byte // user data of an 8-bit part
	// Ports is the part's application port addressing; nil without.
	Ports    *pdu.Ports
	Flash    bool   // message class 0
	UDH      []byte // the part's TP-UDH with its length octet; nil without
	PDU      string // the hex written after the prompt
	MR       int    // the <mr> answered in +CMGS
	Ref      int    // concatenation reference, 0 when single
	Part     int    // 1-based part number, 1 when single
	Total    int    // number of parts, 1 when single
	Encoding string
	SRR      bool
	Validity time.Duration
	At       time.Time
	// Local is true when the destination is a modem of this network, which
	// received the part as an SMS-DELIVER.
	Local bool
}

// ReportPolicy is how the network answers a TP-SRR request.
type ReportPolicy struct {
	// Status is the TP-ST of the SMS-STATUS-REPORT (TS 23.040 §9.2.3.15):
	// 0x00 delivered, 0x20–0x3F still trying, 0x40 and up failed.
	Status byte
	// Delay is the time between the +CMGS answer and the report.
	Delay time.Duration
	// Drop loses the report: none is ever sent.
	Drop bool
	// Duplicate sends the report twice, as an SMSC that retries its
	// delivery does.
	Duplicate bool
}

// Option configures a Network.
type Option func(*Network)

// WithLogger logs the virtual traffic (at debug level) to l.
func WithLogger(l *slog.Logger) Option { return func(n *Network) { n.log = l } }

// WithSMSC sets the service-centre number the modems report in +CSCA and
// that SMS-DELIVERs and status reports carry; default DefaultSMSC.
func WithSMSC(number string) Option { return func(n *Network) { n.smsc = number } }

// Network is a set of virtual modems that can text each other. All its
// methods are safe for concurrent use.
type Network struct {
	log    *slog.Logger
	smsc   string
	timers timers

	mu        sync.Mutex
	modems    []*Modem
	records   []Record
	changed   chan struct{} // closed and replaced whenever records grow
	failures  map[string]int
	reports   map[string]ReportPolicy
	routes    []route
	report    ReportPolicy
	concatRef int
	closed    bool
}

// NewNetwork returns an empty network.
func NewNetwork(opts ...Option) *Network {
	n := &Network{
		log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		smsc:     DefaultSMSC,
		changed:  make(chan struct{}),
		failures: make(map[string]int),
		reports:  make(map[string]ReportPolicy),
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

// AddModem adds a powered-on modem; zero Config fields get generated
// defaults: numbers +12025550101, +12025550102, … (the fictional 555-01XX range, which
// number validators accept), IMEIs and ICCIDs with a
// valid Luhn digit, IMSIs on the test PLMN 001/01, operator
// DefaultOperator. It panics when the number is already taken.
func (n *Network) AddModem(cfg Config) *Modem {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := len(n.modems) + 1
	if cfg.Number == "" {
		for n.lookupLocked(defaultNumber(i)) != nil {
			i++
		}
	}
	cfg = fillDefaults(cfg, i)
	if n.lookupLocked(cfg.Number) != nil {
		panic("modemsim: number " + cfg.Number + " already on the network")
	}
	m := newModem(n, cfg)
	n.modems = append(n.modems, m)
	return m
}

// Modems returns the network's modems in the order they were added.
func (n *Network) Modems() []*Modem {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*Modem(nil), n.modems...)
}

// Modem returns the modem owning number, or nil.
func (n *Network) Modem(number string) *Modem {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lookupLocked(number)
}

// Records returns every SMS-SUBMIT the network accepted so far, in order.
func (n *Network) Records() []Record {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Record(nil), n.records...)
}

// WaitRecords waits until the network has accepted at least count
// SMS-SUBMITs and returns them all, or returns ctx's error.
func (n *Network) WaitRecords(ctx context.Context, count int) ([]Record, error) {
	for {
		n.mu.Lock()
		if len(n.records) >= count {
			recs := append([]Record(nil), n.records...)
			n.mu.Unlock()
			return recs, nil
		}
		changed := n.changed
		have := len(n.records)
		n.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %d records (have %d): %w", count, have, ctx.Err())
		}
	}
}

// SetFailure makes the network refuse SUBMITs to number with
// +CMS ERROR: code (an RP-cause such as 1, 21 or 38, or a TP-FCS). Code 0
// removes the failure.
func (n *Network) SetFailure(number string, code int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if code == 0 {
		delete(n.failures, normalize(number))
		return
	}
	n.failures[normalize(number)] = code
}

// SetReport sets how status reports for parts sent to number are answered;
// number "" sets the default for every other destination.
func (n *Network) SetReport(number string, p ReportPolicy) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if number == "" {
		n.report = p
		return
	}
	n.reports[normalize(number)] = p
}

// route is a report policy for what one modem sends to numbers that
// start with a prefix: one operator's path to one destination network.
type route struct {
	imei, prefix string
	policy       ReportPolicy
}

// SetRoute sets the status reports of what the modem with imei sends to
// numbers starting with prefix ("+44", "" for all): a fast route, a slow
// one, one whose reports never come. The longest matching prefix wins; a
// policy set by SetReport for the exact number wins over any route. The
// same imei and prefix again replace the earlier policy.
func (n *Network) SetRoute(imei, prefix string, p ReportPolicy) {
	n.mu.Lock()
	defer n.mu.Unlock()
	prefix = normalize(prefix)
	for i, r := range n.routes {
		if r.imei == imei && r.prefix == prefix {
			n.routes[i].policy = p
			return
		}
	}
	n.routes = append(n.routes, route{imei: imei, prefix: prefix, policy: p})
}

// reportPolicyLocked is the report policy for what m sends to number.
func (n *Network) reportPolicyLocked(m *Modem, number string) ReportPolicy {
	key := normalize(number)
	if p, ok := n.reports[key]; ok {
		return p
	}
	best, found := -1, ReportPolicy{}
	for _, r := range n.routes {
		if r.imei == m.cfg.IMEI && strings.HasPrefix(key, r.prefix) && len(r.prefix) > best {
			best, found = len(r.prefix), r.policy
		}
	}
	if best >= 0 {
		return found
	}
	return n.report
}

// Deliver sends text from an outside number (international with "+",
// national digits, or an alphanumeric sender) to the modem owning to, as
// one SMS-DELIVER per segment.
func (n *Network) Deliver(from, to, text string) error {
	return n.deliver(to, func(o pdu.DeliverOptions) ([]string, error) {
		return pdu.EncodeDeliver(address(from), text, o)
	})
}

// DeliverData sends 8-bit data from an outside number to the modem owning
// to, with layout l (ports, flash, a UDH), as one SMS-DELIVER per segment.
func (n *Network) DeliverData(from, to string, data []byte, l pdu.Layout) error {
	return n.deliver(to, func(o pdu.DeliverOptions) ([]string, error) {
		o.Layout = l
		return pdu.EncodeDeliverData(address(from), data, o)
	})
}

// deliver hands the modem owning to the SMS-DELIVER PDUs encode makes with
// this network's SMSC, the time now and a fresh concatenation reference.
func (n *Network) deliver(to string, encode func(pdu.DeliverOptions) ([]string, error)) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrClosed
	}
	dest := n.lookupLocked(to)
	n.concatRef = n.concatRef%255 + 1
	ref := n.concatRef
	n.mu.Unlock()
	if dest == nil {
		return fmt.Errorf("deliver to %s: %w", to, ErrUnknownNumber)
	}
	pdus, err := encode(pdu.DeliverOptions{SMSC: address(n.smsc), SCTS: time.Now(), ConcatRef: ref})
	if err != nil {
		return fmt.Errorf("deliver to %s: %w", to, err)
	}
	for _, p := range pdus {
		dest.receive(inbound{pdu: p})
	}
	return nil
}

// Close stops every modem and pending report, and waits for their goroutines.
func (n *Network) Close() error {
	n.mu.Lock()
	n.closed = true
	modems := append([]*Modem(nil), n.modems...)
	n.mu.Unlock()
	n.timers.stop()
	for _, m := range modems {
		m.Close()
	}
	return nil
}

// accept records a SUBMIT from m that was answered with mr, forwards it to
// the destination modem, and schedules its status report. It returns a
// non-zero +CMS ERROR code when the network refuses it.
func (n *Network) accept(m *Modem, hexPDU string, tpdu []byte, msg *pdu.Message, mr int) int {
	to := msg.To.Number
	now := time.Now()
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return 500
	}
	if code := n.failures[normalize(to)]; code != 0 {
		n.mu.Unlock()
		return code
	}
	dest := n.lookupLocked(to)
	rec := Record{
		From: m.cfg.Number, FromIMEI: m.cfg.IMEI, To: to,
		Text: msg.Text, Data: msg.Data, PDU: hexPDU, MR: mr,
		Ports: msg.Ports, Flash: msg.Flash, UDH: msg.UDH,
		Part: 1, Total: 1, Encoding: string(msg.Encoding),
		SRR: msg.StatusReportRequest, Validity: msg.Validity, At: now,
		Local: dest != nil,
	}
	if c := msg.Concat; c != nil {
		rec.Ref, rec.Part, rec.Total = c.Ref, c.Part, c.Total
	}
	n.records = append(n.records, rec)
	close(n.changed)
	n.changed = make(chan struct{})
	policy := n.reportPolicyLocked(m, to)
	smsc := n.smsc
	n.mu.Unlock()
	n.log.Debug("sms accepted", "from", m.cfg.Number, "to", to, "mr", mr, "part", rec.Part, "total", rec.Total)

	if dest != nil {
		deliver, err := submitToDeliver(tpdu, address(m.cfg.Number), now)
		if err != nil {
			n.log.Debug("forward sms", "err", err)
		} else {
			dest.receive(inbound{pdu: hexUpper(append(encodeSMSC(smsc), deliver...))})
		}
	}
	if msg.StatusReportRequest && !policy.Drop {
		n.timers.after(policy.Delay, func() {
			sr, err := pdu.EncodeStatusReport(pdu.StatusReport{
				SMSC:          address(smsc),
				MR:            mr,
				Recipient:     msg.To,
				SCTS:          now,
				DischargeTime: time.Now(),
				Status:        policy.Status,
			})
			if err != nil {
				n.log.Debug("encode status report", "err", err)
				return
			}
			m.receive(inbound{pdu: sr, report: true})
			if policy.Duplicate {
				m.receive(inbound{pdu: sr, report: true})
			}
		})
	}
	return 0
}

func (n *Network) lookupLocked(number string) *Modem {
	key := normalize(number)
	for _, m := range n.modems {
		if normalize(m.cfg.Number) == key {
			return m
		}
	}
	return nil
}

// normalize keys numbers on their digits, so "+12025550102" submitted as
// international and "12025550102" as unknown type reach the same modem.
func normalize(number string) string {
	return strings.TrimPrefix(number, "+")
}
