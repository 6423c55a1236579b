package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

// holdWriter keeps the writer busy in a request of its own until release
// is called, so that the requests made meanwhile queue up; release waits
// for the held request's answer.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	entered, hold, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.inTx(context.Background(), func(tx wtx) error {
			close(entered)
			<-hold
			return nil
		})
	}()
	<-entered
	return func() {
		close(hold)
		if err := <-done; err != nil {
			t.Errorf("held request: %v", err)
		}
	}
}

// waitQueued polls until n requests wait for the writer.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.wq.pending() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", s.wq.pending(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// setSetting writes key in a request of its own, failing with fail after
// the write when fail is not nil.
func setSetting(s *Store, ctx context.Context, key string, fail error) error {
	return s.inTx(ctx, func(tx wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, 'v')`, key); err != nil {
			return err
		}
		return fail
	})
}

func settingExists(t *testing.T, s *Store, key string) bool {
	t.Helper()
	var n int
	if err := s.r.QueryRowContext(t.Context(), `SELECT count(*) FROM settings WHERE key = ?`, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// TestGroupCommit: requests that wait together are committed in one
// transaction; the one that fails rolls back only itself and alone gets
// its error, and one whose context ended while it waited does not run.
func TestGroupCommit(t *testing.T) {
	s := mustOpen(t)
	errBoom := errors.New("boom")
	const n = 12
	before := s.wq.commits.Load()
	release := holdWriter(t, s)

	canceled, cancel := context.WithCancel(t.Context())
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		ctx, fail := t.Context(), error(nil)
		switch i {
		case 3:
			fail = errBoom
		case 7:
			continue
		}
		wg.Go(func() { errs[i] = setSetting(s, ctx, fmt.Sprintf("k%02d", i), fail) })
	}
	gaveUp := make(chan struct{})
	go func() { errs[7] = setSetting(s, canceled, "k07", nil); close(gaveUp) }()
	waitQueued(t, s, n)
	cancel()
	<-gaveUp // without waiting for the writer: its request was given up
	release()
	wg.Wait()

	for i, err := range errs {
		key := fmt.Sprintf("k%02d", i)
		switch i {
		case 3:
			wantErr(t, "the failing request", err, errBoom)
			if settingExists(t, s, key) {
				t.Errorf("the failing request's write was kept")
			}
		case 7:
			wantErr(t, "the canceled request", err, context.Canceled)
			if settingExists(t, s, key) {
				t.Errorf("the canceled request ran")
			}
		default:
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
			if !settingExists(t, s, key) {
				t.Errorf("request %d answered nil but %s is not stored", i, key)
			}
		}
	}
	// The held request's transaction, then one for the twelve.
	if got := s.wq.commits.Load() - before; got != 2 {
		t.Errorf("%d commits, want 2", got)
	}
}

// TestGroupCommit_SignalAfterCommit: a batch that appended events notifies
// the signal once its commit is done, and the events are then readable.
func TestGroupCommit_SignalAfterCommit(t *testing.T) {
	s := mustOpen(t)
	release := holdWriter(t, s)
	ch := s.events.C()
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() { mustCreate(t, s, newMessage(msgID(i), time.Duration(i))) })
	}
	waitQueued(t, s, 3)
	select {
	case <-ch:
		t.Fatal("signal before the commit")
	default:
	}
	release()
	wg.Wait()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatal("no signal after the commit")
	}
	if evs, err := s.EventsAfter(t.Context(), 0, 10); err != nil || len(evs) != 3 {
		t.Errorf("events after the signal: %d, %v; want 3", len(evs), err)
	}
}

// TestGroupCommit_DiskFull: on a database that cannot grow, every request
// of a batch gets either nil with its write stored or ErrStorageFull with
// nothing stored, however SQLite undid the failing statement.
func TestGroupCommit_DiskFull(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	var pages int
	if err := s.w.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+2)); err != nil {
		t.Fatal(err)
	}
	const n = 16
	release := holdWriter(t, s)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.inTx(ctx, func(tx wtx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, printf('%.*c', ?, 'x'))`,
					fmt.Sprintf("k%02d", i), 3000)
				return err
			})
		})
	}
	waitQueued(t, s, n)
	release()
	wg.Wait()
	full := 0
	for i, err := range errs {
		stored := settingExists(t, s, fmt.Sprintf("k%02d", i))
		switch {
		case err == nil && !stored:
			t.Errorf("request %d answered nil but is not stored", i)
		case err != nil && stored:
			t.Errorf("request %d failed (%v) but is stored", i, err)
		case err != nil && !errors.Is(err, gateway.ErrStorageFull):
			t.Errorf("request %d: %v, want ErrStorageFull", i, err)
		case err != nil:
			full++
		}
	}
	if full == 0 {
		t.Fatal("the database never filled up")
	}
	var ok string
	if err := s.w.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Errorf("integrity_check = %q, %v", ok, err)
	}
}

