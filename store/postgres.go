package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	neturl "net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/simgate/simgate/gateway"
)

// PostgreSQL. The same Store, on a pool of connections to one PostgreSQL
// database that several gateway hosts share: every query is the SQLite one
// in PostgreSQL's form (dialect.go); the group-commit writer and the WAL
// syncer are SQLite's alone — PostgreSQL runs transactions side by side and
// fsyncs its own WAL. Schema migrations of its own live in
// migrations/postgres, named as their SQLite twins.

// pgConns bounds the pool: the workers, the API and the background jobs
// of one host.
const pgConns = 16

// IsPostgresURL reports whether database names a PostgreSQL database
// rather than a SQLite file.
func IsPostgresURL(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// pgIdleTxTimeout ends the session of a host that stopped (SIGSTOP, a VM
// paused, a GC pause) in the middle of a transaction: its row locks, or
// the events' append lock, would otherwise stall every other host until
// it resumed. The store's transactions never wait on anything but the
// database, so no healthy one idles this long.
const pgIdleTxTimeout = "5000" // ms

// pgLockTimeout bounds a statement's wait for a lock (a row, the events'
// numbering lock at commit): twice pgIdleTxTimeout, so that a lock held by a session
// idling in its transaction is released before a waiter gives up, while
// one held by a session that is stuck *active* (its host frozen while its
// backend blocks on the socket, say) costs the waiter an error it retries
// (gateway.ErrStoreBusy), not a request that hangs for ever.
const pgLockTimeout = "10000" // ms

// pgStatementTimeout bounds any one statement of the store. Its queries
// take milliseconds (a claim among 100,000 queued rows included);
// migrations and "simgate migrate" lift it for their transactions.
const pgStatementTimeout = "60000" // ms

// pgURL is url with the session settings the store relies on, unless url
// sets them itself, and the host's name as the sessions' application_name
// (pg_stat_activity then says which host a session is).
func pgURL(raw, host string) (string, error) {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("database URL: %w", err)
	}
	q := u.Query()
	for _, p := range [][2]string{
		{"idle_in_transaction_session_timeout", pgIdleTxTimeout},
		{"lock_timeout", pgLockTimeout},
		{"statement_timeout", pgStatementTimeout},
		{"application_name", "simgate@" + host},
	} {
		if q.Get(p[0]) == "" {
			q.Set(p[0], p[1])
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func openPostgres(ctx context.Context, url string, logger *slog.Logger, o options) (*Store, error) {
	host := o.host
	if host == "" {
		host, _ = os.Hostname()
	}
	url, err := pgURL(url, host)
	if err != nil {
		return nil, fmt.Errorf("open db: %w", err)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open db: %w", err)
	}
	db.SetMaxOpenConns(pgConns)
	db.SetMaxIdleConns(pgConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{w: wdb{DB: db, pg: true}, r: rdb{DB: db, pg: true}, pg: true, durability: o.durability,
		logger: logger, events: gateway.NewSignal(), host: host}
	if err := s.migrate(ctx, ""); err != nil {
		db.Close()
		return nil, fmt.Errorf("open db: %w", err)
	}
	s.listen = startListener(url, s.events)
	return s, nil
}

func (s *Store) closePostgres() error {
	s.listen.stop()
	if err := s.w.Close(); err != nil {
		return fmt.Errorf("close db: %w", err)
	}
	return nil
}

// PostgreSQL's error codes the store tells apart.
const (
	pgUniqueViolation    = "23505"
	pgSerialization      = "40001"
	pgDeadlock           = "40P01"
	pgLockNotAvailable   = "55P03"    // lock_timeout
	pgQueryCanceled      = "57014"    // statement_timeout
	pgMigrationsLockID   = 0x73696d67 // "simg": one migrating host at a time
	pgMaxWriteRetries    = 5
	pgMigrationsDir      = "migrations/postgres"
	pgMigrationsPatterns = pgMigrationsDir + "/*.sql"
)

// pgCode is the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// pgWrite is inTx on PostgreSQL: fn runs in a transaction of its own,
// tried again when PostgreSQL chose it as the victim of a deadlock or a
// serialization failure. As on SQLite, a ctx that ends once fn runs does
// not cancel it halfway.
func (s *Store) pgWrite(ctx context.Context, fn func(tx wtx) error) error {
	for attempt := 1; ; attempt++ {
		appended, err := s.pgTxOnce(ctx, fn)
		if c := pgCode(err); (c == pgSerialization || c == pgDeadlock) && attempt < pgMaxWriteRetries {
			continue
		}
		if err == nil && appended {
			s.events.Notify()
		}
		return busy(err)
	}
}

// untimed lifts the session's statement and lock timeouts for the rest of
// tx, for the long transactions that are no request's: migrations, the
// copy of "simgate migrate".
func untimed(ctx context.Context, tx wtx) error {
	for _, q := range []string{`SET LOCAL statement_timeout = 0`, `SET LOCAL lock_timeout = 0`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// busy marks err gateway.ErrStoreBusy when PostgreSQL gave up on a lock
// or a statement in time: the transaction was rolled back whole, and the
// caller may try again.
func busy(err error) error {
	if c := pgCode(err); c == pgLockNotAvailable || c == pgQueryCanceled {
		return fmt.Errorf("%w: %w", gateway.ErrStoreBusy, err)
	}
	return err
}

// isBusy reports whether err is, or (from a read, which busy does not
// mark) carries, PostgreSQL giving up on a lock or a statement in time.
func isBusy(err error) bool {
	return err != nil && errors.Is(busy(err), gateway.ErrStoreBusy)
}

func (s *Store) pgTxOnce(ctx context.Context, fn func(tx wtx) error) (appended bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	run := context.WithoutCancel(ctx)
	tx, err := s.w.BeginTx(run, nil)
	if err != nil {
		return false, err
	}
	if err := fn(wtx{Tx: tx, appended: &appended, ctx: run, pg: true}); err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			err = errors.Join(err, rerr)
		}
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	return appended, nil
}

// migratePostgres applies the PostgreSQL migrations not yet recorded, each
// in its own transaction, under an advisory lock so that hosts starting at
// once apply each exactly once. A database migrated by a newer simgate is
// refused with a *SchemaTooNewError, as on SQLite; there is no copy before
// migrating (PostgreSQL's backups are the operator's).
func (s *Store) migratePostgres(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY)`); err != nil &&
		pgCode(err) != pgUniqueViolation { // two first opens at once: the other one made it
		return fmt.Errorf("migrate: %w", err)
	}
	applied, err := appliedVersions(ctx, s.w)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := checkNotNewerThan(applied, pgKnownVersions()); err != nil {
		return err
	}
	for _, version := range pgKnownVersions() {
		applied := false
		err := s.pgWrite(ctx, func(tx wtx) error {
			// A migration may rewrite a large table, and a host starting
			// meanwhile waits for it: no statement or lock timeout here.
			if err := untimed(ctx, tx); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, pgMigrationsLockID); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil || n > 0 {
				return err
			}
			body, err := migrations.ReadFile(pgMigrationsDir + "/" + version + ".sql")
			if err != nil {
				return err
			}
			// Run as written: a migration's body is no query of the dialect layer.
			if _, err := tx.Tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, version)
			applied = err == nil
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
		if applied {
			s.logger.Info("applied migration", "migration", version)
		}
	}
	return nil
}

// pgKnownVersions lists the embedded PostgreSQL migrations' versions, sorted.
func pgKnownVersions() []string {
	names, err := fs.Glob(migrations, pgMigrationsPatterns)
	if err != nil {
		panic("store: migrations: " + err.Error()) // only for a malformed pattern
	}
	vs := make([]string, len(names))
	for i, n := range names {
		vs[i] = strings.TrimSuffix(filepath.Base(n), ".sql")
	}
	sort.Strings(vs)
	return vs
}

// Shared reports whether other gateway hosts may use the database too
// (PostgreSQL): leases in it may be theirs, and per-cluster work must take
// its lock (Store.TryLock).
func (s *Store) Shared() bool { return s.pg }
