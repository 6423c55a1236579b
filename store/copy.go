package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Moving an installation from SQLite to PostgreSQL ("simgate migrate").
// Every table of the SQLite database is copied row by row, in one
// PostgreSQL transaction, into a target that has the same schema version
// and holds nothing yet: queued messages with their parts, verifications,
// keys, the inbox, webhooks and their outbox, the event log and its
// cursors. Columns are copied by name, so a column PostgreSQL has and
// SQLite lacks (modems.host) keeps its default.

// copyFirst orders the tables that others reference before those.
var copyFirst = []string{"api_keys", "messages", "webhook_endpoints"}

// ErrTargetNotEmpty means the target of CopyTo holds data already.
var ErrTargetNotEmpty = fmt.Errorf("the target database is not empty")

// CopyTo copies everything in src (SQLite) into dst (PostgreSQL) and
// returns the rows copied per table. dst must be at src's schema version
// (Open migrates both to this binary's) and empty, else ErrTargetNotEmpty
// and nothing is written.
func CopyTo(ctx context.Context, src, dst *Store) (map[string]int64, error) {
	if src.pg || !dst.pg {
		return nil, fmt.Errorf("copy: from SQLite to PostgreSQL only")
	}
	tables, err := copyTables(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	counts := map[string]int64{}
	err = dst.pgWrite(ctx, func(tx wtx) error {
		if err := untimed(ctx, tx); err != nil {
			return err
		}
		for _, t := range tables {
			var any bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+t+`)`).Scan(&any); err != nil {
				return err
			}
			if any {
				return fmt.Errorf("%w: table %s has rows (migrate fills an empty database only)", ErrTargetNotEmpty, t)
			}
		}
		for _, t := range tables {
			n, err := copyTable(ctx, src, tx, t)
			if err != nil {
				return fmt.Errorf("table %s: %w", t, err)
			}
			counts[t] = n
		}
		// The identity columns go on after the rows copied.
		for _, c := range [][2]string{{"api_keys", "id"}, {"inbound_parts", "id"}, {"events", "seq"}} {
			if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+c[0]+`', '`+c[1]+`'),
				coalesce((SELECT max(`+c[1]+`) FROM `+c[0]+`), 0) + 1, false)`); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	return counts, nil
}

// copyTables lists src's tables, those referenced first.
func copyTables(ctx context.Context, src *Store) ([]string, error) {
	rows, err := src.r.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'schema_migrations' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	names, err := collect(rows, scanString)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(names, func(a, b string) int {
		ia, ib := slices.Index(copyFirst, a), slices.Index(copyFirst, b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return 0
	})
	return names, nil
}

// copyTable copies every row of table t from src into tx.
func copyTable(ctx context.Context, src *Store, tx wtx, t string) (int64, error) {
	rows, err := src.r.QueryContext(ctx, `SELECT * FROM `+t)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO `+t+` (`+strings.Join(cols, ", ")+`) VALUES (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")+`)`)
	if err != nil {
		return 0, err
	}
	defer ins.Close()
	blobs, err := byteaColumns(ctx, tx, t, cols)
	if err != nil {
		return 0, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for _, i := range blobs {
			if b, ok := vals[i].([]byte); vals[i] == nil || ok && b == nil {
				vals[i] = []byte{} // SQLite reads an empty blob back as NULL
			}
		}
		if _, err := ins.ExecContext(ctx, vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// byteaColumns are the indexes in cols of t's bytea columns on PostgreSQL.
func byteaColumns(ctx context.Context, tx wtx, t string, cols []string) ([]int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = ? AND data_type = 'bytea'`, t)
	if err != nil {
		return nil, err
	}
	names, err := collect(rows, scanString)
	if err != nil {
		return nil, err
	}
	var idx []int
	for i, c := range cols {
		if slices.Contains(names, c) {
			idx = append(idx, i)
		}
	}
	return idx, nil
}
