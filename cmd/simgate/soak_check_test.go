package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// The end of a soak: drain, then the invariant table.

// soakRow is one line of the invariant table.
type soakRow struct {
	name, got string
	ok        bool
}

// soakMessage is a message as the database holds it.
type soakMessage struct {
	id, to, body, status, nextAttempt string
	ref, segments                     int
}

// soakPart is a part as the database holds it.
type soakPart struct {
	msg          string
	idx          int
	mr           sql.NullInt64
	modem, state string
}

// report drains the gateway, stops it and prints the table; a failing row
// fails the test.
func (r *soakRun) report(t *testing.T) {
	chaos := readChaosLog(t, r.chaosLog)
	drained := r.drain(t, chaos, 4*time.Minute)
	idle := r.backToIdle(t)
	r.current().stop(t)
	db := path(r.data)
	rows := []soakRow{drained}
	rows = append(rows, idle...)
	rows = append(rows, r.checkDatabase(t, db, chaos)...)
	p := r.panics()
	rows = append(rows, soakRow{"no panic in the logs", cond(p == "", "none", p), p == ""})

	t.Logf("soak invariants (seed %d):", r.seed)
	failed := 0
	for _, row := range rows {
		mark := "ok  "
		if !row.ok {
			mark, failed = "FAIL", failed+1
		}
		t.Logf("  %s  %-50s %s", mark, row.name, row.got)
	}
	r.figures(t, chaos)
	if failed > 0 {
		t.Errorf("%d invariant(s) failed (seed %d)", failed, r.seed)
	}
}

func path(data string) string { return filepath.Join(data, "simgate.db") }

func cond(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

// drain waits until every accepted message is final or waits for a retry
// that is due later, every SMS and odd PDU the chaos handed a modem is
// stored, and every modem is online again.
func (r *soakRun) drain(t *testing.T, chaos soakChaos, limit time.Duration) soakRow {
	deadline := time.Now().Add(limit)
	var open, missing, offline int
	lastNote := time.Now()
	for {
		db := openSoakDB(t, path(r.data), true)
		open = countRows(t, db, `SELECT count(*) FROM messages WHERE status = 'sending'
			OR (status = 'queued' AND next_attempt <= ?)`, time.Now().UTC().Format("2006-01-02T15:04:05.000000000Z"))
		offline = countRows(t, db, `SELECT count(*) FROM modems WHERE state <> 'online'`)
		stored, raw := storedBodies(t, db), storedRaw(t, db)
		db.Close()
		missing = 0
		for _, text := range chaos.inbound {
			if stored[text] == 0 {
				missing++
			}
		}
		for _, p := range chaos.undecodable {
			if raw[p] == 0 {
				missing++
			}
		}
		done := open == 0 && missing == 0 && offline == 0
		if done || time.Now().After(deadline) {
			break
		}
		if time.Since(lastNote) > 10*time.Second {
			t.Logf("draining: %d messages open and not waiting for a retry, %d inbound SMS not stored yet, %d modems not online", open, missing, offline)
			lastNote = time.Now()
		}
		time.Sleep(2 * time.Second)
	}
	got := fmt.Sprintf("drained in %v after the chaos", time.Since(r.chaosEnd).Round(time.Second))
	ok := open == 0 && missing == 0 && offline == 0
	if !ok {
		got = fmt.Sprintf("after %v: %d messages still open and not waiting for a retry, %d inbound SMS not stored, %d modems not online",
			limit, open, missing, offline)
	}
	return soakRow{"gateway drains once the chaos stops", got, ok}
}

// backToIdle waits (30 s at most) for the running gateway's goroutines and
// heap to come back near what the first gateway used at rest.
func (r *soakRun) backToIdle(t *testing.T) []soakRow {
	maxG, maxHeap := r.idle.goroutines+30, max(3*r.idle.heap, r.idle.heap+64<<20)
	var now soakIdle
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		now = r.idleFigures(t, r.current())
		if now.goroutines <= maxG && now.heap <= maxHeap || time.Now().After(deadline) {
			break
		}
	}
	return []soakRow{
		{"goroutines back near idle", fmt.Sprintf("%.0f at rest before, %.0f after (≤ %.0f)", r.idle.goroutines, now.goroutines, maxG), now.goroutines <= maxG},
		{"heap back near idle", fmt.Sprintf("%.1f MiB at rest before, %.1f MiB after (≤ %.1f)", r.idle.heap/(1<<20), now.heap/(1<<20), maxHeap/(1<<20)), now.heap <= maxHeap},
	}
}

