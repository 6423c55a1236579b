package powercut

import (
	"bufio"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	_ "modernc.org/sqlite"
)

// SQLite in WAL mode on the filesystem, in a process SIGKILLed mid-write
// and then cut: with synchronous=FULL every commit it reported survives and
// the database is intact; with synchronous=OFF (nothing synced until a
// checkpoint) the cut takes commits with it, so the filesystem does drop
// what SQLite did not sync.
func TestCut_SQLiteWAL(t *testing.T) {
	for _, tt := range []struct {
		sync     string
		wantLoss bool
	}{{"FULL", false}, {"NORMAL", true}} {
		t.Run(tt.sync, func(t *testing.T) {
			f, dir := mount(t)
			db := filepath.Join(dir, "t.db")
			committed := runWriter(t, db, tt.sync, 300)
			loss := powerCut(t, f, dir)
			conn, err := sql.Open("sqlite", "file:"+copyOut(t, db)+"?_pragma=busy_timeout(5000)")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var ok string
			if err := conn.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
				t.Fatalf("integrity_check: %q %v", ok, err)
			}
			var n int
			if err := conn.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
				n = 0 // the table itself may be lost with NORMAL
			}
			t.Logf("%s: %d commits reported, %d rows after the cut; cut lost %+v; syncs %+v", tt.sync, committed, n, loss, f.Stats())
			switch {
			case !tt.wantLoss && n < committed:
				t.Errorf("%d of %d reported commits lost", committed-n, committed)
			case tt.wantLoss && n >= committed:
				t.Errorf("no commit lost with synchronous=%s: the cut did not drop unsynced writes", tt.sync)
			}
		})
	}
}

// copyOut copies the database at db and its WAL out of the filesystem,
// with plain reads, and returns the copy's path. SQLite maps the -shm file
// into memory, and a process must not fault on a mapping of a FUSE
// filesystem it serves: the kernel waits for the answer holding the
// process's memory-map lock, which the Go runtime may need to give it.
// The -shm file is left out; SQLite rebuilds it from the WAL.
func copyOut(t *testing.T, db string) string {
	t.Helper()
	cp := filepath.Join(t.TempDir(), filepath.Base(db))
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(db + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cp+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return cp
}

// runWriter runs this test binary as a writer on db that reports each
// commit on stdout, and SIGKILLs it after n commits.
func runWriter(t *testing.T, db, sync string, n int) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteWriterProcess$")
	cmd.Env = append(os.Environ(), "POWERCUT_WRITER_DB="+db, "POWERCUT_WRITER_SYNC="+sync)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed := 0
	sc := bufio.NewScanner(out)
	for committed < n && sc.Scan() {
		if _, err := strconv.Atoi(sc.Text()); err == nil {
			committed++
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if committed < n {
		t.Fatalf("the writer stopped after %d commits", committed)
	}
	return committed
}

// TestSQLiteWriterProcess is the writer of runWriter, not a test.
func TestSQLiteWriterProcess(t *testing.T) {
	db := os.Getenv("POWERCUT_WRITER_DB")
	if db == "" {
		t.Skip("run by TestCut_SQLiteWAL")
	}
	conn, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous("+
		os.Getenv("POWERCUT_WRITER_SYNC")+")")
	if err != nil {
		t.Fatal(err)
	}
	conn.SetMaxOpenConns(1)
	if _, err := conn.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)"); err != nil {
		t.Fatal(err)
	}
	for i := 1; ; i++ {
		if _, err := conn.Exec("INSERT INTO t (id, body) VALUES (?, ?)", i, fmt.Sprintf("row %d", i)); err != nil {
			t.Fatal(err)
		}
		fmt.Println(i)
	}
}
