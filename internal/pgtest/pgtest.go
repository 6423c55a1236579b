// Package pgtest runs a real PostgreSQL server for tests: initdb and pg_ctl
// from the machine's PostgreSQL (Debian's package postgresql) in a
// temporary directory, listening on a Unix socket there only. One server
// serves a whole test package (start it in TestMain); each test takes a
// schema of its own, so tests see empty databases and may run in parallel.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Server is a running PostgreSQL.
type Server struct {
	dir    string // the temporary directory: data/ and the socket
	bin    string // the directory of initdb and pg_ctl
	user   string // the database superuser
	cred   *syscall.Credential
	admin  *sql.DB
	nextID atomic.Int64
}

// ErrNoPostgres means this machine has no PostgreSQL to start.
var ErrNoPostgres = errors.New("no PostgreSQL here: install the Debian package postgresql")

// binDir finds initdb and pg_ctl: on PATH, else the newest
// /usr/lib/postgresql/*/bin.
func binDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) < version(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i], nil
		}
	}
	return "", ErrNoPostgres
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start initialises and starts a server in a new temporary directory.
// initdb refuses to run as root: as root, the server runs as the user
// postgres (or nobody), which then owns the directory.
func Start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: bin, user: "simgate"}
	if err := s.dropRoot(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.initAndStart(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if s.admin, err = sql.Open("pgx", s.URL("postgres", "")); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// dropRoot chooses the user the server runs as when this process is
// root, and gives it the directory.
func (s *Server) dropRoot() error {
	if os.Geteuid() != 0 {
		return nil
	}
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("pgtest: as root, a user to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	return os.Chown(s.dir, uid, gid)
}

func (s *Server) run(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: %s: %w\n%s", name, err, out)
	}
	return nil
}

// initAndStart runs initdb and starts the server on a socket in dir with
// durability off: tests need a server, not its crash safety.
func (s *Server) initAndStart() error {
	data := filepath.Join(s.dir, "data")
	if err := s.run("initdb", "-D", data, "-U", s.user, "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		return err
	}
	opts := strings.Join([]string{
		"-k " + s.dir, "-c listen_addresses=''", "-c fsync=off", "-c synchronous_commit=off",
		"-c full_page_writes=off", "-c max_connections=300", "-c shared_buffers=32MB",
	}, " ")
	return s.run("pg_ctl", "-D", data, "-l", filepath.Join(s.dir, "log"), "-o", opts, "-w", "start")
}

// URL is a postgres:// URL of database db on the server; with schema not
// "", its tables are made in (and looked up in) that schema.
func (s *Server) URL(db, schema string) string {
	u := fmt.Sprintf("postgres:///%s?host=%s&user=%s&sslmode=disable", db, s.dir, s.user)
	if schema != "" {
		u += "&search_path=" + schema
	}
	return u
}

// Schema makes a new empty schema in the database postgres and returns
// the URL that uses it. Dropped when t ends.
func (s *Server) Schema(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d", s.nextID.Add(1))
	if _, err := s.admin.ExecContext(context.Background(), "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := s.admin.ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Logf("pgtest: drop schema %s: %v", name, err)
		}
	})
	return s.URL("postgres", name)
}

// Stop stops the server at once and removes its directory.
func (s *Server) Stop() {
	if s.admin != nil {
		s.admin.Close()
	}
	if err := s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop"); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.RemoveAll(s.dir)
}

// Required reports whether a test run must have PostgreSQL (in CI, where
// .ci/run installs it) rather than skip the PostgreSQL tests without it.
func Required() bool { return os.Getenv("CI") != "" }
