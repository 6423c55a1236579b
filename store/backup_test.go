package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// A backup taken while a writer commits holds every message committed
// before it began, and passes integrity_check.
func TestBackup_WhileWriting(t *testing.T) {
	s := mustOpen(t)
	ctx, cancel := context.WithCancel(t.Context())
	var (
		mu        sync.Mutex
		committed []string
		wg        sync.WaitGroup
	)
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			m := newMessage(msgID(i), 0)
			if _, _, err := s.CreateMessage(ctx, m, gateway.IdempotencyKey{}); err != nil {
				return
			}
			mu.Lock()
			committed = append(committed, m.ID)
			mu.Unlock()
		}
	})
	waitCommitted := func(n int) {
		for {
			mu.Lock()
			got := len(committed)
			mu.Unlock()
			if got >= n {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitCommitted(50)
	mu.Lock()
	before := append([]string(nil), committed...)
	mu.Unlock()
	dst := filepath.Join(t.TempDir(), "copy", "simgate.db")
	err := s.Backup(t.Context(), dst)
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	info, err := CheckBackup(t.Context(), dst)
	if err != nil {
		t.Fatalf("CheckBackup: %v", err)
	}
	if names := knownVersions(); info.Version != names[len(names)-1] || info.Pending != 0 {
		t.Errorf("CheckBackup = %+v, want version %s, nothing pending", info, names[len(names)-1])
	}
	if st, err := os.Stat(dst); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v, mode %v; want 0600", err, st.Mode())
	}
	c := mustOpenPath(t, dst)
	for _, id := range before {
		mustMessage(t, c, id)
	}
	if err := s.Backup(t.Context(), dst); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("Backup over an existing file: %v, want a refusal", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".simgate-backup-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// BackupFile copies a database another Store holds open, and refuses a
// missing one instead of creating it.
func TestBackupFile(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenPath(t, filepath.Join(dir, "simgate.db"))
	mustCreate(t, s, newMessage("msg_one", 0))
	dst := filepath.Join(dir, "b.db")
	if err := BackupFile(t.Context(), filepath.Join(dir, "simgate.db"), dst); err != nil {
		t.Fatalf("BackupFile: %v", err)
	}
	mustMessage(t, mustOpenPath(t, dst), "msg_one")
	if err := BackupFile(t.Context(), filepath.Join(dir, "none.db"), filepath.Join(dir, "c.db")); err == nil {
		t.Error("BackupFile of a missing database succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("BackupFile created the missing source: %v", err)
	}
}

func TestCheckBackup_Refuses(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckBackup(t.Context(), garbage); err == nil {
		t.Error("CheckBackup accepted a file that is not a database")
	}
	other := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := CheckBackup(t.Context(), other); err == nil || !strings.Contains(err.Error(), "not a simgate database") {
		t.Errorf("CheckBackup of a foreign database: %v", err)
	}
	newer := filepath.Join(dir, "newer.db")
	s := mustOpenPath(t, newer)
	if _, err := s.w.Exec(`INSERT INTO schema_migrations (version) VALUES ('9999_future')`); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckBackup(t.Context(), newer); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("CheckBackup of a newer database: %v, want ErrSchemaTooNew", err)
	}
}

// A database migrated by a newer simgate is refused, naming both versions.
func TestOpen_RefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO schema_migrations (version) VALUES ('9999_future')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(t.Context(), path, nil)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open: %v, want ErrSchemaTooNew", err)
	}
	names := knownVersions()
	for _, want := range []string{"9999_future", names[len(names)-1]} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// Open copies a database with data before it applies pending migrations,
// and a fresh or current one not at all.
func TestOpen_BackupBeforeMigrate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "simgate.db")
	names := knownVersions()
	last := names[len(names)-1]
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version TEXT PRIMARY KEY) STRICT`); err != nil {
		t.Fatal(err)
	}
	for _, v := range names[:len(names)-1] { // the database of the previous release
		body, err := migrations.ReadFile("migrations/" + v + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("apply %s: %v", v, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations (version) VALUES (?)`, v); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := mustOpenPath(t, path)
	mustCreate(t, s, newMessage("msg_after", 0))
	copies, _ := filepath.Glob(filepath.Join(dir, "backups", PreMigratePrefix+"*.db"))
	if len(copies) != 1 || !strings.Contains(filepath.Base(copies[0]), names[len(names)-2]) {
		t.Fatalf("copies before migrating: %v, want one named after %s", copies, names[len(names)-2])
	}
	info, err := CheckBackup(t.Context(), copies[0])
	if err != nil || info.Version != names[len(names)-2] || info.Pending != 1 {
		t.Errorf("the copy: %+v, %v; want version %s with %s pending", info, err, names[len(names)-2], last)
	}

	fresh := filepath.Join(t.TempDir(), "simgate.db")
	mustOpenPath(t, fresh)
	mustOpenPath(t, fresh) // current: nothing to migrate
	if _, err := os.Stat(filepath.Join(filepath.Dir(fresh), "backups")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a fresh or current database was copied: %v", err)
	}
}

// BenchmarkBackup copies a database of 100,000 messages (the queue full,
// so QueueCounts has its worst case too).
func BenchmarkBackup(b *testing.B) {
	s := mustOpen(b)
	mustFill(b, s, 0, 100_000, "")
	dir := b.TempDir()
	b.Run("backup", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := s.Backup(b.Context(), filepath.Join(dir, fmt.Sprintf("b%d.db", i))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("queue_counts", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.QueueCounts(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
