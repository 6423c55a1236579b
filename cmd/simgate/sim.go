package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/pdu"
)

func runSim(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "sim", "[--count N] [--link-dir DIR] [--log FILE] [--deleted-log FILE] [--send-log FILE] [--latency D] [--report-delay D] [--fail NUMBER:CODE]... [--route N:PREFIX:DELAY|drop]... [--chaos SEED [--chaos-log FILE] [--chaos-paused]]")
	count := fs.Int("count", 2, "number of virtual modems")
	latency := fs.Duration("latency", 0, "delay before each +CMGS answer, as a real network takes")
	reportDelay := fs.Duration("report-delay", 0, "delay before each status report")
	linkDir := fs.String("link-dir", "", "keep stable symlinks DIR/modem1… to the ptys (like /dev/serial/by-id), updated on replug")
	logFile := fs.String("log", "", "append every message the network accepts to FILE as JSON lines")
	deletedFile := fs.String("deleted-log", "", "append every SMS the host deletes from a modem's storage to FILE as JSON lines")
	sendFile := fs.String("send-log", "", "append every PDU a modem is handed with AT+CMGS to FILE as JSON lines, timed as it arrives (before --latency)")
	chaosSeed := fs.String("chaos", "", "SEED: make the modems misbehave at random, drawn from SEED (the soak test's faults)")
	chaosFile := fs.String("chaos-log", "", "append every fault --chaos makes, and every SMS it hands a modem, to FILE as JSON lines")
	chaosPaused := fs.Bool("chaos-paused", false, "start --chaos paused, until \"chaos on\" on stdin")
	var fails, routes stringList
	fs.Var(&fails, "fail", "NUMBER:CODE: answer sends to NUMBER with +CMS ERROR: CODE (repeatable)")
	fs.Var(&routes, "route", "N:PREFIX:DELAY|drop: reports of modem N's sends to PREFIX… come after DELAY, or never (repeatable)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("sim: unexpected argument %q", pos[0])
	}
	if *count < 1 || *count > 64 {
		return usagef("sim: --count must be within 1–64")
	}
	if *latency < 0 || *reportDelay < 0 {
		return usagef("sim: --latency and --report-delay must not be negative")
	}
	net := modemsim.NewNetwork()
	defer net.Close()
	net.SetReport("", modemsim.ReportPolicy{Delay: *reportDelay})
	if err := setFailures(net, fails); err != nil {
		return err
	}
	log, err := openLog(*logFile, "record log")
	if err != nil {
		return err
	}
	defer log.Close()
	deleted, err := openLog(*deletedFile, "deleted log")
	if err != nil {
		return err
	}
	defer deleted.Close()
	sends, err := openLog(*sendFile, "send log")
	if err != nil {
		return err
	}
	defer sends.Close()
	s := &simulator{net: net, linkDir: *linkDir, stderr: e.stderr}
	logs := modemLogs{deleted: &deletionLog{w: deleted}, sends: &submitLog{w: sends}}
	if err := s.addModems(ctx, *count, *latency, logs, e.stdout); err != nil {
		return err
	}
	if err := s.setRoutes(routes); err != nil {
		return err
	}
	s.greet(e.stderr)
	if *chaosSeed != "" {
		closeLog, err := s.newChaos(*chaosSeed, *chaosFile, *chaosPaused)
		if err != nil {
			return err
		}
		defer closeLog()
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.watchRecords(ctx, log)
	}()
	if s.chaos != nil {
		wg.Go(func() { s.chaos.run(ctx) })
	}
	// The stdin reader cannot be interrupted; it ends with stdin or the process.
	go s.control(ctx, e.stdin)
	wg.Wait()
	return nil
}

// greet tells a person at the terminal what runs and what to try.
func (s *simulator) greet(w io.Writer) {
	for i, m := range s.modems {
		fmt.Fprintf(w, "virtual modem %d: %s  number %s  IMEI %s\n", i+1, m.Path(), m.Number(), m.IMEI())
	}
	fmt.Fprintf(w, "\nTry:\n  simgate probe %s\n  simgate at %s\n", s.portOf(1), s.portOf(1))
	if len(s.modems) > 1 {
		fmt.Fprintf(w, "A message from one virtual modem to %s arrives at modem 2.\n", s.modems[1].Number())
	}
	fmt.Fprintf(w, "Commands on stdin: %s. Ctrl-C stops.\n\n", simCommands)
}

