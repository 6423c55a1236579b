package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/simgate/simgate/gateway"
)

// Group commit. Every write transaction is a request to one goroutine, the
// writer, which owns the write connection. It takes the requests waiting
// when it is free — all of them, up to maxBatch — and runs them in one
// transaction, each in its own SAVEPOINT, so that many callers share one
// commit and, in durability full, one fsync. A request that fails rolls
// back to its savepoint: only its own changes go, and only it gets the
// error. Every caller is answered after the shared commit, so a result is
// never seen before it is durable, and the event signal is notified after
// it. A lone request waits for nothing: the writer never holds a batch
// open for more to come, it only takes what is already queued.
//
// An error that breaks the transaction itself (SQLite may roll a whole
// transaction back on a full disk or an I/O error) fails the requests that
// ran before it in the same transaction, as a failed COMMIT would; the
// requests after it go on in a new transaction.

// maxBatch bounds the requests sharing a transaction: the first of a batch
// waits for the last, and the writer's lock is held for all of them.
const maxBatch = 64

// errClosed answers a write made after Close.
var errClosed = errors.New("store closed")

// A request is pending until the writer takes it or its caller, whose ctx
// ended, abandons it; whichever comes first decides.
const (
	reqPending int32 = iota
	reqTaken
	reqAbandoned
)

// writeReq is one caller's write transaction, queued for the writer.
type writeReq struct {
	ctx     context.Context
	fn      func(tx wtx) error
	durable bool       // false: see inLazyTx
	done    chan error // buffered, so that the writer never waits for a caller
	state   atomic.Int32

	appended bool     // fn appended events
	enqueued []string // pins of the messages fn queued ("" for none)
	err      error    // fn's outcome, then the commit's
}

// writeQueue holds the requests waiting for the writer.
type writeQueue struct {
	mu      sync.Mutex
	reqs    []*writeReq
	closed  bool          // by Close: no more requests
	ready   chan struct{} // buffered 1: there are requests
	quit    chan struct{} // closed by Close
	stopped chan struct{} // closed by the writer when it ends

	commits atomic.Int64 // transactions the writer committed, for tests and benchmarks
}

func newWriteQueue() *writeQueue {
	return &writeQueue{ready: make(chan struct{}, 1), quit: make(chan struct{}), stopped: make(chan struct{})}
}

// inTx runs fn in a write transaction and returns once it is committed (in
// durability full, on disk), with fn's error if fn failed, in which case
// nothing fn did is kept. fn runs on the writer's goroutine and must not
// call into the store's write path itself. The ctx given to the wtx methods
// is ignored for ctx's own (uncanceled) version: a cancel mid-statement
// makes SQLite roll the whole transaction back, other callers' changes
// with it. A request whose ctx ends before the writer takes it does not
// run.
func (s *Store) inTx(ctx context.Context, fn func(tx wtx) error) error {
	return s.write(ctx, fn, true)
}

// inLazyTx is inTx for a write whose loss in a power cut does no harm: its
// commit does not wait for an fsync even in durability full (a batch made
// only of such writes commits with synchronous=NORMAL). The next durable
// commit takes it to disk with itself, since WAL frames reach the disk in
// order, so it can be lost only together with everything after it.
func (s *Store) inLazyTx(ctx context.Context, fn func(tx wtx) error) error {
	return s.write(ctx, fn, false)
}

func (s *Store) write(ctx context.Context, fn func(tx wtx) error, durable bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.pg {
		return s.pgWrite(ctx, fn)
	}
	r := &writeReq{ctx: ctx, fn: fn, durable: durable, done: make(chan error, 1)}
	q := s.wq
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return errClosed
	}
	q.reqs = append(q.reqs, r)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default: // the writer has been told already
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqPending, reqAbandoned) {
			return ctx.Err()
		}
		return <-r.done // taken: its outcome, whatever ctx does now
	}
}

