package store

import (
	"context"
	"database/sql/driver"
	"hash/fnv"
	"time"
)

// Work that must run once per cluster (retention, webhook delivery, OTP
// follow-up) runs, on PostgreSQL, on the one host that holds the job's
// advisory lock; the others wait to take over. The lock is a session lock
// held on a connection of its own, so it goes with the host: a host that
// dies or loses the database releases it, and another host's next try
// (every lockRetry) takes the job.

// lockRetry is how often a host that does not hold a job's lock tries it,
// and how often the holder checks that its connection is alive.
var lockRetry = 2 * time.Second

// Exclusive runs fn as the cluster's only runner of job, and returns when
// ctx ends or fn fails (but for gateway.ErrStoreBusy, after which it tries
// again). On SQLite, with one host, it is fn(ctx). On
// PostgreSQL it waits for job's lock, runs fn while it holds it, and
// cancels fn's context should the lock's connection be lost (then waits for
// the lock again).
func (s *Store) Exclusive(ctx context.Context, job string, fn func(context.Context) error) error {
	if !s.pg {
		return fn(ctx)
	}
	h := fnv.New64a()
	h.Write([]byte("simgate job " + job))
	key := int64(h.Sum64())
	for {
		if err := s.holdAndRun(ctx, job, key, fn); isBusy(err) {
			// The database did not answer in time (a frozen host's lock, a
			// slow statement): the job's next try is the next tick's.
			s.logger.Warn("cluster job stopped on a busy database; trying again", "job", job, "err", err)
		} else if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(lockRetry):
		}
	}
}

// holdAndRun takes job's lock if it is free and runs fn while it holds
// it. An error is fn's; a lock it could not take or lost is no error.
func (s *Store) holdAndRun(ctx context.Context, job string, key int64, fn func(context.Context) error) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil || !got {
		return nil
	}
	s.logger.Info("this host runs the cluster's job", "job", job)
	defer func() {
		// Released on a live connection; a dead one released it already.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn }) // not pooled with the lock
		}
	}()
	jobCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(jobCtx) }()
	tick := time.NewTicker(lockRetry)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case <-tick.C:
			if err := conn.PingContext(ctx); err != nil && ctx.Err() == nil {
				s.logger.Warn("lost the cluster job's lock; waiting to take it again", "job", job, "err", err)
				cancel()
				<-done
				return nil
			}
		}
	}
}
