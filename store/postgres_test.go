package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/simgate/simgate/gateway"
)

// chanWaker counts into a channel the wake-ups it gets.
type chanWaker chan struct{}

func (w chanWaker) Wake() {
	select {
	case w <- struct{}{}:
	default:
	}
}

// Host B's dispatcher and event readers wake at host A's commit, with no
// poll: LISTEN/NOTIFY.
func TestPostgres_WakeAcrossHosts(t *testing.T) {
	if pg == nil {
		t.Skip("no PostgreSQL")
	}
	t.Parallel()
	url := pg.Schema(t)
	a, b := mustOpenPath(t, url), mustOpenPath(t, url)
	select {
	case <-b.listen.ready:
	case <-time.After(30 * time.Second):
		t.Fatal("host B never listened")
	}
	woken := make(chanWaker, 1)
	b.WakeOnEnqueue(woken)
	appended := b.Appended()

	mustCreate(t, a, newMessage("msg_across", 0))
	for _, w := range []struct {
		what string
		ch   <-chan struct{}
	}{{"dispatcher", woken}, {"event readers", appended}} {
		select {
		case <-w.ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("host B's %s not woken by host A's enqueue", w.what)
		}
	}
}

// openHost opens url as gateway host id.
func openHost(t testing.TB, url, id string) *Store {
	t.Helper()
	s, err := Open(t.Context(), url, nil, WithHost(id))
	if err != nil {
		t.Fatalf("Open as %s: %v", id, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Each host registers its own modems; every host lists all of them, each
// with its host. A modem moved to another host is that host's.
func TestPostgres_ModemsPerHost(t *testing.T) {
	if pg == nil {
		t.Skip("no PostgreSQL")
	}
	t.Parallel()
	url := pg.Schema(t)
	a, b := openHost(t, url, "rack-a"), openHost(t, url, "rack-b")
	for _, up := range []struct {
		s    *Store
		imei string
	}{{a, "111111111111111"}, {b, "222222222222222"}, {b, "333333333333333"}, {a, "333333333333333"}} {
		if err := up.s.UpsertModem(t.Context(), gateway.ModemInfo{IMEI: up.imei, State: gateway.ModemOnline, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	want := "111111111111111@rack-a 333333333333333@rack-a 222222222222222@rack-b"
	for _, s := range []*Store{a, b} {
		ms, err := s.Modems(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.IMEI+"@"+m.Host)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("Modems = %v, want %s", got, want)
		}
	}
}

// A cluster job runs on one host at a time; when that host goes, another
// takes it over.
func TestPostgres_ExclusiveJob(t *testing.T) {
	if pg == nil {
		t.Skip("no PostgreSQL")
	}
	t.Parallel()
	url := pg.Schema(t)
	a, b := openHost(t, url, "a"), openHost(t, url, "b")
	var running atomic.Int32
	started := make(chan string, 2)
	job := func(host string) func(context.Context) error {
		return func(ctx context.Context) error {
			if n := running.Add(1); n != 1 {
				t.Errorf("%d runners of the job at once", n)
			}
			started <- host
			<-ctx.Done()
			running.Add(-1)
			return nil
		}
	}
	ctxA, stopA := context.WithCancel(t.Context())
	doneA := make(chan error, 1)
	go func() { doneA <- a.Exclusive(ctxA, "retention-test", job("a")) }()
	first := waitStarted(t, started)
	if first != "a" {
		t.Fatalf("first runner %s, want a (alone)", first)
	}
	doneB := make(chan error, 1)
	go func() { doneB <- b.Exclusive(t.Context(), "retention-test", job("b")) }()
	select {
	case h := <-started:
		t.Fatalf("%s started the job while a held it", h)
	case <-time.After(3 * lockRetry):
	}
	stopA() // host a goes: b takes the job over
	if err := <-doneA; err != nil {
		t.Fatalf("a's Exclusive: %v", err)
	}
	if h := waitStarted(t, started); h != "b" {
		t.Fatalf("runner after a = %s, want b", h)
	}
}

func waitStarted(t *testing.T, started <-chan string) string {
	t.Helper()
	select {
	case h := <-started:
		return h
	case <-time.After(30 * time.Second):
		t.Fatal("nobody runs the job")
		return ""
	}
}

// Every session of the store has its lock, statement and idle-transaction
// timeouts, and the host's name: a URL's own values win.
func TestPostgres_SessionSettings(t *testing.T) {
	if pg == nil {
		t.Skip("no PostgreSQL")
	}
	t.Parallel()
	url := pg.Schema(t)
	for _, c := range []struct {
		url  string
		want string
	}{
		{url, "10s 1min 5s simgate@rack-a"},
		{url + "&lock_timeout=250", "250ms 1min 5s simgate@rack-a"},
	} {
		s := openHost(t, c.url, "rack-a")
		var got []string
		for _, name := range []string{"lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout", "application_name"} {
			var v string
			if err := s.r.QueryRowContext(t.Context(), "SHOW "+name).Scan(&v); err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: settings %q, want %q", c.url, got, c.want)
		}
	}
}

// A write that waits for a row lock held by a session that does not let
// go (its host frozen while its backend is busy) gives up after
// lock_timeout with gateway.ErrStoreBusy, changing nothing, instead of
// hanging; once the lock is free the same write goes through.
func TestPostgres_LockTimeoutIsBusy(t *testing.T) {
	if pg == nil {
		t.Skip("no PostgreSQL")
	}
	t.Parallel()
	url := pg.Schema(t)
	s := mustOpenPath(t, url+"&lock_timeout=300")
	mustCreate(t, s, newMessage("msg_locked", 0))

	holder, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	tx, err := holder.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`SELECT id FROM messages WHERE id = 'msg_locked' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	sleepCtx, wake := context.WithCancel(t.Context())
	slept := make(chan struct{})
	go func() { // the holder is active, not idle in its transaction
		defer close(slept)
		tx.ExecContext(sleepCtx, `SELECT pg_sleep(60)`)
	}()

	_, err = s.CancelMessage(t.Context(), "msg_locked", t0)
	if !errors.Is(err, gateway.ErrStoreBusy) {
		t.Fatalf("Cancel of a locked message: %v, want ErrStoreBusy", err)
	}
	if m, err := s.Message(t.Context(), "msg_locked"); err != nil || m.Status != gateway.StatusQueued {
		t.Fatalf("after the busy Cancel: %+v, %v; want it still queued", m, err)
	}
	wake()
	<-slept
	tx.Rollback()
	if _, err := s.CancelMessage(t.Context(), "msg_locked", t0); err != nil {
		t.Fatalf("Cancel once the lock is free: %v", err)
	}
}

// A host that froze just after appending an event, its transaction open,
// holds up no other host's writes (events are numbered at commit, under a
// lock no session holds across a round trip), and its event, committed
// last, is numbered last: a reader past the others' events still gets it.
func TestPostgres_FrozenAppenderBlocksNobody(t *testing.T) {
	if pg == nil {
		t.Skip("no PostgreSQL")
	}
	t.Parallel()
	url := pg.Schema(t)
	s := mustOpenPath(t, url+"&lock_timeout=2000")
	frozen, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer frozen.Close()
	tx, err := frozen.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	ev, err := gateway.NewEvent(gateway.EventMessageQueued, "msg_frozen", nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(pgSQL(eventInsertSQL), ev.ID, ev.Type, ev.Subject, string(ev.Data), fmtTime(ev.At)); err != nil {
		t.Fatal(err)
	}

	mustCreate(t, s, newMessage("msg_other", 0)) // appends message.queued, and commits
	last, err := s.LastEventSeq(t.Context())
	if err != nil || last == 0 {
		t.Fatalf("LastEventSeq = %d, %v; want the other host's event", last, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	evs, err := s.EventsAfter(t.Context(), last, 10)
	if err != nil || len(evs) != 1 || evs[0].Subject != "msg_frozen" || evs[0].Seq != last+1 {
		t.Fatalf("EventsAfter(%d) = %+v, %v; want the frozen host's event, numbered %d", last, evs, err, last+1)
	}
}

// A cluster job that stops on a busy database (a lock or statement timeout)
// is run again at the next try; any other error ends Exclusive with it.
func TestPostgres_ExclusiveJobRetriesBusy(t *testing.T) {
	if pg == nil {
		t.Skip("no PostgreSQL")
	}
	t.Parallel()
	s := openHost(t, pg.Schema(t), "a")
	runs := 0
	fatal := errors.New("broken")
	err := s.Exclusive(t.Context(), "busy-test", func(context.Context) error {
		runs++
		if runs == 1 {
			return fmt.Errorf("read events: %w", &pgconn.PgError{Code: pgLockNotAvailable})
		}
		return fatal
	})
	if !errors.Is(err, fatal) || runs != 2 {
		t.Fatalf("Exclusive = %v after %d runs; want the job run again after the busy error, then ended by %v", err, runs, fatal)
	}
}
