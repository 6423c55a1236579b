package modem

import (
	"strconv"
	"strings"

	"github.com/simgate/simgate/modem/at"
)

// EventKind says what an unsolicited result code reported.
type EventKind string

// Event kinds.
const (
	// EventNewMessage: +CMTI, an SMS was stored at Mem/Index.
	EventNewMessage EventKind = "new_message"
	// EventDeliver: +CMT, an SMS-DELIVER routed directly; PDU holds it. It has
	// been acknowledged with +CNMA when the modem expects that.
	EventDeliver EventKind = "deliver"
	// EventStatusReport: +CDS, an SMS-STATUS-REPORT routed directly; PDU holds it.
	EventStatusReport EventKind = "status_report"
	// EventStatusReportStored: +CDSI, a status report was stored at Mem/Index;
	// fetch it with ReadStatusReport, commit it, then DeleteStatusReport.
	EventStatusReportStored EventKind = "status_report_stored"
	// EventRegistration: +CREG, +CGREG or +CEREG; Registration holds the
	// domain it reports (CS or PS).
	EventRegistration EventKind = "registration"
	// EventReset: the module rebooted (RDY, SMS Ready, +QIND: SMS DONE…);
	// echo, PDU mode and indications are back to defaults: run Init again.
	EventReset EventKind = "reset"
	// EventMemoryFull: the message storage is full (^SMMEMFULL, +CIEV
	// "SMSFULL", +QIND "smsfull"); Mem names it when the modem did. The
	// network holds back every SMS until slots are freed: read, commit and
	// delete what is stored.
	EventMemoryFull EventKind = "memory_full"
	// EventLateSendAnswer: the "+CMGS: <mr>" of the last send, which ended
	// with ErrSendUnknown, came after all (late.go): MR is its TP-MR.
	EventLateSendAnswer EventKind = "late_send_answer"
	// EventUnsolicited: anything else (RING, ^RSSI:, unknown +XXX: lines).
	EventUnsolicited EventKind = "unsolicited"
)

// Event is one unsolicited result code, in the order the modem sent it.
type Event struct {
	Kind EventKind
	// Mem and Index locate a stored message (+CMTI, +CDSI).
	Mem   string
	Index int
	// PDU is the hex of +CMT/+CDS, SMSC prefix included.
	PDU string
	// Length is the <length> the modem announced for PDU (TPDU octets), -1
	// when it did not give one.
	Length int
	// MR is set for EventLateSendAnswer.
	MR int
	// Registration is set for EventRegistration.
	Registration *Registration
	// Line is the unsolicited line as received (the header for +CMT/+CDS).
	Line string
}

// indications are the unsolicited result codes the Modem registers with
// the engine: SMS (TS 27.005 §3.4.1), registration (TS 27.007 §7.2), USSD
// (§7.15), calls it ignores, and the boot messages of every vendor.
func (m *Modem) indications() []at.Indication {
	inds := []at.Indication{
		{Prefix: "+CMTI:", Handle: m.onStored(EventNewMessage)},
		{Prefix: "+CMT:", Trailing: 1, Accept: m.acceptPDU, Handle: m.onPDU(EventDeliver)},
		{Prefix: "+CDSI:", Handle: m.onStored(EventStatusReportStored)},
		{Prefix: "+CDS:", Trailing: 1, Accept: m.acceptPDU, Handle: m.onPDU(EventStatusReport)},
		{Prefix: "+CBM:", Trailing: 1, Accept: m.acceptPDU, Handle: m.onPDU(EventUnsolicited)},
		{Prefix: "+CREG:", Handle: m.onRegistration},
		{Prefix: "+CGREG:", Handle: m.onRegistration},
		{Prefix: "+CEREG:", Handle: m.onRegistration},
		{Prefix: "+CUSD:", Handle: m.onUSSD},
		{Prefix: "^SMMEMFULL:", Handle: m.onMemoryFull},
		{Prefix: "+CIEV:", Handle: m.onMemoryFull},
		{Prefix: "+QIND:", Handle: m.onMemoryFull},
		{Prefix: "RING", WholeLine: true, Handle: m.onOther},
		{Prefix: "NO CARRIER", WholeLine: true, Handle: m.onOther},
	}
	for _, r := range commonResetSigns {
		inds = append(inds, at.Indication{Prefix: r, WholeLine: true, Handle: m.onReset})
	}
	return inds
}