// addModems plugs in count virtual modems and prints the port of each on
// stdout, one per line, so that scripts can read them.
func (s *simulator) addModems(ctx context.Context, count int, latency time.Duration, logs modemLogs, stdout io.Writer) error {
	for i := range count {
		m := s.net.AddModem(modemsim.Config{})
		m.SetSendLatency(latency)
		imei := m.IMEI()
		m.OnDelete(func(d modemsim.Deletion) { logs.deleted.write(imei, d) })
		m.OnSubmit(func(sub modemsim.Submit) { logs.sends.write(i+1, imei, sub) })
		if _, err := m.OpenPTY(ctx); err != nil {
			return fmt.Errorf("open pty: %w", err)
		}
		s.modems = append(s.modems, m)
		if err := s.link(len(s.modems)); err != nil {
			return err
		}
		fmt.Fprintln(stdout, s.portOf(len(s.modems)))
	}
	return nil
}

// openLog opens path for appending JSON lines; with path empty, writes
// go nowhere.
func openLog(path, what string) (io.WriteCloser, error) {
	if path == "" {
		return nopWriteCloser{io.Discard}, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return f, nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// simulator is the state of "simgate sim".
type simulator struct {
	net     *modemsim.Network
	modems  []*modemsim.Modem
	linkDir string
	stderr  io.Writer
	chaos   *chaos     // nil without --chaos
	mu      sync.Mutex // serialises control commands and the links
}

// portOf is what a serial tool should open for modem i (1-based): the
// stable link if there is one, else the pty.
func (s *simulator) portOf(i int) string {
	if s.linkDir != "" {
		return filepath.Join(s.linkDir, "modem"+strconv.Itoa(i))
	}
	return s.modems[i-1].Path()
}

// link points DIR/modemN at modem N's current pty, atomically.
func (s *simulator) link(i int) error {
	if s.linkDir == "" {
		return nil
	}
	if err := os.MkdirAll(s.linkDir, 0o755); err != nil {
		return fmt.Errorf("link dir: %w", err)
	}
	dst := s.portOf(i)
	tmp := dst + ".new"
	os.Remove(tmp)
	if err := os.Symlink(s.modems[i-1].Path(), tmp); err != nil {
		return fmt.Errorf("link: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("link: %w", err)
	}
	return nil
}

// unlink removes DIR/modemN while modem N is unplugged, as
// /dev/serial/by-id loses a USB modem's link: its old pty number may be
// given to another program's pty, which a client retrying the stale link
// would otherwise open and write AT commands into.
func (s *simulator) unlink(i int) {
	if s.linkDir != "" {
		os.Remove(s.portOf(i))
	}
}

// control runs commands read from in: a test or a person pulls a virtual
// modem out, plugs it back, resets it, or sends an SMS from outside.
func (s *simulator) control(ctx context.Context, in io.Reader) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if ctx.Err() != nil {
			return
		}
		if err := s.command(ctx, strings.Fields(sc.Text())); err != nil {
			fmt.Fprintf(s.stderr, "sim: %v\n", err)
		}
	}
}

func (s *simulator) command(ctx context.Context, f []string) error {
	if len(f) == 0 {
		return nil
	}
	if f[0] == "chaos" {
		return s.chaosCommand(ctx, f)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f[0] == "hang" || f[0] == "delay" {
		return s.fault(f)
	}
	modemArg := func() (int, *modemsim.Modem, error) {
		if len(f) != 2 {
			return 0, nil, fmt.Errorf("%s wants a modem number", f[0])
		}
		i, err := strconv.Atoi(f[1])
		if err != nil || i < 1 || i > len(s.modems) {
			return 0, nil, fmt.Errorf("no modem %q", f[1])
		}
		return i, s.modems[i-1], nil
	}
	switch f[0] {
	case "unplug":
		i, m, err := modemArg()
		if err != nil {
			return err
		}
		s.unlink(i)
		m.Unplug()
		fmt.Fprintf(s.stderr, "modem %d unplugged\n", i)
	case "replug":
		i, m, err := modemArg()
		if err != nil {
			return err
		}
		if err := m.Replug(ctx); err != nil {
			return err
		}
		if err := s.link(i); err != nil {
			return err
		}
		fmt.Fprintf(s.stderr, "modem %d replugged on %s\n", i, m.Path())
	case "reset":
		i, m, err := modemArg()
		if err != nil {
			return err
		}
		m.Reset()
		fmt.Fprintf(s.stderr, "modem %d reset\n", i)
	case "route":
		if len(f) != 4 {
			return fmt.Errorf("route wants N PREFIX DELAY|drop")
		}
		return s.route(f[1], f[2], f[3])
	case "reenumerate":
		i, m, err := modemArg()
		if err != nil {
			return err
		}
		s.unlink(i)
		if _, err := m.Reenumerate(ctx); err != nil {
			return err
		}
		if err := s.link(i); err != nil {
			return err
		}
		fmt.Fprintf(s.stderr, "modem %d re-enumerated on %s\n", i, m.Path())
	case "deliver":
		if len(f) < 4 {
			return fmt.Errorf("deliver wants FROM TO TEXT")
		}
		return s.net.Deliver(f[1], f[2], strings.Join(f[3:], " "))
	default:
		return fmt.Errorf("unknown command %q (%s)", f[0], simCommands)
	}
	return nil
}

// setFailures applies --fail NUMBER:CODE.
func setFailures(net *modemsim.Network, fails []string) error {
	for _, f := range fails {
		number, code, ok := strings.Cut(f, ":")
		c, err := strconv.Atoi(code)
		if !ok || err != nil || number == "" {
			return usagef("sim: --fail wants NUMBER:CODE, got %q", f)
		}
		net.SetFailure(number, c)
	}
	return nil
}

// setRoutes applies --route N:PREFIX:DELAY|drop.
func (s *simulator) setRoutes(routes []string) error {
	for _, r := range routes {
		f := strings.SplitN(r, ":", 3)
		if len(f) != 3 {
			return usagef("sim: --route wants N:PREFIX:DELAY|drop, got %q", r)
		}
		if err := s.route(f[0], f[1], f[2]); err != nil {
			return usagef("sim: --route %q: %v", r, err)
		}
	}
	return nil
}

// route makes the status reports of what modem n sends to numbers starting
// with prefix come after delay ("1.5s"), or never ("drop"): a fast and a
// slow route to one destination network.
func (s *simulator) route(n, prefix, delay string) error {
	i, err := strconv.Atoi(n)
	if err != nil || i < 1 || i > len(s.modems) {
		return fmt.Errorf("route: no modem %q", n)
	}
	var p modemsim.ReportPolicy
	if delay == "drop" {
		p.Drop = true
	} else if p.Delay, err = time.ParseDuration(delay); err != nil || p.Delay < 0 {
		return fmt.Errorf("route: delay %q: want a duration such as 1.5s, or drop", delay)
	}
	s.net.SetRoute(s.modems[i-1].IMEI(), prefix, p)
	what := "after " + p.Delay.String()
	if p.Drop {
		what = "never"
	}
	fmt.Fprintf(s.stderr, "modem %d to %s*: reports %s\n", i, prefix, what)
	return nil
}

// simCommands are the commands "simgate sim" reads on stdin.
const simCommands = "unplug N, replug N, reset N, reenumerate N, route N PREFIX DELAY|drop, hang N off|until-reset|until-reopen|until-power-cycle, delay N DURATION [COMMAND [once]], deliver FROM TO TEXT, chaos on|off"

// fault runs "hang N MODE" (the modem stops answering until MODE's cure)
// and "delay N DURATION [COMMAND [once]]" (every answer, or every answer
// to COMMAND such as +CSQ, or only its next one, comes that late); s.mu is
// held.
func (s *simulator) fault(f []string) error {
	if len(f) != 3 && (f[0] != "delay" || len(f) < 3 || len(f) > 5 || len(f) == 5 && f[4] != "once") {
		return fmt.Errorf("%s wants a modem number and a value (delay: N DURATION [COMMAND [once]])", f[0])
	}
	i, err := strconv.Atoi(f[1])
	if err != nil || i < 1 || i > len(s.modems) {
		return fmt.Errorf("no modem %q", f[1])
	}
	m := s.modems[i-1]
	if f[0] == "delay" {
		d, err := time.ParseDuration(f[2])
		if err != nil || d < 0 {
			return fmt.Errorf("delay wants a duration, got %q", f[2])
		}
		switch {
		case len(f) == 5:
			m.DelayNextAnswer(f[3], d)
			fmt.Fprintf(s.stderr, "modem %d answers the next %s %v late\n", i, f[3], d)
		case len(f) == 4:
			m.SetAnswerDelay(f[3], d)
			fmt.Fprintf(s.stderr, "modem %d answers %s %v late\n", i, f[3], d)
		default:
			m.SetAnswerDelay("", d) // every command
			fmt.Fprintf(s.stderr, "modem %d answers %v late\n", i, d)
		}
		return nil
	}
	for _, mode := range []modemsim.HangMode{modemsim.HangOff, modemsim.HangUntilReset, modemsim.HangUntilReopen, modemsim.HangUntilPowerCycle} {
		if mode.String() == f[2] {
			m.SetHang(mode)
			fmt.Fprintf(s.stderr, "modem %d hang %s\n", i, mode)
			return nil
		}
	}
	return fmt.Errorf("hang wants off, until-reset, until-reopen or until-power-cycle, got %q", f[2])
}

// recordJSON is one line of the --log file.
type recordJSON struct {
	From     string    `json:"from"`
	FromIMEI string    `json:"from_imei"`
	To       string    `json:"to"`
	Text     string    `json:"text"`
	MR       int       `json:"mr"`
	Ref      int       `json:"ref"`
	Part     int       `json:"part"`
	Total    int       `json:"total"`
	Encoding string    `json:"encoding"`
	SRR      bool      `json:"srr"`
	At       time.Time `json:"at"`
	// A data part's bytes (base64), its ports and class.
	Data       []byte `json:"data,omitempty"`
	Port       *int   `json:"port,omitempty"`
	SourcePort *int   `json:"source_port,omitempty"`
	Flash      bool   `json:"flash,omitempty"`
}

// watchRecords prints each message the virtual network accepts until ctx
// ends, and appends it to log (io.Discard without --log).
func (s *simulator) watchRecords(ctx context.Context, log io.Writer) {
	seen := 0
	for {
		recs, err := s.net.WaitRecords(ctx, seen+1)
		if err != nil {
			return // ctx ended
		}
		for _, r := range recs[seen:] {
			part := ""
			if r.Total > 1 {
				part = fmt.Sprintf(" part %d/%d", r.Part, r.Total)
			}
			fmt.Fprintf(s.stderr, "%s  %s -> %s  mr %d%s  %s: %q\n",
				r.At.Format(time.TimeOnly), r.From, r.To, r.MR, part, r.Encoding, r.Text)
			line := recordJSON{From: r.From, FromIMEI: r.FromIMEI, To: r.To, Text: r.Text, MR: r.MR,
				Ref: r.Ref, Part: r.Part, Total: r.Total, Encoding: r.Encoding, SRR: r.SRR, At: r.At,
				Data: r.Data, Flash: r.Flash}
			if p := r.Ports; p != nil {
				line.Port, line.SourcePort = &p.Dest, &p.Source
			}
			b, _ := json.Marshal(line)
			log.Write(append(b, '\n'))
		}
		seen = len(recs)
	}
}

// deletionJSON is one line of the --deleted-log file: an SMS the host
// deleted from a modem's storage, decoded where it decodes.
type deletionJSON struct {
	IMEI  string    `json:"imei"`
	Mem   string    `json:"mem"`
	Index int       `json:"index"`
	From  string    `json:"from,omitempty"`
	Text  string    `json:"text,omitempty"`
	PDU   string    `json:"pdu"`
	At    time.Time `json:"at"`
}

// deletionLog writes the --deleted-log file; a line is written before the
// modem answers the AT+CMGD, so it is there before the host goes on.
type deletionLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *deletionLog) write(imei string, d modemsim.Deletion) {
	rec := deletionJSON{IMEI: imei, Mem: d.Mem, Index: d.Index, PDU: d.PDU, At: time.Now()}
	if msg, err := pdu.Decode(d.PDU); err == nil {
		rec.From, rec.Text = msg.From.Number, msg.Text
	}
	b, _ := json.Marshal(rec)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(append(b, '\n'))
}

// modemLogs are the witnesses every virtual modem writes to.
type modemLogs struct {
	deleted *deletionLog
	sends   *submitLog
}

// submitJSON is one line of the --send-log file: a PDU handed to modem
// Modem (1-based) with AT+CMGS, timed by the modem as its AT+CMGS line and
// its PDU came in, before the network round trip (--latency).
type submitJSON struct {
	Modem  int       `json:"modem"`
	IMEI   string    `json:"imei"`
	To     string    `json:"to"`
	Text   string    `json:"text"`
	CMGSAt time.Time `json:"cmgs_at"`
	PDUAt  time.Time `json:"pdu_at"`
}

// submitLog writes the --send-log file.
type submitLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *submitLog) write(modem int, imei string, s modemsim.Submit) {
	b, _ := json.Marshal(submitJSON{Modem: modem, IMEI: imei, To: s.To, Text: s.Text, CMGSAt: s.CMGSAt, PDUAt: s.PDUAt})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(append(b, '\n'))
}
