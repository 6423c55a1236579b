package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// spoolHook is a hook program: it writes the event it got on stdin, and
// SIMGATE_EVENT from its environment, to a file in the directory $1.
const spoolHook = `#!/bin/sh
cat > "$1/.$SIMGATE_EVENT_ID"
mv "$1/.$SIMGATE_EVENT_ID" "$1/$SIMGATE_EVENT-$SIMGATE_EVENT_ID.json"
`

// dropFile writes an SMS file into dir the way smstools asks: under a
// hidden name first, then renamed.
func dropFile(t *testing.T, dir, name, content string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name)
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// readDirFiles returns the contents of the files in dir, by name.
func readDirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil {
			out[e.Name()] = string(b)
		}
	}
	return out
}

// TestE2E_SpoolAndHooks: an SMS file dropped in outgoing is sent by a
// virtual modem and moved to sent with smstools' lines added, and so are a
// flash and a binary one; a file that is not an SMS file goes to failed
// with the reason; the
// SMS, received by the other virtual modem, is written to incoming; hook
// programs see the sent, report and received events as JSON.
func TestE2E_SpoolAndHooks(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	netw := startNetwork(t, 2)
	dir := t.TempDir()
	spoolDir, hookOut := filepath.Join(dir, "spool"), filepath.Join(dir, "hooks")
	if err := os.MkdirAll(hookOut, 0o755); err != nil {
		t.Fatal(err)
	}
	hook := filepath.Join(dir, "hook.sh")
	if err := os.WriteFile(hook, []byte(spoolHook), 0o755); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "simgate.yaml")
	cfg := "spool:\n  dir: " + spoolDir + "\n  poll: 100ms\n  settle: 100ms\nhooks:\n" +
		"  received: [" + hook + ", " + hookOut + "]\n  sent: [" + hook + ", " + hookOut + "]\n  report: [" + hook + ", " + hookOut + "]\n"
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// Modem 1 alone is the gateway's; modem 2 is a phone on the network.
	g := startGateway(t, filepath.Join(dir, "data"), freePort(t), "", netw.ports[:1], "--config", cfgFile)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", tail(g.stderr.String(), 6000))
		}
	})
	outgoing := filepath.Join(spoolDir, "outgoing")
	waitFor(t, 10*time.Second, "the spool directories", func() bool { _, err := os.Stat(outgoing); return err == nil })
	const text = "Hello from the spool, ünïcode too"
	file := "To: " + strings.TrimPrefix(netw.numbers[1], "+") + "\nReport: yes\nX-Custom: kept\n\n" + text + "\n"
	dropFile(t, outgoing, "msg1", file)
	dropFile(t, outgoing, "bad1", "just some text, no headers\n")
	dropFile(t, outgoing, "flash1", "To: "+strings.TrimPrefix(netw.numbers[1], "+")+"\nFlash: yes\n\nflash!\n")
	dropFile(t, outgoing, "bin1", "To: "+strings.TrimPrefix(netw.numbers[1], "+")+"\nAlphabet: binary\nUDH: no\nHex: yes\n\nCAFE 00 01\n")

	var sent string
	waitFor(t, 30*time.Second, "msg1 in sent", func() bool { sent = readDirFiles(t, filepath.Join(spoolDir, "sent"))["msg1"]; return sent != "" })
	head, body, _ := strings.Cut(sent, "\n\n")
	if body != text+"\n" {
		t.Errorf("sent file's text = %q, want the original %q", body, text+"\n")
	}
	for _, want := range []string{"To: " + strings.TrimPrefix(netw.numbers[1], "+"), "X-Custom: kept", "Modem: " + netw.imeis[0],
		"Sent: ", "Message_id: ", "Simgate_id: msg_"} {
		if !strings.Contains(head, want) {
			t.Errorf("sent file's headers lack %q:\n%s", want, head)
		}
	}
	var failed string
	waitFor(t, 10*time.Second, "bad1 in failed", func() bool {
		failed = readDirFiles(t, filepath.Join(spoolDir, "failed"))["bad1"]
		return failed != ""
	})
	if !strings.Contains(failed, "Error: no empty line") || !strings.Contains(failed, "Failed: ") {
		t.Errorf("bad1 in failed:\n%s", failed)
	}
	waitFor(t, 30*time.Second, "flash1 and bin1 in sent", func() bool {
		s := readDirFiles(t, filepath.Join(spoolDir, "sent"))
		return s["flash1"] != "" && s["bin1"] != ""
	})
	// A file shows in sent a moment before its copy in checked is removed.
	for _, d := range []string{"outgoing", "checked"} {
		waitFor(t, 10*time.Second, d+" empty", func() bool { return len(readDirFiles(t, filepath.Join(spoolDir, d))) == 0 })
	}
	var records, flash, data int
	for _, r := range netw.records(t) {
		switch {
		case r.Text == text:
			records++
		case r.Text == "flash!" && r.Flash:
			flash++
		case string(r.Data) == "\xca\xfe\x00\x01":
			data++
		}
	}
	if records != 1 || flash != 1 || data != 1 {
		t.Errorf("the network saw the spool's SMS %d times, the flash one %d, the binary one %d; want each once", records, flash, data)
	}
	waitFor(t, 30*time.Second, "the sent and report hooks", func() bool {
		var kinds []string
		for name := range readDirFiles(t, hookOut) {
			kinds = append(kinds, strings.SplitN(name, "-", 2)[0])
		}
		s := strings.Join(kinds, ",")
		return strings.Contains(s, "sent") && strings.Contains(s, "report")
	})
	checkSpoolInbound(t, netw, spoolDir, hookOut)
}

// checkSpoolInbound: an SMS to the gateway's modem is written to incoming and
// runs the received hook.
func checkSpoolInbound(t *testing.T, netw *virtualNetwork, spoolDir, hookOut string) {
	t.Helper()
	const text = "Reply to the spool"
	const from = "+14155550123"
	netw.control(t, "deliver "+from+" "+netw.numbers[0]+" "+text)
	var file string
	waitFor(t, 30*time.Second, "the SMS in incoming", func() bool {
		for _, c := range readDirFiles(t, filepath.Join(spoolDir, "incoming")) {
			if strings.HasSuffix(c, "\n\n"+text) {
				file = c
				return true
			}
		}
		return false
	})
	for _, want := range []string{"From: " + strings.TrimPrefix(from, "+"), "Modem: " + netw.imeis[0], "Alphabet: UTF-8", "Received: "} {
		if !strings.Contains(file, want) {
			t.Errorf("incoming file lacks %q:\n%s", want, file)
		}
	}
	waitFor(t, 30*time.Second, "the received hook", func() bool {
		for name, c := range readDirFiles(t, hookOut) {
			var p struct {
				Event string `json:"event"`
				Data  struct {
					From string `json:"from"`
				} `json:"data"`
			}
			if strings.HasPrefix(name, "received-") && json.Unmarshal([]byte(c), &p) == nil && p.Data.From == from {
				return true
			}
		}
		return false
	})
}