// profileIndications are a vendor's reset signs (whole lines) and plain
// URCs (prefixes that do not look like "+XXX:").
func (m *Modem) profileIndications(p *Profile) []at.Indication {
	var inds []at.Indication
	for _, r := range p.ResetSigns {
		inds = append(inds, at.Indication{Prefix: r, WholeLine: true, Handle: m.onReset})
	}
	for _, u := range p.URCs {
		inds = append(inds, at.Indication{Prefix: u, Handle: m.onOther})
	}
	return inds
}

// useProfile makes p the profile in use and swaps the indications of the
// previous one for p's.
func (m *Modem) useProfile(p *Profile) {
	m.profile.Store(p)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, prefix := range m.profileInds {
		m.eng.CancelIndication(prefix)
	}
	m.profileInds = m.profileInds[:0]
	for _, ind := range m.profileIndications(p) {
		// A sign every vendor shares is registered already and stays.
		if err := m.eng.AddIndication(ind); err == nil {
			m.profileInds = append(m.profileInds, ind.Prefix)
		}
	}
}

func (m *Modem) onUnsolicited(line string) {
	if mr, ok := m.lateSendAnswer(line); ok {
		m.emit(Event{Kind: EventLateSendAnswer, MR: mr, Line: line, Length: -1})
		return
	}
	m.emit(Event{Kind: EventUnsolicited, Line: line, Length: -1})
}

func (m *Modem) onOther(lines []string) { m.onUnsolicited(lines[0]) }

func (m *Modem) onReset(lines []string) {
	m.emit(Event{Kind: EventReset, Line: lines[0], Length: -1})
}

// onStored handles +CMTI and +CDSI: a message stored at <mem>,<index>.
func (m *Modem) onStored(kind EventKind) func([]string) {
	return func(lines []string) {
		s := lines[0]
		e := Event{Kind: EventUnsolicited, Line: s, Length: -1}
		_, arg, _ := strings.Cut(s, ":")
		if f := splitFields(arg); len(f) >= 2 {
			if idx, err := strconv.Atoi(f[len(f)-1]); err == nil {
				e.Kind, e.Mem, e.Index = kind, unquote(f[0]), idx
			}
		}
		m.emit(e)
	}
}

func (m *Modem) onRegistration(lines []string) {
	s := lines[0]
	e := Event{Kind: EventUnsolicited, Line: s, Length: -1}
	prefix, arg, _ := strings.Cut(s, ":")
	if d, ok := parseRegLine(arg, false); ok {
		r := Registration{LAC: d.lac, CellID: d.ci, AcT: d.act}
		if strings.EqualFold(prefix, "+CREG") {
			r.CS, r.PS = d.state, RegUnknown
		} else {
			r.CS, r.PS = RegUnknown, d.state
		}
		r.State, r.Roaming = d.state, d.state == RegRoaming
		e.Kind, e.Registration = EventRegistration, &r
	}
	m.emit(e)
}

// onUSSD gives +CUSD to the USSD call waiting for it, or to Events.
func (m *Modem) onUSSD(lines []string) {
	_, arg, _ := strings.Cut(lines[0], ":")
	m.mu.Lock()
	ch := m.ussd
	m.mu.Unlock()
	if ch != nil {
		select {
		case ch <- strings.TrimSpace(arg):
		default:
		}
		return
	}
	m.onUnsolicited(lines[0])
}

// headerLength is the TPDU length a +CMT/+CDS/+CBM header announces, -1
// when it gives none.
func (m *Modem) headerLength(header string) int {
	prefix, arg, _ := strings.Cut(header, ":")
	lengthFirst := false
	if p := m.profile.Load(); p != nil && strings.EqualFold(prefix, "+CMT") {
		lengthFirst = p.CMTLengthFirst
	}
	return pduLength(strings.TrimSpace(arg), lengthFirst)
}

