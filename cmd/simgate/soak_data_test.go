package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// What the soak reads: the chaos log, the SIMs' deletion log and the
// gateway's database.

// soakChaos is what the chaos log says.
type soakChaos struct {
	faults      map[string]int
	inbound     []string // texts handed to a modem, odd but decodable ones included
	undecodable []string // PDUs that do not decode
	surplus     int
	events      []chaosEvent
}

func readChaosLog(t *testing.T, path string) soakChaos {
	out := soakChaos{faults: map[string]int{}}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev chaosEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("chaos log line %q: %v", sc.Text(), err)
		}
		out.events = append(out.events, ev)
		switch {
		case ev.Kind == "sms_in":
			out.inbound = append(out.inbound, ev.Text)
			continue
		case ev.Kind == "odd_pdu" && ev.Text != "":
			out.inbound = append(out.inbound, ev.Text)
			out.surplus++
		case ev.Kind == "odd_pdu":
			out.undecodable = append(out.undecodable, ev.PDU)
		}
		out.faults[ev.Kind]++
	}
	return out
}

// deviceLost tells whether the modem was unplugged, reset, re-enumerated
// or hung at some time within [from, to].
func (c soakChaos) deviceLost(imei string, from, to time.Time) bool {
	for _, ev := range c.events {
		switch ev.Kind {
		case "unplug", "reenumerate", "reset", "reset_mid_multipart_fired", "hang":
		default:
			continue
		}
		if ev.IMEI == imei && !ev.At.After(to) && !ev.Until.Before(from) {
			return true
		}
	}
	return false
}

func readDeletionLog(t *testing.T, path string) []deletionJSON {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []deletionJSON
	for line := range strings.Lines(string(b)) {
		var d deletionJSON
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("deleted log line %q: %v", line, err)
		}
		out = append(out, d)
	}
	return out
}

func openSoakDB(t *testing.T, path string, readOnly bool) *sql.DB {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)"
	if readOnly {
		dsn += "&mode=ro"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func countRows(t *testing.T, db *sql.DB, query string, args ...any) int {
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func storedBodies(t *testing.T, db *sql.DB) map[string]int {
	out := map[string]int{}
	rows, err := db.Query("SELECT body FROM inbound WHERE body <> ''")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		out[b]++
	}
	return out
}

func readSoakDB(t *testing.T, db *sql.DB) (map[string]soakMessage, []soakPart) {
	msgs := map[string]soakMessage{}
	rows, err := db.Query("SELECT id, recipient, body, status, next_attempt, concat_ref, segments FROM messages")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var m soakMessage
		if err := rows.Scan(&m.id, &m.to, &m.body, &m.status, &m.nextAttempt, &m.ref, &m.segments); err != nil {
			t.Fatal(err)
		}
		msgs[m.id] = m
	}
	rows.Close()
	var parts []soakPart
	rows, err = db.Query("SELECT message_id, idx, mr, modem, status FROM parts")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var p soakPart
		if err := rows.Scan(&p.msg, &p.idx, &p.mr, &p.modem, &p.state); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	return msgs, parts
}

// storedRaw counts the undecodable PDUs stored raw, by PDU.
func storedRaw(t *testing.T, db *sql.DB) map[string]int {
	out := map[string]int{}
	rows, err := db.Query("SELECT raw_pdu FROM inbound WHERE decode_error <> ''")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		out[p]++
	}
	return out
}