// TestLazyCommit_WithoutSyncer: when SQLite syncs each commit (no syncer,
// or after it failed), lazy writes (claims) commit with synchronous=NORMAL,
// in a transaction of their own ahead of the durable writes queued with
// them, which commit with FULL; so does every write on the connection
// after.
func TestLazyCommit_WithoutSyncer(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	s.syncer.failed.Store(true)
	syncMode := func(tx wtx) (int, error) {
		var mode int
		err := tx.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mode)
		return mode, err
	}
	const normal, full = 1, 2
	var lazy, durable, lazyQueued, durableQueued int
	if err := s.inLazyTx(ctx, func(tx wtx) (err error) { lazy, err = syncMode(tx); return err }); err != nil {
		t.Fatal(err)
	}
	if err := s.inTx(ctx, func(tx wtx) (err error) { durable, err = syncMode(tx); return err }); err != nil {
		t.Fatal(err)
	}
	release := holdWriter(t, s)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.inTx(ctx, func(tx wtx) (err error) { durableQueued, err = syncMode(tx); return err }); err != nil {
			t.Error(err)
		}
	})
	waitQueued(t, s, 1)
	wg.Go(func() {
		if err := s.inLazyTx(ctx, func(tx wtx) (err error) { lazyQueued, err = syncMode(tx); return err }); err != nil {
			t.Error(err)
		}
	})
	waitQueued(t, s, 2)
	before := s.wq.commits.Load()
	release()
	wg.Wait()
	var after int
	if err := s.w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if lazy != normal || durable != full || lazyQueued != normal || durableQueued != full || after != full {
		t.Errorf("synchronous: lazy %d, durable %d, queued together %d and %d, after %d; want %d, %d, %d and %d, %d",
			lazy, durable, lazyQueued, durableQueued, after, normal, full, normal, full, full)
	}
	if got := s.wq.commits.Load() - before; got != 3 {
		t.Errorf("%d commits for the held, the lazy and the durable request, want 3", got)
	}

	n, err := Open(ctx, t.TempDir()+"/normal.db", nil, WithDurability(DurabilityNormal))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.inTx(ctx, func(tx wtx) (err error) { durable, err = syncMode(tx); return err }); err != nil || durable != normal {
		t.Errorf("durability normal: a durable write ran with synchronous %d, %v; want %d", durable, err, normal)
	}
}