// take removes up to maxBatch requests from the queue, skipping those
// abandoned.
func (q *writeQueue) take(batch []*writeReq) []*writeReq {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.reqs) > 0 && len(batch) < maxBatch {
		r := q.reqs[0]
		q.reqs[0] = nil
		q.reqs = q.reqs[1:]
		if r.state.CompareAndSwap(reqPending, reqTaken) {
			batch = append(batch, r)
		}
	}
	if len(q.reqs) == 0 {
		q.reqs = nil // let a burst's backing array go
	}
	return batch
}

// pending is the number of requests waiting, for tests.
func (q *writeQueue) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.reqs)
}

// writeLoop is the writer. It takes whatever is queued when it is free —
// it never waits for a batch to fill — and ends once Close has been called
// and the queue is empty.
func (s *Store) writeLoop() {
	q := s.wq
	defer close(q.stopped)
	batch := make([]*writeReq, 0, maxBatch)
	lazy, durable := make([]*writeReq, 0, maxBatch), make([]*writeReq, 0, maxBatch)
	for {
		batch = q.take(batch[:0])
		if len(batch) == 0 {
			select {
			case <-q.ready:
				continue
			case <-q.quit:
				if q.pending() == 0 {
					return
				}
				continue
			}
		}
		// Unless the syncer takes the fsyncs off this goroutine, the lazy
		// writes go first, in a commit of their own that does not wait for
		// the disk: a claim need not wait for another's fsync.
		lazy, durable = lazy[:0], durable[:0]
		split := s.durability == DurabilityFull && !s.pipelined()
		for _, r := range batch {
			if r.durable || !split {
				durable = append(durable, r)
			} else {
				lazy = append(lazy, r)
			}
		}
		for _, part := range [][]*writeReq{lazy, durable} {
			for rest := part; len(rest) > 0; {
				rest = s.commitBatch(rest)
			}
		}
		clear(batch)
		clear(lazy)
		clear(durable)
		// The callers just answered may each be about to write again:
		// let them queue before the next take, so that they share its
		// commit rather than leave it to the first of them alone.
		runtime.Gosched()
	}
}

// stopWriter ends the writer once the requests already queued are done,
// and waits for it; later writes fail.
func (s *Store) stopWriter() {
	q := s.wq
	q.mu.Lock()
	first := !q.closed
	if first {
		q.closed = true
		close(q.quit)
	}
	q.mu.Unlock()
	<-q.stopped
	if first {
		s.stopSyncer()
	}
}

// commitBatch runs batch in one transaction and answers the requests it
// ran; rest are those it did not reach because the transaction broke.
func (s *Store) commitBatch(batch []*writeReq) (rest []*writeReq) {
	ctx := context.Background()
	conn, err := s.w.Conn(ctx)
	if err != nil {
		s.answer(batch, err)
		return nil
	}
	defer conn.Close()
	piped := s.pipelined()
	if s.durability == DurabilityFull && (piped || !anyDurable(batch)) {
		// Held on conn until it is restored, so that no other write on
		// the connection commits lazily.
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
			s.answer(batch, err)
			return nil
		}
		defer func() {
			if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
				// The connection must not go on committing lazily.
				s.logger.Error("restore synchronous=FULL; closing the write connection", "err", err)
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		s.answer(batch, err)
		return nil
	}
	ran, rest, open := s.runBatch(ctx, tx, batch)
	if !open {
		s.answer(ran, nil)
		return rest
	}
	if err := tx.Commit(); err != nil {
		// A COMMIT that fails may leave the transaction open.
		if _, rerr := conn.ExecContext(ctx, `ROLLBACK`); rerr != nil {
			s.logger.Debug("rollback after a failed commit", "err", rerr)
		}
		for _, r := range ran {
			if r.err == nil {
				r.err = err
			}
		}
	} else {
		s.wq.commits.Add(1)
		s.wakeEnqueued(ran)
	}
	if !piped {
		s.answer(ran, nil)
		return rest
	}
	// What failed changed nothing and a lazy write need not wait: they
	// are answered now, the rest after the syncer's fsync.
	var now, synced []*writeReq
	for _, r := range ran {
		if r.err == nil && r.durable {
			synced = append(synced, r)
		} else {
			now = append(now, r)
		}
	}
	s.answer(now, nil)
	if len(synced) > 0 {
		s.syncer.queue <- synced
		s.syncer.handed.Add(int64(len(synced)))
	}
	return rest
}

