package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
)

// smstoolsPeer is smsd with every modem on one outgoing spool; a message
// is a file renamed into it. A tuned OTP carries "Priority: high".
type smstoolsPeer struct {
	p     *proc
	dir   string
	tuned bool
	n     atomic.Uint64
}

func (s *smstoolsPeer) start(r rig) error {
	s.dir, s.tuned = filepath.Join(r.dir, "smstools"), r.tuned
	if err := mkdirs(s.dir, "outgoing", "checked", "failed", "sent", "incoming", "tmp"); err != nil {
		return err
	}
	cfg := filepath.Join(s.dir, "smsd.conf")
	if err := writeConfig("smsd.conf", cfg, map[string]any{"Ports": r.ports, "Dir": s.dir, "Tuned": r.tuned}); err != nil {
		return err
	}
	var err error
	s.p, err = startProc(r.dir, "smsd", "smsd", "-t", "-c"+cfg)
	return err
}

func (s *smstoolsPeer) submit(m message) error {
	head := "To: " + numberKey(m.to) + "\n"
	if m.otp && s.tuned {
		head += "Priority: high\n"
	}
	name := fmt.Sprintf("bench%06d", s.n.Add(1))
	tmp := filepath.Join(s.dir, "tmp", name)
	if err := os.WriteFile(tmp, []byte(head+"\n"+m.text+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.dir, "outgoing", name))
}

func (s *smstoolsPeer) stop() { s.p.stop() }
