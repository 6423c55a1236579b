package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// send is one line of "simgate sim --send-log": a PDU handed to a virtual
// modem, timed by the modem.
type send struct {
	Modem  int       `json:"modem"`
	To     string    `json:"to"`
	Text   string    `json:"text"`
	CMGSAt time.Time `json:"cmgs_at"`
}

// parseSends reads send-log lines; a line that is not one is an error
// naming its number.
func parseSends(r io.Reader) ([]send, error) {
	var out []send
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var s send
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			return nil, fmt.Errorf("send log line %d: %w", n, err)
		}
		if s.CMGSAt.IsZero() || s.To == "" {
			return nil, fmt.Errorf("send log line %d: no cmgs_at or to", n)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// numberKey is how a destination is matched between what a peer was
// handed and what the modem saw: its digits, which each peer writes into
// the PDU with or without the international type.
func numberKey(number string) string {
	var b strings.Builder
	for _, r := range number {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// firstSeen maps each destination to the first AT+CMGS seen for it.
func firstSeen(sends []send) map[string]time.Time {
	m := make(map[string]time.Time, len(sends))
	for _, s := range sends {
		k := numberKey(s.To)
		if t, ok := m[k]; !ok || s.CMGSAt.Before(t) {
			m[k] = s.CMGSAt
		}
	}
	return m
}

// summary describes a set of latencies.
type summary struct {
	N             int
	P50, P95, Max time.Duration
}

// summarize gives the nearest-rank percentiles of ds (which it sorts).
func summarize(ds []time.Duration) summary {
	if len(ds) == 0 {
		return summary{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return summary{N: len(ds), P50: percentile(ds, 50), P95: percentile(ds, 95), Max: ds[len(ds)-1]}
}

// percentile is the nearest-rank p-th percentile of sorted ds.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// seconds prints d in seconds with a precision that suits it.
func seconds(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s < 0.1:
		return fmt.Sprintf("%.3f s", s)
	case s < 10:
		return fmt.Sprintf("%.2f s", s)
	}
	return fmt.Sprintf("%.1f s", s)
}
