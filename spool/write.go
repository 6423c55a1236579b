package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/simgate/simgate/gateway"
)

// stamp is smstools' time format in its files: yy-mm-dd hh:mm:ss, local.
func stamp(t time.Time) string { return t.Local().Format("06-01-02 15:04:05") }

// sentLines are what smstools adds to a file it sent; Message_id is the
// TP-MR, one line per part, and Simgate_id the gateway's ID.
func sentLines(m *gateway.Message) []string {
	modem := m.Modem
	for _, p := range m.Parts {
		if modem == "" {
			modem = p.Modem
		}
	}
	lines := []string{"Modem: " + modem, "Sent: " + stamp(m.SentAt)}
	for _, p := range m.Parts {
		if p.HasMR {
			lines = append(lines, "Message_id: "+strconv.Itoa(p.MR))
		}
	}
	return append(lines, "Simgate_id: "+m.ID)
}

// failedLines are what smstools adds to a file it could not send.
func failedLines(m *gateway.Message) []string {
	at := m.FinishedAt
	if at.IsZero() {
		at = m.CreatedAt
	}
	reason := m.Error
	if reason == "" {
		reason = "the message was " + string(m.Status)
	}
	lines := []string{"Failed: " + stamp(at), "Error: " + strings.ReplaceAll(reason, "\n", " ")}
	if m.Modem != "" {
		lines = append(lines, "Modem: "+m.Modem)
	}
	return append(lines, "Simgate_id: "+m.ID)
}

// writeIncoming writes a received SMS to incoming as smstools does, named
// after its modem and ID, so that writing it again (an event taken twice)
// changes nothing.
func (s *Spool) writeIncoming(ctx context.Context, id string) error {
	m, err := s.store.InboundMessageByID(ctx, id)
	if errors.Is(err, gateway.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return put(s.cfg.Incoming, m.Modem+"."+m.ID, IncomingFile(m))
}

// IncomingFile is a received SMS in smstools' format: the number without
// its "+", UTF-8 text (Alphabet: UTF-8, as with smstools' incoming_utf8);
// a data SMS's bytes as they came (Alphabet: binary, its ports in Port: and
// Source_port:). A PDU that did not decode is written as its hex, with the
// reason.
func IncomingFile(m *gateway.InboundMessage) []byte {
	var b bytes.Buffer
	from := strings.TrimPrefix(m.From, "+")
	fmt.Fprintf(&b, "From: %s\n", from)
	if strings.HasPrefix(m.From, "+") {
		b.WriteString("From_TOA: 91 international, ISDN/telephone\n")
	}
	if !m.SCTS.IsZero() {
		fmt.Fprintf(&b, "Sent: %s\n", stamp(m.SCTS))
	}
	fmt.Fprintf(&b, "Received: %s\nSubject: %s\nModem: %s\n", stamp(m.ReceivedAt), m.Modem, m.Modem)
	text, length := m.Text, utf8.RuneCountInString(m.Text)
	switch {
	case m.Undecodable():
		text, length = m.RawPDU, len(m.RawPDU)
		fmt.Fprintf(&b, "Error: the PDU did not decode: %s\nAlphabet: binary\n", strings.ReplaceAll(m.DecodeError, "\n", " "))
	case m.Data != nil:
		text, length = string(m.Data), len(m.Data)
		b.WriteString("Alphabet: binary\n")
	default:
		b.WriteString("Alphabet: UTF-8\n")
	}
	if m.Flash {
		b.WriteString("Flash: yes\n")
	}
	if m.Ports != nil {
		fmt.Fprintf(&b, "Port: %d\nSource_port: %d\n", m.Ports.Dest, m.Ports.Source)
	}
	if m.Missing > 0 {
		fmt.Fprintf(&b, "Missing_parts: %d\n", m.Missing)
	}
	fmt.Fprintf(&b, "Length: %d\nSimgate_id: %s\n\n%s", length, m.ID, text)
	return b.Bytes()
}

// put writes b to dir/name whole or not at all (a temporary name starting
// with a dot, synced, then renamed), leaving a different file already
// there alone: b then goes under name.N. The same content already there
// is not written again.
func put(dir, name string, b []byte) error {
	dst := filepath.Join(dir, name)
	for n := 1; ; n++ {
		old, err := os.ReadFile(dst)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err == nil && bytes.Equal(old, b) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		dst = filepath.Join(dir, name+"."+strconv.Itoa(n))
	}
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o660)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool: write %s: %w", dst, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
