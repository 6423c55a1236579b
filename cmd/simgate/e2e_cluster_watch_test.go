package main

import (
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A cluster test that hangs or fails must say why: the watchdog below puts
// into the test log what every part was doing — this test's goroutines,
// PostgreSQL's sessions and the locks they wait for, and each host's
// goroutines (SIGQUIT: the Go runtime prints them on stderr, then exits).

// clusterDeadline is how long TestE2E_Cluster may run before the watchdog
// dumps everything and fails it; it takes about a minute and a half, under
// load included. Every wait of the test is bounded too; this catches the
// one that is not.
const clusterDeadline = 6 * time.Minute

// watch dumps the state of the cluster into the log when t runs past
// clusterDeadline or fails.
func (c *cluster) watch(t *testing.T) {
	t.Helper()
	var once sync.Once
	dump := func(why string) { once.Do(func() { c.dump(t, why) }) }
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-stop:
		case <-time.After(clusterDeadline):
			t.Errorf("TestE2E_Cluster still running after %v: dumping every host's goroutines", clusterDeadline)
			dump("past the deadline")
		}
	}()
	t.Cleanup(func() { // before the hosts' own cleanups stop them
		close(stop)
		<-stopped
		if t.Failed() {
			dump("the test failed")
		}
	})
}

// dump logs the test's goroutines, the database's sessions, and each
// live host's goroutines, SIGQUITting it.
func (c *cluster) dump(t *testing.T, why string) {
	buf := make([]byte, 1<<20)
	t.Logf("%s; the test's goroutines:\n%s", why, buf[:runtime.Stack(buf, true)])
	t.Logf("PostgreSQL's sessions:\n%s", pgSessions(c.url))
	for i, g := range c.hosts {
		select {
		case <-g.done:
			t.Logf("%s had exited; its stderr's end:\n%s", c.names[i], tail(g.stderr.String(), 20000))
			continue
		default:
		}
		g.cmd.Process.Signal(syscall.SIGCONT) // a stopped process cannot dump
		g.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-g.done:
		case <-time.After(30 * time.Second):
			g.cmd.Process.Kill()
			<-g.done
		}
		t.Logf("%s's goroutines (SIGQUIT):\n%s", c.names[i], tail(g.stderr.String(), 400000))
	}
}

// pgSessions lists the database's sessions: who, in what state, waiting
// for what, since when, and which sessions block them.
func pgSessions(url string) string {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	rows, err := db.Query(`SELECT pid, application_name, coalesce(state, ''),
		coalesce(wait_event_type || ':' || wait_event, ''), coalesce(now() - xact_start, '0')::text,
		pg_blocking_pids(pid)::text, left(query, 160)
		FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() ORDER BY pid`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var pid int
		var app, state, wait, age, blockers, query string
		if err := rows.Scan(&pid, &app, &state, &wait, &age, &blockers, &query); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "%d %q %s wait=%s xact=%s blocked-by=%s %q\n", pid, app, state, wait, age, blockers, query)
	}
	if err := rows.Err(); err != nil {
		b.WriteString(err.Error())
	}
	return b.String()
}