// acceptPDU reports whether line is the PDU the header announced. A short
// hex-looking answer ("EC25") must not be taken for it: a PDU holds at
// least the announced TPDU octets.
func (m *Modem) acceptPDU(header, line string) bool {
	n := m.headerLength(header)
	return isHex(line) && len(line)%2 == 0 && (n < 0 || len(line)/2 >= n)
}

// onPDU handles a two-line URC once its PDU line came, or without a PDU
// when the next line was something else.
func (m *Modem) onPDU(kind EventKind) func([]string) {
	return func(lines []string) {
		e := Event{Kind: kind, Line: lines[0], Length: m.headerLength(lines[0])}
		if len(lines) > 1 {
			e.PDU = lines[1]
		}
		if e.PDU != "" && e.Length >= 0 && !pduMatchesLength(e.PDU, e.Length) {
			m.log.Debug("at pdu length mismatch", "line", e.Line, "length", e.Length, "hex_chars", len(e.PDU))
		}
		m.emit(e)
		if e.PDU != "" && (kind == EventDeliver || kind == EventStatusReport) && m.needAck.Load() {
			select {
			case m.ackCh <- struct{}{}:
			default:
				m.log.Warn("sms acknowledgements backlog full")
			}
		}
	}
}

// emit queues e for Events. Registration and other data-less lines are
// coalesced; an event that carries data waits, with the reader, while the
// queue is full (see eventQueue).
func (m *Modem) emit(e Event) {
	for !m.evq.push(e) {
		select {
		case <-m.evq.room:
		case <-m.closing:
			return
		case <-m.Done():
			return
		}
	}
}

// Events delivers URCs in the order the modem sent them, except that a
// registration or other data-less line still pending when a newer one of
// the same prefix comes is replaced by it (see eventQueue). The reader
// never waits for the receiver unless maxQueuedData events with data are
// pending. The channel is closed after Done once the queue is drained, or
// at Close.
func (m *Modem) Events() <-chan Event { return m.events }

// pump moves queued events to the Events channel, so a slow receiver never
// blocks the reader and events keep their order. Once Done is closed the
// reader has stopped, or stops at its next read of the closed port: what is
// queued then is delivered and the channel closed.
func (m *Modem) pump() {
	defer m.wg.Done()
	defer close(m.events)
	var batch []Event
	for {
		gone := false
		select {
		case <-m.Done():
			gone = true
		default:
		}
		var (
			dropped int
			full    bool
		)
		batch, dropped, full = m.evq.take(batch)
		if full {
			m.log.Warn("modem event queue full, reading paused for the consumer", "queued", maxQueuedData)
		}
		if dropped > 0 {
			m.log.Warn("unsolicited lines dropped, too many kinds pending", "dropped", dropped)
		}
		for i, e := range batch {
			select {
			case m.events <- e:
				batch[i] = Event{}
			case <-m.closing:
				return
			}
		}
		if len(batch) > 0 {
			continue
		}
		if gone {
			return
		}
		select {
		case <-m.evq.signal:
		case <-m.Done():
		case <-m.closing:
			return
		}
	}
}

// pduLength reads <length> from the arguments of +CMT/+CDS/+CMGR/+CMGL
// headers: the last field, except on modems that put it first.
func pduLength(arg string, first bool) int {
	f := splitFields(arg)
	if len(f) == 0 {
		return -1
	}
	v := f[len(f)-1]
	if first {
		v = f[0]
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}

// pduMatchesLength checks a PDU (SMSC prefix included) against the TPDU
// length the modem announced.
func pduMatchesLength(pdu string, length int) bool {
	if len(pdu) < 2 {
		return false
	}
	smsc, err := strconv.ParseUint(pdu[:2], 16, 8)
	if err != nil {
		return false
	}
	return len(pdu) == 2*(1+int(smsc)+length)
}
