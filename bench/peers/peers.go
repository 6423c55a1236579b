package main

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// message is one SMS handed to a peer: an OTP (the urgent kind) or bulk.
type message struct {
	to, text string
	otp      bool
}

// rig is what a peer runs against: its own directory, the virtual modems'
// ports, and whether to use its tuned settings.
type rig struct {
	dir     string
	ports   []string
	tuned   bool
	simgate string // the simgate binary
}

// peer is an SMS gateway under test.
type peer interface {
	// start runs the gateway on the rig's modems; it may return before
	// the gateway has opened them (the bench's warm-up message waits).
	start(r rig) error
	// submit hands m over the gateway's own way; it returns once the
	// gateway has taken it.
	submit(m message) error
	stop()
}

// peerKind names a peer and what its tuned settings are.
type peerKind struct {
	name  string
	tuned string // what "tuned" changes, for the report
	new   func() peer
}

var peerKinds = []peerKind{
	{"simgate", "durability: normal (no fsync per commit)", func() peer { return &simgatePeer{} }},
	{"gammu-smsd", "CommTimeout 1, StatusFrequency 0, Check* 0, Receive 0; OTP as an OUTA (first) outbox file", func() peer { return &gammuPeer{} }},
	{"smstools", "delaytime 1, delaytime_mainprocess 1, trust_outgoing, check_network 0; OTP with Priority: high", func() peer { return &smstoolsPeer{} }},
	{"kannel", "log-level 3 (not debug); OTP with priority=3", func() peer { return &kannelPeer{} }},
}

//go:embed configs/*.tmpl
var configs embed.FS

// writeConfig renders configs/name.tmpl with data into path.
func writeConfig(name, path string, data any) error {
	funcs := template.FuncMap{"inc": func(i int) int { return i + 1 }}
	t, err := template.New(name+".tmpl").Funcs(funcs).ParseFS(configs, "configs/"+name+".tmpl")
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := t.Execute(f, data); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	return f.Close()
}

// mkdirs makes each of names under dir.
func mkdirs(dir string, names ...string) error {
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			return err
		}
	}
	return nil
}
