package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
)

// gammuPeer is one gammu-smsd (files service) per modem. Messages are
// handed over with gammu-smsd-inject, round robin over the daemons (a
// gammu-smsd user picks the phone); a tuned OTP is dropped into the outbox
// as an OUTA file, which the files service sends before OUTC ones.
type gammuPeer struct {
	procs []*proc
	cfgs  []string
	dirs  []string
	tuned bool
	next  atomic.Uint64
}

func (g *gammuPeer) start(r rig) error {
	g.tuned = r.tuned
	for i, port := range r.ports {
		dir := filepath.Join(r.dir, "gammu"+strconv.Itoa(i+1))
		if err := mkdirs(dir, "inbox", "outbox", "sent", "error"); err != nil {
			return err
		}
		cfg := filepath.Join(dir, "smsdrc")
		if err := writeConfig("gammu-smsdrc", cfg, map[string]any{"Port": port, "Dir": dir, "Tuned": r.tuned}); err != nil {
			return err
		}
		p, err := startProc(r.dir, "gammu-smsd"+strconv.Itoa(i+1), "gammu-smsd", "-c", cfg)
		if err != nil {
			return err
		}
		g.procs, g.cfgs, g.dirs = append(g.procs, p), append(g.cfgs, cfg), append(g.dirs, dir)
	}
	return nil
}

func (g *gammuPeer) submit(m message) error {
	i := int(g.next.Add(1)-1) % len(g.cfgs)
	if m.otp && g.tuned {
		return g.spool(i, m)
	}
	out, err := exec.Command("gammu-smsd-inject", "-c", g.cfgs[i], "TEXT", m.to, "-text", m.text).CombinedOutput()
	if err != nil {
		return fmt.Errorf("gammu-smsd-inject: %w: %s", err, out)
	}
	return nil
}

// spool writes m as a text outbox file of priority A, renamed into place
// so that the daemon never reads half of it.
func (g *gammuPeer) spool(i int, m message) error {
	name := fmt.Sprintf("OUTA%s_00_%s_sms0.txt", time.Now().Format("20060102_150405"), m.to)
	tmp := filepath.Join(g.dirs[i], name)
	if err := os.WriteFile(tmp, []byte(m.text), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(g.dirs[i], "outbox", name))
}

func (g *gammuPeer) stop() {
	for _, p := range g.procs {
		p.stop()
	}
}
