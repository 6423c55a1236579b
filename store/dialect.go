package store

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// The dialect layer. Every query of the store is written once, in SQLite's
// dialect, and PostgreSQL runs it through pgSQL: the query's PostgreSQL
// twin when it has one (registered with twin, for the few whose SQL
// differs: scalar max, rowid, json_each, the claim's FOR UPDATE SKIP
// LOCKED), else the same text with SQLite's placeholders (? and ?N)
// renumbered to PostgreSQL's ($N), its empty blob X'' written '\x'::bytea
// and rowid read as ctid (the row's address: what the queries ask of rowid
// is a row's identity in a subquery and a tie-breaker). The functions SQLite
// has and PostgreSQL lacks (instr, julianday, json_each of an array) are
// created by the PostgreSQL migrations, so the queries that use them need
// no twin.

// twins maps a SQLite query to its PostgreSQL twin. It is filled at
// package initialisation only (twin is called for package-level vars), so
// reads need no lock.
var twins = map[string]string{}

// twin registers postgres as the PostgreSQL form of the SQLite query q
// and returns q. Its placeholders are PostgreSQL's own ($N).
func twin(q, postgres string) string {
	if _, dup := twins[q]; dup {
		panic("store: two PostgreSQL twins for one query: " + q)
	}
	twins[q] = postgres
	return q
}

var rowid = regexp.MustCompile(`\browid\b`)

// rebound caches pgSQL's renumbering: the store runs a few hundred
// distinct queries, over and over.
var rebound sync.Map // string → string

// pgSQL is the PostgreSQL form of the SQLite query q.
func pgSQL(q string) string {
	if p, ok := twins[q]; ok {
		return p
	}
	if p, ok := rebound.Load(q); ok {
		return p.(string)
	}
	p := renumber(rowid.ReplaceAllString(strings.ReplaceAll(q, `X''`, `'\x'::bytea`), "ctid"))
	rebound.Store(q, p)
	return p
}

// renumber turns SQLite's placeholders into PostgreSQL's: each bare ? is
// the next number, ?N is $N. Quoted strings, quoted identifiers and
// comments are copied as they are.
func renumber(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	next := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(q[i+1:], c)
			if end < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+end+2])
			i += end + 1
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+end])
			i += end - 1
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(q[i+1 : j])
			} else {
				next++
				b.WriteString(strconv.Itoa(next))
			}
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