// checkDatabase compares the stopped gateway's database with what the
// clients were answered, the network recorded and the SIMs lost.
func (r *soakRun) checkDatabase(t *testing.T, dbPath string, chaos soakChaos) []soakRow {
	db := openSoakDB(t, dbPath, false)
	defer db.Close()
	var integrity string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil {
		t.Fatal(err)
	}
	msgs, parts := readSoakDB(t, db)
	rows := []soakRow{r.checkAccepted(msgs)}
	recs := readRecords(r.netw.log)
	rows = append(rows, checkMRs(msgs, parts, recs), r.checkDuplicates(msgs, recs, chaos))
	rows = append(rows, checkInbound(t, db, chaos, readDeletionLog(t, r.deleted))...)
	return append(rows, soakRow{"PRAGMA integrity_check", integrity, integrity == "ok"})
}

func (r *soakRun) checkAccepted(msgs map[string]soakMessage) soakRow {
	byStatus := map[string]int{}
	lost, open := 0, 0
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.accepted {
		m, ok := msgs[id]
		if !ok {
			lost++
			continue
		}
		byStatus[m.status]++
		if m.status == "sending" {
			open++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d accepted:", len(r.accepted))
	for _, s := range []string{"delivered", "sent", "failed", "expired", "canceled", "queued", "sending"} {
		if byStatus[s] > 0 {
			fmt.Fprintf(&b, " %d %s", byStatus[s], s)
		}
	}
	if lost > 0 {
		fmt.Fprintf(&b, "; %d MISSING from the database", lost)
	}
	return soakRow{"every 202 final or queued for a retry", b.String(), lost == 0 && open == 0}
}

// recordKey is where a network record belongs: its message and part.
func recordMessage(byTo map[string][]soakMessage, rec recordJSON) (soakMessage, bool) {
	for _, m := range byTo[strings.TrimPrefix(rec.To, "+")] {
		if !strings.HasPrefix(m.body, "soak ") {
			continue // an OTP: its text is sealed
		}
		if rec.Total == 1 && m.body == rec.Text || rec.Total > 1 && m.ref == rec.Ref && strings.Contains(m.body, rec.Text) {
			return m, true
		}
	}
	return soakMessage{}, false
}

func byRecipient(msgs map[string]soakMessage) map[string][]soakMessage {
	out := map[string][]soakMessage{}
	for _, m := range msgs {
		k := strings.TrimPrefix(m.to, "+")
		out[k] = append(out[k], m)
	}
	return out
}

// checkMRs: every part recorded with an MR was sent by that modem with
// that MR, to its recipient, as that part (of that message, when its text
// is readable).
func checkMRs(msgs map[string]soakMessage, parts []soakPart, recs []recordJSON) soakRow {
	type key struct {
		imei string
		mr   int
		to   string
		part int
	}
	byKey := map[key][]recordJSON{}
	for _, rec := range recs {
		k := key{rec.FromIMEI, rec.MR, strings.TrimPrefix(rec.To, "+"), rec.Part}
		byKey[k] = append(byKey[k], rec)
	}
	withMR, wrong, unknown := 0, 0, 0
	var example string
	for _, p := range parts {
		if !p.mr.Valid {
			if p.state == "sent" || p.state == "delivered" {
				unknown++
			}
			continue
		}
		withMR++
		m := msgs[p.msg]
		found := false
		for _, rec := range byKey[key{p.modem, int(p.mr.Int64), strings.TrimPrefix(m.to, "+"), p.idx}] {
			if m.segments > 1 && rec.Ref != m.ref {
				continue
			}
			if strings.HasPrefix(m.body, "soak ") && !strings.Contains(m.body, rec.Text) {
				continue
			}
			found = true
		}
		if !found {
			wrong++
			example = fmt.Sprintf("; e.g. %s part %d MR %d on %s", p.msg, p.idx, p.mr.Int64, p.modem)
		}
	}
	got := fmt.Sprintf("%d parts with an MR, %d not as the network saw them%s; %d sent with the outcome unknown (no MR)", withMR, wrong, example, unknown)
	return soakRow{"network record agrees with the database (MRs)", got, wrong == 0}
}

// checkDuplicates counts parts of client messages the network got more
// than once, and accepts them only where DESIGN documents them: a SIGKILL
// between the send and its record (the crash window), a message whose
// modem went away around its send (sent again rather than lost), or a
// multipart message sent whole again by another modem.
func (r *soakRun) checkDuplicates(msgs map[string]soakMessage, recs []recordJSON, chaos soakChaos) soakRow {
	byTo := byRecipient(msgs)
	type key struct {
		id   string
		part int
	}
	seen := map[key][]recordJSON{}
	for _, rec := range recs {
		if m, ok := recordMessage(byTo, rec); ok {
			k := key{m.id, rec.Part}
			seen[k] = append(seen[k], rec)
		}
	}
	var crash, failover, unexplained int
	var example string
	for k, rs := range seen {
		for i := 1; i < len(rs); i++ {
			a, b := rs[i-1], rs[i]
			switch {
			case r.killedBetween(a.At.Add(-2*time.Second), b.At.Add(2*time.Second)):
				crash++
			case chaos.deviceLost(a.FromIMEI, a.At.Add(-2*time.Second), b.At):
				// The port went away around the send, before its +CMGS
				// answer: the message goes back for another modem rather
				// than risk losing it (an unplug loses nothing; the
				// duplicate is the documented cost).
				failover++
			case a.Total > 1 && a.FromIMEI != b.FromIMEI:
				// A multipart message is sent whole by the modem that takes
				// it over.
				failover++
			default:
				unexplained++
				example = fmt.Sprintf("; e.g. %s part %d at %s and %s", k.id, k.part, a.At.Format(time.TimeOnly), b.At.Format(time.StampMilli))
			}
		}
	}
	got := fmt.Sprintf("%d in the crash window, %d resent after a modem loss or multipart resent whole, %d unexplained%s", crash, failover, unexplained, example)
	r.mu.Lock()
	r.duplicates = crash + failover + unexplained
	r.mu.Unlock()
	return soakRow{"duplicates only where documented", got, unexplained == 0}
}

func (r *soakRun) killedBetween(from, to time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.kills {
		if !k.Before(from) && !k.After(to) {
			return true
		}
	}
	return false
}

// checkInbound: every SMS the chaos handed a modem is stored exactly once,
// every odd PDU that does not decode is stored raw exactly once, and what
// left a SIM was stored, before it left.
func checkInbound(t *testing.T, db *sql.DB, chaos soakChaos, deletions []deletionJSON) []soakRow {
	stored := storedBodies(t, db)
	missing, twice := 0, 0
	for _, text := range chaos.inbound {
		switch n := stored[text]; {
		case n == 0:
			missing++
		case n > 1:
			twice++
		}
	}
	raw := map[string]int{}
	received := map[string]string{}
	rows, err := db.Query("SELECT body, raw_pdu, decode_error, received_at FROM inbound")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var body, pdu, reason, at string
		if err := rows.Scan(&body, &pdu, &reason, &at); err != nil {
			t.Fatal(err)
		}
		if reason != "" {
			raw[pdu]++
			received[pdu] = at // an undecodable one by its PDU: it has no text
			continue
		}
		received[body] = at
	}
	rows.Close()
	rawBad := 0
	for _, p := range chaos.undecodable {
		if raw[p] != 1 {
			rawBad++
		}
	}
	lostFromSIM, early := 0, 0
	for _, d := range deletions {
		if d.Mem == "SR" {
			continue
		}
		key := d.Text
		if key == "" {
			key = strings.ToUpper(d.PDU)
		}
		switch at, ok := received[key]; {
		case d.Text == "" && raw[key] == 0:
			lostFromSIM++
		case d.Text != "" && !ok && !anyContains(stored, d.Text):
			lostFromSIM++
		case ok && at > d.At.UTC().Format("2006-01-02T15:04:05.000000000Z"):
			early++
		}
	}
	return []soakRow{
		{"inbound SMS stored exactly once", fmt.Sprintf("%d handed to the modems: %d missing, %d stored twice", len(chaos.inbound), missing, twice), missing == 0 && twice == 0},
		{"undecodable PDUs stored raw exactly once", fmt.Sprintf("%d handed over, %d not stored once", len(chaos.undecodable), rawBad), rawBad == 0},
		{"deleted from a SIM only after its commit", fmt.Sprintf("%d deleted: %d not stored, %d deleted before the commit", len(deletions), lostFromSIM, early), lostFromSIM == 0 && early == 0},
	}
}

func anyContains(bodies map[string]int, text string) bool {
	for b := range bodies {
		if strings.Contains(b, text) {
			return true
		}
	}
	return false
}

// figures prints what the soak did.
func (r *soakRun) figures(t *testing.T, chaos soakChaos) {
	r.mu.Lock()
	defer r.mu.Unlock()
	lat := slices.Clone(r.latencies)
	slices.Sort(lat)
	p := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))].Round(time.Millisecond)
	}
	kinds := make([]string, 0, len(chaos.faults))
	total := 0
	for k, n := range chaos.faults {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		total += n
	}
	sort.Strings(kinds)
	t.Logf("soak figures: %d messages accepted, %d OTPs started, %d approved; %d inbound SMS and %d odd PDUs handed over",
		len(r.accepted), r.otps, r.approved, len(chaos.inbound), len(chaos.undecodable)+chaos.surplus)
	t.Logf("  faults: %d — %s", total, strings.Join(kinds, ", "))
	t.Logf("  kills: %d (SIGKILL and restart); duplicates: %d", len(r.kills), r.duplicates)
	t.Logf("  API latency during chaos over %d answers: p50 %v, p99 %v, max %v", len(lat), p(0.5), p(0.99), p(1))
}
