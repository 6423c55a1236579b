package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// simgatePeer is "simgate serve", handed messages through its API: an OTP
// through POST /api/v1/otp (its high lane), bulk through
// POST /api/v1/messages.
type simgatePeer struct {
	p   *proc
	url string
	key string
}

func (g *simgatePeer) start(r rig) error {
	data := filepath.Join(r.dir, "data")
	out, err := exec.Command(r.simgate, "apikey", "create", "--data", data, "--name", "bench").Output()
	if err != nil {
		return fmt.Errorf("apikey create: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	g.key = lines[len(lines)-1]
	port, err := freePort()
	if err != nil {
		return err
	}
	g.url = "http://127.0.0.1:" + strconv.Itoa(port)
	cfg := filepath.Join(r.dir, "simgate.yaml")
	if err := writeConfig("simgate.yaml", cfg, map[string]any{"Port": port, "Data": data, "Ports": r.ports, "Tuned": r.tuned}); err != nil {
		return err
	}
	if g.p, err = startProc(r.dir, "simgate", r.simgate, "serve", "--config", cfg); err != nil {
		return err
	}
	return waitListen(g.p, port, 30*time.Second)
}

func (g *simgatePeer) submit(m message) error {
	path, body := "/api/v1/messages", map[string]string{"to": m.to, "text": m.text}
	if m.otp {
		path, body = "/api/v1/otp", map[string]string{"to": m.to}
	}
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", g.url+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+g.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("simgate %s: %s %s", path, resp.Status, answer)
	}
	return nil
}

func (g *simgatePeer) stop() { g.p.stop() }
