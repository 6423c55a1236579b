package store

import (
	"context"
	"database/sql"
)

// wtx is one request's part of a write transaction (writer.go); it runs
// prepared statements where it can. Its methods take a ctx to read like
// database/sql's, but use ctx, the request's context without its cancel:
// canceling a statement would roll back the transaction that other
// requests share.
type wtx struct {
	*sql.Tx
	st       stmts
	appended *bool     // set by appendEvent: readers of the log are woken after the commit
	enqueued *[]string // pins of the messages insertMessage queued: their workers are woken at the commit (SQLite)
	ctx      context.Context
	pg       bool // run q's PostgreSQL form (dialect.go)
}

func (t wtx) ExecContext(_ context.Context, q string, args ...any) (sql.Result, error) {
	if t.pg {
		return t.Tx.ExecContext(t.ctx, pgSQL(q), args...)
	}
	if p := t.st[q]; p != nil {
		return t.Tx.StmtContext(t.ctx, p).ExecContext(t.ctx, args...)
	}
	return t.Tx.ExecContext(t.ctx, q, args...)
}

func (t wtx) QueryContext(_ context.Context, q string, args ...any) (*sql.Rows, error) {
	if t.pg {
		return t.Tx.QueryContext(t.ctx, pgSQL(q), args...)
	}
	if p := t.st[q]; p != nil {
		return t.Tx.StmtContext(t.ctx, p).QueryContext(t.ctx, args...)
	}
	return t.Tx.QueryContext(t.ctx, q, args...)
}

func (t wtx) QueryRowContext(_ context.Context, q string, args ...any) *sql.Row {
	if t.pg {
		return t.Tx.QueryRowContext(t.ctx, pgSQL(q), args...)
	}
	if p := t.st[q]; p != nil {
		return t.Tx.StmtContext(t.ctx, p).QueryRowContext(t.ctx, args...)
	}
	return t.Tx.QueryRowContext(t.ctx, q, args...)
}

// PrepareContext prepares q in the transaction, in the database's dialect.
func (t wtx) PrepareContext(_ context.Context, q string) (*sql.Stmt, error) {
	if t.pg {
		q = pgSQL(q)
	}
	return t.Tx.PrepareContext(t.ctx, q)
}

// rdb is the read-only pool, running prepared statements where it can.
type rdb struct {
	*sql.DB
	st stmts
	pg bool // run q's PostgreSQL form (dialect.go)
}

func (r rdb) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if r.pg {
		return r.DB.QueryContext(ctx, pgSQL(q), args...)
	}
	if p := r.st[q]; p != nil {
		return p.QueryContext(ctx, args...)
	}
	return r.DB.QueryContext(ctx, q, args...)
}

func (r rdb) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if r.pg {
		return r.DB.QueryRowContext(ctx, pgSQL(q), args...)
	}
	if p := r.st[q]; p != nil {
		return p.QueryRowContext(ctx, args...)
	}
	return r.DB.QueryRowContext(ctx, q, args...)
}

// wdb is the write connection (SQLite) or the pool (PostgreSQL), for the
// writes made outside a transaction, in the database's dialect.
type wdb struct {
	*sql.DB
	pg bool
}

func (w wdb) q(q string) string {
	if w.pg {
		return pgSQL(q)
	}
	return q
}

func (w wdb) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return w.DB.ExecContext(ctx, w.q(q), args...)
}

func (w wdb) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return w.DB.QueryContext(ctx, w.q(q), args...)
}

func (w wdb) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return w.DB.QueryRowContext(ctx, w.q(q), args...)
}

// execHot runs the prepared write q outside a transaction (SQLite's writer
// connection), or q on PostgreSQL's pool.
func (s *Store) execHot(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s.pg {
		return s.w.ExecContext(ctx, q, args...)
	}
	return s.ws[q].ExecContext(ctx, args...)
}
