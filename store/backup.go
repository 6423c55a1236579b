package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/simgate/simgate/gateway"
)

// ErrSchemaTooNew means the database was migrated by a newer simgate than
// this binary: it has schema versions this binary does not know, and
// opening it could corrupt what the newer one wrote.
var ErrSchemaTooNew = errors.New("database schema is newer than this simgate")

// SchemaTooNewError names both versions: the database's newest and the
// binary's newest.
type SchemaTooNewError struct {
	Database string // the newest version recorded in the database that the binary does not know
	Binary   string // the newest migration this binary has
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("the database's schema is version %s, newer than this simgate knows (its newest is %s): "+
		"run the newer simgate, or restore a backup taken before the upgrade (simgate restore)", e.Database, e.Binary)
}

// Unwrap makes errors.Is(err, ErrSchemaTooNew) hold.
func (e *SchemaTooNewError) Unwrap() error { return ErrSchemaTooNew }

// Backup writes a consistent copy of the database to dst while the store
// serves: SQLite's VACUUM INTO on a read connection, so the copy is the
// state of one moment (every commit that returned before Backup began is in
// it) and writers are not held up. The copy is written beside dst and
// renamed into place once synced, so dst is either whole or absent; dst must
// not exist yet.
func (s *Store) Backup(ctx context.Context, dst string) error {
	// The read pool is query_only, which VACUUM INTO obeys although it
	// writes only dst: one connection is lifted out of it for the copy and
	// discarded afterwards, so no connection that may write returns to the
	// pool.
	conn, err := s.r.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer conn.Close()
	defer conn.Raw(func(any) error { return driver.ErrBadConn }) // ErrBadConn: database/sql closes it
	if _, err := conn.ExecContext(ctx, `PRAGMA query_only = 0`); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return vacuumInto(ctx, conn, dst)
}

// BackupFile copies the database file src to dst as Backup does, without
// opening it as a Store (no migration, no data-directory lock): for
// "simgate backup" beside a running gateway or with none. src must exist.
func BackupFile(ctx context.Context, src, dst string) error {
	db, err := openRaw(src)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	return vacuumInto(ctx, db, dst)
}

// openRaw opens an existing database file without creating it. Only
// reads and VACUUM INTO (which writes another file) run on it.
func openRaw(path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(path, "mode=rw", "_pragma=busy_timeout(10000)"))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// vacuumInto runs VACUUM INTO a temporary file beside dst, syncs it and
// links it to dst, which must not exist.
func vacuumInto(ctx context.Context, db execer, dst string) (err error) {
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("backup: %s: %w", dst, fs.ErrExist)
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".simgate-backup-*.tmp") // 0600, empty: VACUUM INTO accepts an empty file
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpName) // after the link, only the temporary name goes
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmpName); err != nil {
		return fmt.Errorf("backup: vacuum into: %w", err)
	}
	if err := syncFile(tmpName); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Link(tmpName, dst); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := syncFile(dir); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// execer is a pool, a connection or a transaction.
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// syncFile fsyncs a file or a directory.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// BackupInfo is what CheckBackup found in a database file.
type BackupInfo struct {
	Version string // the newest schema version recorded in it
	Pending int    // migrations this binary would apply when opening it
}

// CheckBackup checks that the database file at path is whole (PRAGMA
// integrity_check), is a simgate database, and is not newer than this
// binary (ErrSchemaTooNew), before "simgate restore" puts it in place.
func CheckBackup(ctx context.Context, path string) (BackupInfo, error) {
	db, err := openRaw(path)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("check %s: %w", path, err)
	}
	defer db.Close()
	var res []string
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("check %s: not a readable SQLite database: %w", path, err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return BackupInfo{}, fmt.Errorf("check %s: %w", path, err)
		}
		res = append(res, line)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return BackupInfo{}, fmt.Errorf("check %s: %w", path, err)
	}
	if len(res) != 1 || res[0] != "ok" {
		return BackupInfo{}, fmt.Errorf("check %s: integrity_check failed: %s: %w", path, strings.Join(res, "; "), gateway.ErrInvalid)
	}
	applied, err := appliedVersions(ctx, db)
	if err != nil || len(applied) == 0 {
		return BackupInfo{}, fmt.Errorf("check %s: not a simgate database (no schema_migrations): %w", path, gateway.ErrInvalid)
	}
	if err := checkNotNewer(applied); err != nil {
		return BackupInfo{}, fmt.Errorf("check %s: %w", path, err)
	}
	return BackupInfo{Version: applied[len(applied)-1], Pending: len(pendingVersions(applied))}, nil
}

// appliedVersions lists the versions in schema_migrations, sorted.
func appliedVersions(ctx context.Context, q interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// knownVersions lists the embedded migrations' versions, sorted.
func knownVersions() []string {
	names, err := fs.Glob(migrations, "migrations/*.sql")
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

// checkNotNewer fails with a *SchemaTooNewError when applied holds a
// version this binary does not know.
func checkNotNewer(applied []string) error {
	return checkNotNewerThan(applied, knownVersions())
}

// checkNotNewerThan is checkNotNewer against the versions in known.
func checkNotNewerThan(applied, known []string) error {
	unknown := ""
	for _, v := range applied {
		if !slices.Contains(known, v) {
			unknown = v // applied is sorted: the newest unknown one
		}
	}
	if unknown != "" {
		return &SchemaTooNewError{Database: unknown, Binary: known[len(known)-1]}
	}
	return nil
}

// pendingVersions lists the known versions not in applied.
func pendingVersions(applied []string) []string {
	var p []string
	for _, v := range knownVersions() {
		if !slices.Contains(applied, v) {
			p = append(p, v)
		}
	}
	return p
}