// TestClose_FinishesQueuedWrites: what was queued before Close is done;
// a write after Close fails.
func TestClose_FinishesQueuedWrites(t *testing.T) {
	s, err := Open(t.Context(), t.TempDir()+"/db", nil)
	if err != nil {
		t.Fatal(err)
	}
	release := holdWriter(t, s)
	queued := make(chan error, 1)
	go func() { queued <- setSetting(s, t.Context(), "queued", nil) }()
	waitQueued(t, s, 1)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	release()
	if err := <-queued; err != nil {
		t.Errorf("write queued before Close: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	wantErr(t, "write after Close", setSetting(s, t.Context(), "late", nil), errClosed)
}

// blockSync makes the syncer's fsyncs wait for release; each one started is
// sent on entered.
func blockSync(s *Store) (entered chan struct{}, release func()) {
	entered, hold := make(chan struct{}, 16), make(chan struct{})
	real := s.syncer.sync
	s.syncer.sync = func() error {
		entered <- struct{}{}
		<-hold
		return real()
	}
	return entered, func() { close(hold) }
}

// TestSyncer: in durability full a durable write is answered only after
// an fsync that followed its commit, while the writer goes on committing —
// a claim is answered at its commit — and the writes committed meanwhile
// share the next fsync.
func TestSyncer(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	if !s.pipelined() {
		t.Fatal("durability full without the syncer")
	}
	mustCreate(t, s, newMessage("msg_1", 0))
	entered, release := blockSync(s)
	first := make(chan error, 1)
	go func() { first <- setSetting(s, ctx, "first", nil) }()
	<-entered
	if !settingExists(t, s, "first") {
		t.Fatal("not committed before its fsync")
	}
	if m := mustClaim(t, s, "imeiA", t0.Add(time.Minute)); m == nil || m.ID != "msg_1" {
		t.Fatalf("claim during an fsync = %v", m)
	}
	later := make(chan error, 2)
	for _, key := range []string{"second", "third"} {
		go func() { later <- setSetting(s, ctx, key, nil) }()
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.syncer.handed.Load() < 4 { // msg_1, first, second, third
		if time.Now().After(deadline) {
			t.Fatal("the writer waited for the fsync")
		}
		time.Sleep(time.Millisecond)
	}
	if !settingExists(t, s, "second") || !settingExists(t, s, "third") {
		t.Fatal("handed to the syncer before their commit")
	}
	select {
	case err := <-first:
		t.Fatalf("answered before its fsync: %v", err)
	case err := <-later:
		t.Fatalf("answered before its fsync: %v", err)
	default:
	}
	release()
	for _, ch := range []chan error{first, later, later} {
		if err := <-ch; err != nil {
			t.Errorf("write: %v", err)
		}
	}
	if n := len(entered); n != 1 {
		t.Errorf("%d fsyncs for the two writes committed during the first, want 1", n)
	}
}

// TestSyncer_Fails: an fsync that fails fails the writes that waited for
// it (ENOSPC as ErrStorageFull), and from then on SQLite syncs each commit.
func TestSyncer_Fails(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	s.syncer.sync = func() error { return &os.PathError{Op: "sync", Path: "wal", Err: syscall.ENOSPC} }
	wantErr(t, "write whose fsync failed", setSetting(s, ctx, "k", nil), gateway.ErrStorageFull)
	if s.pipelined() {
		t.Fatal("the syncer is still used after it failed")
	}
	var mode int
	if err := s.inTx(ctx, func(tx wtx) error { return tx.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mode) }); err != nil || mode != 2 {
		t.Errorf("synchronous after the syncer failed = %d, %v; want FULL (2)", mode, err)
	}
	if err := s.Writable(ctx); err != nil {
		t.Errorf("Writable after a write succeeded: %v", err)
	}
}

// wakeCounter counts Wake calls.
type wakeCounter struct{ n chan struct{} }

func (w wakeCounter) Wake() { w.n <- struct{}{} }

// TestSyncer_WakesAtCommit: in durability full the dispatcher is woken at
// the commit of a queued message, before its fsync — a modem need not wait
// for the disk — while the caller still waits for the fsync.
func TestSyncer_WakesAtCommit(t *testing.T) {
	s := mustOpen(t)
	woken := wakeCounter{n: make(chan struct{}, 16)}
	s.WakeOnEnqueue(woken)
	entered, unblock := blockSync(s)
	release := sync.OnceFunc(unblock)
	t.Cleanup(release) // before Close, which waits for the syncer
	created := make(chan error, 1)
	go func() {
		_, _, err := s.CreateMessage(t.Context(), newMessage("msg_1", 0), gateway.IdempotencyKey{})
		created <- err
	}()
	<-entered
	select {
	case <-woken.n:
	case <-time.After(30 * time.Second):
		t.Fatal("not woken at the commit: the dispatcher waits for the fsync")
	}
	select {
	case err := <-created:
		t.Fatalf("answered before its fsync: %v", err)
	default:
	}
	release()
	if err := <-created; err != nil {
		t.Fatal(err)
	}
	if err := setSetting(s, t.Context(), "not a message", nil); err != nil {
		t.Fatal(err)
	}
	if n := len(woken.n); n != 0 {
		t.Errorf("%d wake-ups for a write that queued nothing", n)
	}
}

// pinWaker records the pins it is woken for.
type pinWaker struct {
	mu   sync.Mutex
	pins []string
}

func (w *pinWaker) Wake() { w.WakeFor("*all*") }
func (w *pinWaker) WakeFor(pin string) {
	w.mu.Lock()
	w.pins = append(w.pins, pin)
	w.mu.Unlock()
}

// TestWakesAtCommit_ForEachPin: a PinWaker is told the pin of each message
// queued (its worker only is woken), and "" once per unpinned message.
func TestWakesAtCommit_ForEachPin(t *testing.T) {
	s := mustOpen(t)
	w := &pinWaker{}
	s.WakeOnEnqueue(w)
	pinned := newMessage("msg_1", 0)
	pinned.Pin = "imeiA"
	for _, m := range []*gateway.Message{pinned, newMessage("msg_2", 0), newMessage("msg_3", 0)} {
		mustCreate(t, s, m)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if want := []string{"imeiA", "", ""}; !slices.Equal(w.pins, want) {
		t.Errorf("woken for %q, want %q", w.pins, want)
	}
}
