package store

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/simgate/simgate/gateway"
)

// Wake-ups across hosts. On PostgreSQL, triggers (migration
// 0081_pg_cluster) NOTIFY at the commit of a message that became queued
// (channel simgate_queue) and of appended events (simgate_events). Each
// host LISTENs on a connection of its own: a queue notification wakes its
// dispatcher (WakeOnEnqueue), so that a message accepted by another host's
// API goes out on this host's idle modem at once rather than at its next
// poll; an events notification wakes its readers of the event log (OTP
// follow-up, webhooks, the status page), as a local commit does. A host
// hears its own notifications too, which costs one needless wake-up.

const (
	pgQueueChannel  = "simgate_queue"
	pgEventsChannel = "simgate_events"
)

// pgListener holds the LISTEN connection and what it wakes.
type pgListener struct {
	url    string
	events *gateway.Signal

	mu    sync.Mutex
	waker gateway.Waker // the dispatcher; nil until WakeOnEnqueue

	cancel context.CancelFunc
	done   chan struct{}
	ready  chan struct{} // closed once it first listens (for tests)
	once   sync.Once
}

// WakeOnEnqueue has w woken when a message becomes queued: on SQLite at
// the commit of the transaction that queued it, before its fsync (the
// Service wakes the dispatcher only once the caller's commit is on disk);
// on PostgreSQL also when another host of the shared database queued one.
func (s *Store) WakeOnEnqueue(w gateway.Waker) {
	s.onEnqueue.Store(&w)
	if s.listen == nil {
		return
	}
	s.listen.mu.Lock()
	s.listen.waker = w
	s.listen.mu.Unlock()
}

func startListener(url string, events *gateway.Signal) *pgListener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &pgListener{url: url, events: events, cancel: cancel, done: make(chan struct{}), ready: make(chan struct{})}
	go l.run(ctx)
	return l
}

// stop ends the listener and waits for it.
func (l *pgListener) stop() {
	l.cancel()
	<-l.done
}

// run listens until stopped, connecting again after a lost connection.
// After each (re)connection it wakes everything once: a notification sent
// while it was not listening is lost.
func (l *pgListener) run(ctx context.Context) {
	defer close(l.done)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		l.listen(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (l *pgListener) listen(ctx context.Context) {
	conn, err := pgx.Connect(ctx, l.url)
	if err != nil {
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return
	}
	events := pgEventsChannel + ":" + schema
	for _, ch := range []string{pgQueueChannel + ":" + schema, events} {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return
		}
	}
	l.wake(false)
	l.wake(true)
	l.once.Do(func() { close(l.ready) })
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return
		}
		l.wake(n.Channel == events)
	}
}

func (l *pgListener) wake(events bool) {
	if events {
		l.events.Notify()
		return
	}
	l.mu.Lock()
	w := l.waker
	l.mu.Unlock()
	if w != nil {
		w.Wake()
	}
}
