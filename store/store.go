package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/simgate/simgate/gateway"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrations embed.FS

// readConns is the size of the read-only pool: WAL lets readers run beside
// the one writer, and the status page, the API and the workers read at once.
const readConns = 4

// Store is the SQLite implementation of gateway.Store. It is safe for
// concurrent use.
type Store struct {
	w          wdb   // SQLite: one connection (one writer; queuing in Go beats SQLITE_BUSY); PostgreSQL: the pool
	ws         stmts // prepared on w (SQLite)
	r          rdb   // SQLite: the read-only pool; PostgreSQL: the pool
	pg         bool  // the database is PostgreSQL (postgres.go)
	durability Durability
	logger     *slog.Logger
	events     *gateway.Signal // notified after a commit that appended events
	tail       eventTail       // the events last read (event_tail.go)
	full       atomic.Bool     // the last write failed for lack of space (full.go)

	wq     *writeQueue // write transactions wait here for the writer (writer.go); nil on PostgreSQL
	syncer *walSyncer  // fsyncs for the writer in durability full; nil: SQLite does (syncer.go)
	listen *pgListener // PostgreSQL: other hosts' commits (postgres_notify.go)

	onEnqueue atomic.Pointer[gateway.Waker] // SQLite: woken at the commit of a queued message (WakeOnEnqueue)
	host      string                        // PostgreSQL: this host, whose modems UpsertModem registers
}

var _ gateway.Store = (*Store)(nil)

// Durability is how far a commit has reached the disk when it returns.
type Durability string

const (
	// DurabilityFull (SQLite synchronous=FULL, the default) fsyncs the WAL
	// at every commit: a power cut loses nothing that was committed, so
	// every 202, every inbound SMS deleted from the SIM and every approved
	// OTP survives it.
	DurabilityFull Durability = "full"
	// DurabilityNormal (synchronous=NORMAL) fsyncs only at checkpoints:
	// faster, and still safe against a process crash, but a power cut can
	// roll back the last commits.
	DurabilityNormal Durability = "normal"
)

// Option adjusts how Open opens the database.
type Option func(*options)

type options struct {
	durability Durability
	backupDir  string
	host       string
}

// WithHost names this process among the gateway hosts sharing a
// PostgreSQL database: the modems it registers are its own. Default: the
// machine's hostname.
func WithHost(id string) Option { return func(o *options) { o.host = id } }

// WithDurability chooses what a commit guarantees; see Durability.
func WithDurability(d Durability) Option { return func(o *options) { o.durability = d } }

// WithBackupDir is where Open writes the copy it takes before migrating a
// database that has data (default: "backups" beside the database).
func WithBackupDir(dir string) Option { return func(o *options) { o.backupDir = dir } }

func (o options) backupDirFor(path string) string {
	if o.backupDir != "" {
		return o.backupDir
	}
	return filepath.Join(filepath.Dir(path), "backups")
}

// readOptions applies opts to the defaults and returns them with the
// synchronous pragma they ask for.
func readOptions(opts []Option) (options, string, error) {
	o := options{durability: DurabilityFull}
	for _, opt := range opts {
		opt(&o)
	}
	switch o.durability {
	case DurabilityFull:
		return o, "_pragma=synchronous(FULL)", nil
	case DurabilityNormal:
		return o, "_pragma=synchronous(NORMAL)", nil
	}
	return o, "", fmt.Errorf("durability %q: want full or normal: %w", o.durability, gateway.ErrInvalid)
}

