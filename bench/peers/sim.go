package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// simNet is a "simgate sim" process: count virtual modems whose every
// AT+CMGS is timed in its send log.
type simNet struct {
	p       *proc
	ports   []string // stable links, dir/dev/modemN
	sendLog string
}

func startSim(bin, dir string, count int, latency time.Duration) (*simNet, error) {
	s := &simNet{sendLog: filepath.Join(dir, "sends.jsonl")}
	p, err := startProc(dir, "sim", bin, "sim", "--count", strconv.Itoa(count), "--latency", latency.String(),
		"--link-dir", filepath.Join(dir, "dev"), "--send-log", s.sendLog)
	if err != nil {
		return nil, err
	}
	s.p = p
	for i := 1; i <= count; i++ {
		s.ports = append(s.ports, filepath.Join(dir, "dev", "modem"+strconv.Itoa(i)))
	}
	err = poll(15*time.Second, func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("sim exited: %s", p.tail())
		}
		b, _ := os.ReadFile(p.log)
		return strings.Count(string(b), "virtual modem ") >= count, nil
	})
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("sim: %w", err)
	}
	return s, nil
}

func (s *simNet) stop() { s.p.stop() }

// sends reads every AT+CMGS the modems have seen so far.
func (s *simNet) sends() ([]send, error) {
	f, err := os.Open(s.sendLog)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseSends(f)
}

// waitSeen polls the send log until every number in want has had its
// AT+CMGS, or within passes; it returns what was seen either way.
func (s *simNet) waitSeen(want []string, within time.Duration) (map[string]time.Time, error) {
	var seen map[string]time.Time
	err := poll(within, func() (bool, error) {
		sends, err := s.sends()
		if err != nil {
			return false, err
		}
		seen = firstSeen(sends)
		for _, n := range want {
			if _, ok := seen[numberKey(n)]; !ok {
				return false, nil
			}
		}
		return true, nil
	})
	return seen, err
}
