package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/store"
)

// TestE2E_BackupRestoreWhileSending: "simgate backup" beside a serving
// gateway that keeps accepting messages holds every message accepted
// before the backup began and passes integrity_check; "simgate restore"
// refuses while the gateway runs, and once it is stopped puts the copy in
// place, keeping the database it replaced.
func TestE2E_BackupRestoreWhileSending(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	netw := startNetwork(t, 2)
	data := t.TempDir()
	g := startGateway(t, data, freePort(t), "", netw.ports)

	var (
		mu       sync.Mutex
		accepted []string
	)
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { // no t.Fatal here: not the test's goroutine
		body := `{"to":"` + netw.numbers[1] + `","text":"backup traffic","modem":"` + netw.imeis[0] + `"}`
		for ctx.Err() == nil {
			id, err := postMessage(g, body)
			if err != nil {
				t.Errorf("POST message: %v", err)
				return
			}
			mu.Lock()
			accepted = append(accepted, id)
			mu.Unlock()
		}
	})
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(accepted) }
	waitFor(t, 30*time.Second, "20 messages accepted", func() bool { return count() >= 20 })
	mu.Lock()
	before := append([]string(nil), accepted...)
	mu.Unlock()

	file := filepath.Join(t.TempDir(), "nightly", "copy.db")
	out, err := exec.Command(simgateBin(t), "backup", "--data", data, "--to", file).CombinedOutput()
	if err != nil {
		t.Fatalf("simgate backup: %v\n%s", err, out)
	}
	n := count()
	waitFor(t, 30*time.Second, "10 more messages accepted after the backup", func() bool { return count() >= n+10 })
	stop()
	wg.Wait()
	after := accepted[len(accepted)-1]

	if _, err := store.CheckBackup(t.Context(), file); err != nil {
		t.Fatalf("the backup does not check: %v", err)
	}
	inCopy := messageIDs(t, file)
	for _, id := range before {
		if !inCopy[id] {
			t.Errorf("message %s, accepted before the backup began, is not in it", id)
		}
	}

	out, err = exec.Command(simgateBin(t), "restore", "--data", data, file).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "stop it first") {
		t.Fatalf("restore while serving: %v\n%s; want a refusal", err, out)
	}
	g.stop(t)
	out, err = exec.Command(simgateBin(t), "restore", "--data", data, file).CombinedOutput()
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	aside, _ := filepath.Glob(filepath.Join(data, dbFile+".before-restore-*"))
	if len(aside) != 1 || !strings.Contains(string(out), aside[0]) {
		t.Fatalf("kept aside: %v; restore said:\n%s", aside, out)
	}
	if !messageIDs(t, aside[0])[after] {
		t.Errorf("the database kept aside lacks %s, accepted last", after)
	}

	g = startGateway(t, data, freePort(t), g.key, netw.ports)
	for _, id := range before {
		if s := g.get(t, "/api/v1/messages/"+id, nil); s != http.StatusOK {
			t.Errorf("after restore GET %s = %d, want 200", id, s)
		}
	}
	if s := g.get(t, "/api/v1/messages/"+after, nil); s != http.StatusNotFound {
		t.Errorf("after restore GET %s (accepted after the backup) = %d, want 404", after, s)
	}
}

// postMessage sends body to the gateway and returns the ID it accepted.
func postMessage(g *gatewayProc, body string) (string, error) {
	req, err := http.NewRequest(http.MethodPost, g.url+"/api/v1/messages", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+g.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var sent apiv1.SendResponse
	if err := json.NewDecoder(resp.Body).Decode(&sent); err != nil || resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("%s: %v", resp.Status, err)
	}
	return sent.ID, nil
}

// messageIDs reads the message IDs of a database file.
func messageIDs(t *testing.T, path string) map[string]bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id FROM messages`)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[id] = true
	}
	return ids
}

// restore checks the file before it touches anything.
func TestRestore_RefusesBadFile(t *testing.T) {
	data := t.TempDir()
	db, err := store.Open(t.Context(), filepath.Join(data, dbFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	orig, err := os.ReadFile(filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.db")
	if err := os.WriteFile(bad, append([]byte("SQLite format 3\x00"), make([]byte, 4096)...), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = runCmd(t, t.Context(), "", "simgate", "restore", "--data", data, bad)
	if err == nil {
		t.Fatal("restore of a damaged file succeeded")
	}
	now, err := os.ReadFile(filepath.Join(data, dbFile))
	if err != nil || string(now) != string(orig) {
		t.Errorf("the database changed after a refused restore (%v)", err)
	}
	if aside, _ := filepath.Glob(filepath.Join(data, dbFile+".before-*")); len(aside) != 0 {
		t.Errorf("a refused restore moved the database aside: %v", aside)
	}
}

func TestBackupConfig_Next(t *testing.T) {
	loc := time.FixedZone("X", 2*3600)
	at := func(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, loc) }
	tests := []struct {
		cfg  backupConfig
		now  time.Time
		want time.Time
	}{
		{backupConfig{At: "03:00"}, at(1, 0), at(3, 0)},
		{backupConfig{At: "03:00"}, at(3, 0), at(27, 0)},
		{backupConfig{At: "03:00"}, at(23, 59), at(27, 0)},
		{backupConfig{At: "03:00", Interval: 6 * time.Hour}, at(1, 0), at(7, 0)},
	}
	for _, tt := range tests {
		if got := tt.cfg.next(tt.now); !got.Equal(tt.want) {
			t.Errorf("%+v.next(%v) = %v, want %v", tt.cfg, tt.now, got, tt.want)
		}
	}
	for _, bad := range []backupConfig{{At: "3am", Keep: 7}, {Interval: time.Second, Keep: 7}, {At: "03:00", Keep: -1}} {
		if err := bad.validate(); err == nil {
			t.Errorf("%+v validates", bad)
		}
	}
}

// The scheduled copy is written and only the newest Keep remain, beside
// the newest copies taken before migrations and anything else in the dir.
func TestBackupScheduler_OnceKeepsN(t *testing.T) {
	data := t.TempDir()
	db, err := store.Open(t.Context(), filepath.Join(data, dbFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := filepath.Join(data, "backups")
	b := &backupScheduler{cfg: backupConfig{Keep: 2}, dir: dir, db: db}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	others := []string{"notes.txt", store.PreMigratePrefix + "0001_init-20250101T000000Z.db"}
	for _, name := range others {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)
	var paths []string
	for day := range 4 {
		p, err := b.once(t.Context(), t0.AddDate(0, 0, day))
		if err != nil {
			t.Fatalf("once: %v", err)
		}
		paths = append(paths, p)
	}
	entries, _ := os.ReadDir(dir)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{filepath.Base(paths[2]), filepath.Base(paths[3]), others[0], others[1]}
	slices.Sort(want) // ReadDir sorts by name
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("backups dir holds %v, want %v", got, want)
	}
	if _, err := store.CheckBackup(t.Context(), paths[3]); err != nil {
		t.Errorf("scheduled copy: %v", err)
	}
}

// configs/simgate.yaml documents the backup: section.
func TestConfig_ExampleBackup(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "configs", "simgate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nbackup:") {
		t.Error("configs/simgate.yaml does not document backup:")
	}
	for _, key := range []string{"dir", "at", "interval", "keep"} {
		if !strings.Contains(string(b), "\n  "+key+":") {
			t.Errorf("configs/simgate.yaml does not document backup.%s", key)
		}
	}
}
