package store

import (
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestOpen_MigrateAndReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "data")
	path := filepath.Join(dir, "simgate.db")

	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	versions := func(s *Store) []string {
		t.Helper()
		rows, err := s.r.QueryContext(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatalf("read schema_migrations: %v", err)
		}
		defer rows.Close()
		var vs []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			vs = append(vs, v)
		}
		return vs
	}
	first := versions(s)
	names := knownVersions()
	if len(first) != len(names) || first[0] != "0001_init" {
		t.Fatalf("applied %v, want one per file of %d, starting with 0001_init", first, len(names))
	}
	mustCreate(t, s, newMessage("msg_kept", 0))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o700 {
		t.Errorf("dir mode = %v, want 0700", got)
	}
	st, err = os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("db mode = %v, want 0600", got)
	}

	s2 := mustOpenPath(t, path)
	if got := versions(s2); len(got) != len(first) {
		t.Errorf("after reopen applied %v, want %v", got, first)
	}
	if m := mustMessage(t, s2, "msg_kept"); m.Text != "hello msg_kept" {
		t.Errorf("after reopen text = %q", m.Text)
	}
}

func TestOpen_Pragmas(t *testing.T) {
	s := mustOpen(t)
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
		{"synchronous", "2"}, // FULL: a commit survives a power cut
	}
	for _, tt := range tests {
		t.Run(tt.pragma, func(t *testing.T) {
			var got string
			if err := s.w.QueryRowContext(t.Context(), "PRAGMA "+tt.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("writer %s = %s, want %s", tt.pragma, got, tt.want)
			}
			if err := s.r.QueryRowContext(t.Context(), "PRAGMA "+tt.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("reader %s = %s, want %s", tt.pragma, got, tt.want)
			}
		})
	}
	if _, err := s.r.ExecContext(t.Context(), `INSERT INTO settings (key, value) VALUES ('a', 'b')`); err == nil {
		t.Error("write through the read pool succeeded, want an error")
	}
	if got := s.w.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer MaxOpenConnections = %d, want 1", got)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// Two processes starting on a fresh data dir at once must not apply a
// migration twice.
func TestOpen_Concurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	var wg sync.WaitGroup
	stores := make([]*Store, 4)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), path, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	var n int
	if err := stores[0].r.QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	names := knownVersions()
	if n != len(names) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(names))
	}
}

func TestOpen_BadPath(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db"} {
		if s, err := Open(t.Context(), path, nil); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
	// A path with URI metacharacters is a plain file name.
	dir := t.TempDir()
	s := mustOpenPath(t, filepath.Join(dir, "a?b#c%d.db"))
	mustCreate(t, s, newMessage("msg_1", 0))
	if _, err := os.Stat(filepath.Join(dir, "a?b#c%d.db")); err != nil {
		t.Errorf("database not at the literal path: %v", err)
	}
}

func TestTimeRoundTrip(t *testing.T) {
	tests := []time.Time{
		{},
		t0,
		time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600)),
		time.Date(1999, 12, 31, 23, 59, 59, 1, time.UTC),
	}
	for _, in := range tests {
		s := fmtTime(in)
		if !in.IsZero() && len(s) != len(timeLayout) {
			t.Errorf("fmtTime(%v) = %q, not fixed width", in, s)
		}
		out, err := parseTime(s)
		if err != nil {
			t.Fatalf("parseTime(%q): %v", s, err)
		}
		if !out.Equal(in) {
			t.Errorf("round trip of %v gave %v", in, out)
		}
	}
	// Lexical order must be time order, which the queries rely on.
	a, b := fmtTime(t0), fmtTime(t0.Add(time.Nanosecond))
	if !(a < b) || !("" < a) {
		t.Errorf("order broken: %q, %q", a, b)
	}
}

// A database made by an older simgate gets the newer migrations at Open,
// and keeps its rows.
func TestOpen_Upgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	old, err := sql.Open("sqlite", dsn(path, "_pragma=journal_mode(WAL)"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := migrations.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version TEXT PRIMARY KEY) STRICT`,
		string(body),
		`INSERT INTO schema_migrations VALUES ('0001_init')`,
		`INSERT INTO messages (id, recipient, body, encoding, segments, priority, status_report, status, concat_ref, created_at)
			VALUES ('msg_old', '+1', 'x', 'gsm7', 1, 1, 1, 'queued', 0, '2024-01-01T00:00:00.000000000Z')`,
	} {
		if _, err := old.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("old schema: %v", err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s := mustOpenPath(t, path)
	var n int
	if err := s.r.QueryRowContext(t.Context(),
		`SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'messages_next_attempt'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Error("0002 not applied to an 0001 database")
	}
	if m := mustMessage(t, s, "msg_old"); m.Status != "queued" {
		t.Errorf("old row read back as %+v", m)
	}
}
