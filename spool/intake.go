package spool

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/simgate/simgate/gateway"
)

// intake queues every whole file in outgoing. A file that cannot be
// queued for a reason of its own goes to failed with that reason; one that
// cannot be queued for the gateway's (a full disk) stays for the next scan.
func (s *Spool) intake(ctx context.Context) {
	entries, err := os.ReadDir(s.cfg.Outgoing)
	if err != nil {
		s.log.Warn("spool: cannot read outgoing", "err", err)
		return
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			return
		}
		name := e.Name()
		// smstools' conventions for a file still being written: a name
		// starting with a dot, a NAME.LOCK beside it, or a change in the
		// last second.
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".LOCK") || names[name+".LOCK"] {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || s.clock.Now().Sub(info.ModTime()) < s.cfg.Settle {
			continue
		}
		if err := s.queue(ctx, name, info); err != nil && ctx.Err() == nil {
			s.log.Warn("spool: cannot queue a file; it stays in outgoing", "file", name, "err", err)
		}
	}
}

// queue queues one file and moves it to checked, or to failed when it is
// not a message the gateway can send.
func (s *Spool) queue(ctx context.Context, name string, info fs.FileInfo) error {
	path := filepath.Join(s.cfg.Outgoing, name)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	o, err := ParseOutgoing(b)
	if err != nil {
		return s.reject(path, name, b, err)
	}
	key := fileKey(name, info, b)
	m, replayed, err := s.send.Send(ctx, gateway.SendRequest{To: o.To, Text: o.Text, Data: o.Data, UDH: o.UDH, Flash: o.Flash,
		Priority: o.Priority, StatusReport: o.Report, TTL: o.Validity, APIKey: APIKey, IdempotencyKey: key, BodyHash: key})
	if errors.Is(err, gateway.ErrInvalid) || errors.Is(err, gateway.ErrIdempotencyReused) {
		return s.reject(path, name, b, err)
	}
	if err != nil {
		return err
	}
	checked := m.ID + "." + name
	if err := moveFile(path, filepath.Join(s.cfg.Checked, checked)); err != nil {
		return err
	}
	s.pending[m.ID] = checked
	s.log.Info("spool file queued", "file", name, "message_id", m.ID, "to", gateway.MaskNumber(m.To), "again", replayed)
	if replayed { // queued before a crash: it may have ended already
		return s.finish(ctx, m.ID)
	}
	return nil
}

// reject moves a file to failed with the reason it was not queued.
func (s *Spool) reject(path, name string, b []byte, reason error) error {
	msg := strings.ReplaceAll(reason.Error(), "\n", " ")
	if err := put(s.cfg.Failed, name, withHeaders(b, []string{"Failed: " + stamp(s.clock.Now()), "Error: " + msg})); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.log.Warn("spool file refused", "file", name, "reason", msg)
	return nil
}

// fileKey is the idempotency key of a file as it lies in outgoing: the
// same after a crash (a rename keeps the inode and the time), another for
// a file written again under the same name.
func fileKey(name string, info fs.FileInfo, b []byte) string {
	h := sha256.New()
	h.Write([]byte(name + "\x00" + strconv.FormatInt(info.Size(), 10) + "\x00" + strconv.FormatInt(info.ModTime().UnixNano(), 10) + "\x00"))
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		h.Write([]byte(strconv.FormatUint(st.Ino, 10) + "\x00"))
	}
	h.Write(b)
	return "spool:" + hex.EncodeToString(h.Sum(nil))
}

// moveFile renames src to dst, copying across filesystems.
func moveFile(src, dst string) error {
	err := os.Rename(src, dst)
	if !errors.Is(err, syscall.EXDEV) {
		return err
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := put(filepath.Dir(dst), filepath.Base(dst), b); err != nil {
		return err
	}
	return os.Remove(src)
}