// Each request of a shared transaction runs in savepoint w.
var (
	savepointSQL = writeStmt(`SAVEPOINT w`)
	releaseSQL   = writeStmt(`RELEASE w`)
)

// runBatch runs each request of batch in tx, in a savepoint when others
// share the transaction. It stops early when the transaction broke, after
// rolling it back: ran have their outcome in err, rest did not run, and
// open is false when tx was rolled back.
func (s *Store) runBatch(ctx context.Context, tx *sql.Tx, batch []*writeReq) (ran, rest []*writeReq, open bool) {
	shared := len(batch) > 1
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		w := wtx{Tx: tx, st: s.ws, appended: &r.appended, enqueued: &r.enqueued, ctx: context.WithoutCancel(r.ctx)}
		if shared {
			if _, err := w.ExecContext(ctx, savepointSQL); err != nil {
				return s.broken(tx, batch, i, err)
			}
		}
		r.err = r.fn(w)
		switch {
		case r.err != nil && !shared:
			rollback(tx, r)
			return batch, nil, false
		case r.err != nil:
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO w; RELEASE w`); err != nil {
				return s.broken(tx, batch, i, r.err)
			}
		case shared:
			if _, err := w.ExecContext(ctx, releaseSQL); err != nil {
				r.err = err
				return s.broken(tx, batch, i, err)
			}
		}
	}
	return batch, nil, true
}

// broken rolls tx back after batch[i] broke it with cause: the requests
// before i that had succeeded fail with cause too.
func (s *Store) broken(tx *sql.Tx, batch []*writeReq, i int, cause error) (ran, rest []*writeReq, open bool) {
	if batch[i].err == nil {
		batch[i].err = cause
	}
	for _, r := range batch[:i] {
		if r.err == nil {
			r.err = fmt.Errorf("rolled back with the transaction it shared: %w", cause)
		}
	}
	// SQLite may have rolled it back already, and then says so.
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		s.logger.Debug("rollback of a broken transaction", "err", err)
	}
	return batch[:i+1], batch[i+1:], false
}

// rollback ends tx, adding a failed rollback's error to r's.
func rollback(tx *sql.Tx, r *writeReq) {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		r.err = errors.Join(r.err, err)
	}
}

// answer gives each request of batch its outcome (or err, when not nil),
// after notifying the event signal if a committed one appended events.
func (s *Store) answer(batch []*writeReq, err error) {
	appended := false
	for _, r := range batch {
		if err != nil {
			r.err = err
		}
		r.err = s.noteWrite(r.err)
		appended = appended || (r.err == nil && r.appended)
	}
	if appended {
		s.events.Notify()
	}
	for _, r := range batch {
		r.done <- r.err
	}
}

// wakeEnqueued wakes the dispatcher at the commit of a batch that queued
// messages, before its fsync: a claim does not wait for the disk (see
// syncer.go), and neither need the modem. The caller is answered after the
// fsync as always, so a 202 still means on disk.
func (s *Store) wakeEnqueued(ran []*writeReq) {
	p := s.onEnqueue.Load()
	if p == nil {
		return
	}
	w := *p
	pw, pins := w.(gateway.PinWaker)
	var woken []string
	for _, r := range ran {
		if r.err != nil {
			continue
		}
		for _, pin := range r.enqueued {
			switch {
			case !pins:
				w.Wake()
				return
			case pin == "" || !slices.Contains(woken, pin):
				pw.WakeFor(pin) // each unpinned message may need a worker of its own
				woken = append(woken, pin)
			}
		}
	}
}

func anyDurable(batch []*writeReq) bool {
	for _, r := range batch {
		if r.durable {
			return true
		}
	}
	return false
}
