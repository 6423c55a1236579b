package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// needGammu returns gammu's path; without it the test is skipped, except in
// CI, where .ci/run installs it and its absence is a failure.
func needGammu(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("gammu")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("gammu is not installed; .ci/run should have installed it")
		}
		t.Skip("gammu is not installed (apt-get install gammu)")
	}
	return p
}

// gammu runs gammu on device with args and returns its combined output.
func gammu(t *testing.T, bin, device string, args ...string) string {
	t.Helper()
	rc := filepath.Join(t.TempDir(), "gammurc")
	if err := os.WriteFile(rc, []byte("[gammu]\ndevice = "+device+"\nconnection = at\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append([]string{"-c", rc}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("gammu %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestSim_Gammu is the interoperability check of issue 2: an established SMS
// tool identifies a "simgate sim" modem and sends through it. The send log
// has each PDU gammu handed over, timed by the modem.
func TestSim_Gammu(t *testing.T) {
	bin := needGammu(t)
	sendLog := filepath.Join(t.TempDir(), "sends.jsonl")
	paths, stderr := startSim(t, 2, "--send-log", sendLog, "--latency", "10ms")
	if len(paths) != 2 || !strings.HasPrefix(paths[0], "/dev/") {
		t.Fatalf("sim printed %q, want two device paths", paths)
	}
	number2 := regexp.MustCompile(`virtual modem 2: \S+\s+number (\+\d+)`)
	var to string
	waitFor(t, 5*time.Second, "the second modem's number on stderr", func() bool {
		m := number2.FindStringSubmatch(stderr.String())
		if m != nil {
			to = m[1]
		}
		return m != nil
	})

	id := gammu(t, bin, paths[0], "identify")
	for _, want := range []string{"IMEI", "Manufacturer"} {
		if !strings.Contains(id, want) {
			t.Errorf("gammu identify output lacks %q:\n%s", want, id)
		}
	}
	gammu(t, bin, paths[0], "sendsms", "TEXT", to, "-text", "hello from gammu")
	long := strings.Repeat("simgate speaks PDU. ", 12) // 240 characters: two parts
	gammu(t, bin, paths[0], "sendsms", "TEXT", to, "-len", "240", "-text", long)
	waitFor(t, 10*time.Second, "the virtual network to report both messages", func() bool {
		s := stderr.String()
		return strings.Contains(s, `"hello from gammu"`) && strings.Contains(s, "part 2/2")
	})
	checkSendLog(t, sendLog, to, []string{"hello from gammu", long[:153], long[153:]})
}

// checkSendLog wants the --send-log file to list texts, each sent by modem
// 1 to to, in order, with its AT+CMGS seen before its PDU.
func checkSendLog(t *testing.T, path, to string, texts []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("send log has %d lines, want %d:\n%s", len(lines), len(texts), b)
	}
	for i, l := range lines {
		var s struct {
			Modem          int
			To, Text, IMEI string
			CMGSAt         time.Time `json:"cmgs_at"`
			PDUAt          time.Time `json:"pdu_at"`
		}
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatalf("send log line %q: %v", l, err)
		}
		if s.Modem != 1 || s.IMEI == "" || s.To != to || s.Text != texts[i] || s.CMGSAt.IsZero() || s.PDUAt.Before(s.CMGSAt) {
			t.Errorf("send log line %d: %+v, want modem 1 to %s %q, AT+CMGS then PDU", i+1, s, to, texts[i])
		}
	}
}

func TestProbe_VirtualModem(t *testing.T) {
	paths, _ := startSim(t, 1)
	stdout, stderr, err := runCmd(t, t.Context(), "", "probe", paths[0], "--json")
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, stderr)
	}
	var got probeJSON
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("probe output is not JSON: %v\n%s", err, stdout)
	}
	if len(got.IMEI) != 15 || got.IMSI == "" || got.ICCID == "" || got.Manufacturer == "" || got.Model == "" {
		t.Errorf("identity incomplete: %+v", got)
	}
	if got.Registration != "registered" || got.Operator == "" {
		t.Errorf("network = %q / %q, want registered with an operator", got.Registration, got.Operator)
	}
	if got.Signal.DBM == nil || got.Signal.Bars < 1 || got.Signal.Bars > 4 {
		t.Errorf("signal = %+v, want a known dBm and 1–4 bars", got.Signal)
	}
	if len(got.Errors) != 0 {
		t.Errorf("probe reported errors: %+v", got.Errors)
	}

	human, _, err := runCmd(t, t.Context(), "", "probe", paths[0])
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	if !strings.Contains(human, got.IMEI) || !strings.Contains(human, "dBm") {
		t.Errorf("human output lacks the IMEI or the signal:\n%s", human)
	}
}

func TestAT_Console(t *testing.T) {
	paths, _ := startSim(t, 2)
	script := "AT+CGSN\nAT+CSQ\nAT+NOSUCHTHING\nquit\n"
	stdout, stderr, err := runCmd(t, t.Context(), script, "at", paths[0])
	if err != nil {
		t.Fatalf("at: %v\n%s", err, stderr)
	}
	for _, want := range []string{"+CSQ:", "OK", "ERROR"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("console output lacks %q:\n%s", want, stdout)
		}
	}
	if !regexp.MustCompile(`(?m)^\d{15}$`).MatchString(stdout) {
		t.Errorf("console output lacks the IMEI line:\n%s", stdout)
	}
}