// Open opens (creating it if needed) the database at path and applies the
// pending migrations. The directory is created 0700 and the file 0600, since
// the database holds phone numbers, message bodies and key hashes. A nil
// logger discards.
//
// A path that is a PostgreSQL URL (postgres://… or postgresql://…) opens
// that database instead (postgres.go).
func Open(ctx context.Context, path string, logger *slog.Logger, opts ...Option) (*Store, error) {
	o, sync, err := readOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("open db: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if IsPostgresURL(path) {
		return openPostgres(ctx, path, logger, o)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("open db: path %q: %w", path, gateway.ErrInvalid)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open db: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open db: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open db: %w", err)
	}

	// busy_timeout comes first so that the pragmas after it, which may
	// write, wait for another process's lock instead of failing. _txlock
	// makes every transaction BEGIN IMMEDIATE: it takes the write lock up
	// front, so a transaction never fails halfway when it upgrades from
	// reading to writing.
	w, err := sql.Open("sqlite", dsn(path,
		"_pragma=busy_timeout(10000)",
		"_pragma=journal_mode(WAL)",
		"_pragma=temp_store(MEMORY)",
		"_pragma=foreign_keys(ON)",
		sync,
		"_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("open db: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: wdb{DB: w}, durability: o.durability, logger: logger, events: gateway.NewSignal(), wq: newWriteQueue()}
	go s.writeLoop()
	if err := s.migrate(ctx, o.backupDirFor(path)); err != nil {
		s.stopWriter()
		w.Close()
		return nil, fmt.Errorf("open db: %w", err)
	}
	if s.ws, err = prepare(ctx, w, hotWrites); err != nil {
		s.stopWriter()
		w.Close()
		return nil, fmt.Errorf("open db: %w", err)
	}
	if o.durability == DurabilityFull {
		// Read by the writer only from its next batch on: the channel
		// operations of that batch order this write before the read.
		s.syncer = s.startSyncer(path)
	}

	// The read pool opens only after migration so that it finds the file
	// already in WAL mode.
	if s.r, err = openReadPool(ctx, path, sync); err != nil {
		s.stopWriter()
		s.ws.close()
		w.Close()
		return nil, fmt.Errorf("open db: %w", err)
	}
	return s, nil
}

// openReadPool opens the read-only pool on path and prepares the hot
// reads; query_only turns a stray write into an error.
func openReadPool(ctx context.Context, path, sync string) (rdb, error) {
	r, err := sql.Open("sqlite", dsn(path,
		"_pragma=busy_timeout(10000)",
		"_pragma=foreign_keys(ON)",
		"_pragma=query_only(1)",
		sync))
	if err != nil {
		return rdb{}, err
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	rs, err := prepare(ctx, r, hotReads)
	if err != nil {
		r.Close()
		return rdb{}, err
	}
	return rdb{DB: r, st: rs}, nil
}

// dsn builds a SQLite URI for path. '?', '#' and '%' are escaped so that a
// path containing them is not taken for the query part.
func dsn(path string, params ...string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + esc + "?" + strings.Join(params, "&")
}

// Close closes the database; the last connection to close checkpoints the
// WAL into the main file. The writes already queued complete first; one
// made after Close fails.
func (s *Store) Close() error {
	if s.pg {
		return s.closePostgres()
	}
	s.stopWriter()
	s.r.st.close()
	s.ws.close()
	if err := errors.Join(s.r.DB.Close(), s.w.Close()); err != nil {
		return fmt.Errorf("close db: %w", err)
	}
	return nil
}

// Ping reports whether the database answers, for readiness checks.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping db: %w", err)
	}
	return nil
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, in lexical order, each in its own transaction. The set
// of applied versions is read inside each transaction, so two processes
// opening a fresh database at once apply each migration exactly once.
//
// A database with a version this binary does not know (written by a newer
// simgate) is refused with a *SchemaTooNewError. Before the first migration
// on a database that already has a schema, a copy is written to backupDir
// (backupBeforeMigrate), so an upgrade that goes wrong can be undone.
func (s *Store) migrate(ctx context.Context, backupDir string) error {
	if s.pg {
		return s.migratePostgres(ctx)
	}
	if err := s.createMigrationsTable(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := s.backupBeforeMigrate(ctx, backupDir); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		applied := false
		err := s.inTx(ctx, func(tx wtx) error {
			var n int
			if err := tx.QueryRowContext(ctx,
				`SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version) VALUES (?)`, version); err != nil {
				return err
			}
			applied = true
			return nil
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

// createMigrationsTable makes schema_migrations. On a fresh file opened by
// several processes at once, the first statement can meet another's switch
// to WAL, which SQLite answers SQLITE_BUSY without waiting: it is tried again
// for up to a few seconds.
func (s *Store) createMigrationsTable(ctx context.Context) error {
	var err error
	for range 100 {
		_, err = s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY) STRICT`)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return err
}

// backupBeforeMigrate refuses a database newer than the binary and, when
// migrations are pending on a database that has a schema already, copies
// it to dir first as simgate-premigrate-<its version>-<time>.db.
func (s *Store) backupBeforeMigrate(ctx context.Context, dir string) error {
	applied, err := appliedVersions(ctx, s.w)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := checkNotNewer(applied); err != nil {
		return err
	}
	pending := pendingVersions(applied)
	if len(applied) == 0 || len(pending) == 0 {
		return nil
	}
	dst := filepath.Join(dir, fmt.Sprintf("%s%s-%s.db", PreMigratePrefix, applied[len(applied)-1],
		time.Now().UTC().Format("20060102T150405Z")))
	if err := vacuumInto(ctx, s.w, dst); errors.Is(err, fs.ErrExist) {
		// Another process opening the database at the same moment took
		// this very copy (same version, same second).
		return nil
	} else if err != nil {
		return fmt.Errorf("migrate: backup before migrating (nothing was changed): %w", err)
	}
	s.logger.Info("database copied before migrating", "path", dst, "from_version", applied[len(applied)-1],
		"to_version", pending[len(pending)-1])
	return nil
}

// PreMigratePrefix starts the name of the copy Open takes before it
// migrates a database.
const PreMigratePrefix = "simgate-premigrate-"

// Statements run on every message are prepared once at Open: with
// modernc.org/sqlite, parsing and planning them costs more than running
// them. Each is registered by wrapping its package-level SQL in
// writeStmt or readStmt; the wrappers below use the prepared statement when
// there is one for the query and prepare on the fly otherwise. Statements
// cannot be prepared lazily on the writer: that would wait for its only
// connection while a transaction holds it.
var hotWrites, hotReads []string

func writeStmt(q string) string { hotWrites = append(hotWrites, q); return q }
func readStmt(q string) string  { hotReads = append(hotReads, q); return q }
func bothStmt(q string) string  { return readStmt(writeStmt(q)) }

type stmts map[string]*sql.Stmt

func prepare(ctx context.Context, db *sql.DB, qs []string) (stmts, error) {
	st := make(stmts, len(qs))
	for _, q := range qs {
		p, err := db.PrepareContext(ctx, q)
		if err != nil {
			st.close()
			return nil, fmt.Errorf("prepare %.40q: %w", q, err)
		}
		st[q] = p
	}
	return st, nil
}

func (st stmts) close() {
	for _, p := range st {
		p.Close()
	}
}

// timeLayout is fixed width, so stored times sort as strings.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// fmtTime stores t; the zero time is ”.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

// parseTime reads what fmtTime stored.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", s, err)
	}
	return t, nil
}

// timeCol scans a stored time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case nil:
	default:
		return fmt.Errorf("scan time: unexpected %T", src)
	}
	t, err := parseTime(s)
	if err != nil {
		return err
	}
	*c.t = t
	return nil
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	if pgCode(err) == pgUniqueViolation {
		return true
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
