package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
)

// Listing limits of Messages and Inbox.
const (
	defaultLimit = 50
	maxLimit     = 500
)

// messageCols is the column list scanMessage reads, in order.
const messageCols = `id, recipient, body, encoding, segments, priority, pin, status_report,
	status, error, attempts, concat_ref, modem, api_key, created_at, send_at, expires_at,
	next_attempt, sent_at, delivered_at, finished_at, route, owner_key,
	data, dest_port, source_port, flash, udh, validity`

// messageReadCols is what reads of a message select: messageCols, which
// an insert writes, and what only retention writes.
const messageReadCols = messageCols + `, body_purged_at`

// partCols is the column list scanPart reads, in order.
const partCols = `message_id, idx, status, mr, modem, sent_at, delivered_at, report_code, error`

type scanner interface{ Scan(dest ...any) error }

// collect scans every row of rows with scan, then closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func scanMessage(sc scanner) (*gateway.Message, error) {
	var (
		m          gateway.Message
		srr, flash int
		dest, src  sql.NullInt64
		validity   int64
	)
	err := sc.Scan(&m.ID, &m.To, &m.Text, &m.Encoding, &m.Segments, &m.Priority, &m.Pin, &srr,
		&m.Status, &m.Error, &m.Attempts, &m.ConcatRef, &m.Modem, &m.APIKey,
		timeCol{&m.CreatedAt}, timeCol{&m.SendAt}, timeCol{&m.ExpiresAt}, timeCol{&m.NextAttempt},
		timeCol{&m.SentAt}, timeCol{&m.DeliveredAt}, timeCol{&m.FinishedAt}, &m.Route, &m.OwnerKey,
		&m.Data, &dest, &src, &flash, &m.UDH, &validity, timeCol{&m.TextPurgedAt})
	if err != nil {
		return nil, err
	}
	m.StatusReport = srr != 0
	m.Ports = scanPorts(dest, src)
	m.Flash = flash != 0
	m.Validity = time.Duration(validity) * time.Second
	return &m, nil
}

func scanPart(sc scanner) (string, gateway.Part, error) {
	var (
		id string
		p  gateway.Part
		mr sql.NullInt64
	)
	err := sc.Scan(&id, &p.Index, &p.Status, &mr, &p.Modem,
		timeCol{&p.SentAt}, timeCol{&p.DeliveredAt}, &p.ReportCode, &p.Error)
	p.MR, p.HasMR = int(mr.Int64), mr.Valid
	return id, p, err
}

// querier is what reading a message needs: the read pool or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

var messageByIDSQL = bothStmt(`SELECT ` + messageReadCols + ` FROM messages WHERE id = ?`)

// The parts of one message are loaded with every message read.
var _ = bothStmt(partsSQL(1))

// partsSQL selects the parts of n messages.
func partsSQL(n int) string {
	return `SELECT ` + partCols + ` FROM parts WHERE message_id IN (` + strings.Repeat(",?", n)[1:] + `) ORDER BY message_id, idx`
}

// loadMessage reads one message with its parts; ErrNotFound when absent.
func loadMessage(ctx context.Context, q querier, id string) (*gateway.Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, messageByIDSQL, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("message %s: %w", id, gateway.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if err := loadParts(ctx, q, []*gateway.Message{m}); err != nil {
		return nil, err
	}
	return m, nil
}

// loadParts fills the parts of msgs in one query.
func loadParts(ctx context.Context, q querier, msgs []*gateway.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	byID := make(map[string]*gateway.Message, len(msgs))
	args := make([]any, len(msgs))
	for i, m := range msgs {
		byID[m.ID] = m
		m.Parts = m.Parts[:0]
		args[i] = m.ID
	}
	rows, err := q.QueryContext(ctx, partsSQL(len(msgs)), args...)
	if err != nil {
		return fmt.Errorf("load parts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		id, p, err := scanPart(rows)
		if err != nil {
			return fmt.Errorf("load parts: %w", err)
		}
		if m := byID[id]; m != nil {
			m.Parts = append(m.Parts, p)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load parts: %w", err)
	}
	return nil
}

var (
	idemSelectSQL = writeStmt(`SELECT body_hash, message_id FROM idempotency WHERE api_key = ? AND key = ?`)
	idemInsertSQL = writeStmt(`INSERT INTO idempotency (api_key, key, body_hash, message_id, created_at)
		VALUES (?, ?, ?, ?, ?)`)
	messageInsertSQL = writeStmt(`INSERT INTO messages (` + messageCols + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	partInsertSQL = writeStmt(`INSERT INTO parts (` + partCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
)

// CreateMessage commits m with its parts and, when idem.Key is set, its
// idempotency record, in one transaction. Parts are made from m.Segments
// when m.Parts is empty. A key already used by the same API key returns the
// message it created and true, or ErrIdempotencyReused when the body hash
// differs; the same key under another API key is unrelated.
func (s *Store) CreateMessage(ctx context.Context, m *gateway.Message, idem gateway.IdempotencyKey) (*gateway.Message, bool, error) {
	if err := validNewMessage(m); err != nil {
		return nil, false, fmt.Errorf("create message: %w", err)
	}
	status := m.Status
	if status == "" {
		status = gateway.StatusQueued
	}
	parts := newParts(m, status)

	var (
		existing string
		replayed bool
	)
	err := s.inTx(ctx, func(tx wtx) error {
		if idem.Key != "" {
			id, found, err := idempotentMessage(ctx, tx, idem)
			if err != nil {
				return err
			}
			if found {
				existing, replayed = id, true
				return nil
			}
		}
		if err := insertMessage(ctx, tx, m, status, parts); err != nil {
			return err
		}
		if idem.Key != "" {
			if _, err := tx.ExecContext(ctx, idemInsertSQL, idem.APIKey, idem.Key, idem.Hash, m.ID, fmtTime(m.CreatedAt)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("create message: %w", err)
	}
	if !replayed {
		// What was written, as a read would return it (times as stored):
		// no read after the commit on the path every message takes.
		return created(m, status, parts), false, nil
	}
	got, err := loadMessage(ctx, s.r, existing)
	if err != nil {
		return nil, false, fmt.Errorf("create message: %w", err)
	}
	return got, true, nil
}

// created is m as CreateMessage stored it: its status, its parts, and its
// times at the precision the store keeps.
func created(m *gateway.Message, status gateway.Status, parts []gateway.Part) *gateway.Message {
	out := *m
	out.Status = status
	out.Parts = make([]gateway.Part, len(parts))
	for i, p := range parts {
		if p.Status == "" {
			p.Status = status
		}
		p.SentAt, p.DeliveredAt = storedTime(p.SentAt), storedTime(p.DeliveredAt)
		out.Parts[i] = p
	}
	for _, t := range []*time.Time{&out.CreatedAt, &out.SendAt, &out.ExpiresAt, &out.NextAttempt, &out.SentAt, &out.DeliveredAt, &out.FinishedAt} {
		*t = storedTime(*t)
	}
	return &out
}

// storedTime is t as it reads back from the store.
func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	back, err := parseTime(fmtTime(t))
	if err != nil {
		return t
	}
	return back
}

// insertMessage inserts m and its parts in tx, in status unless a part
// says otherwise, and appends the event of that status.
func insertMessage(ctx context.Context, tx wtx, m *gateway.Message, status gateway.Status, parts []gateway.Part) error {
	dest, src := portArgs(m.Ports)
	var data any
	if m.Data != nil {
		data = m.Data
	}
	_, err := tx.ExecContext(ctx, messageInsertSQL,
		m.ID, m.To, m.Text, m.Encoding, m.Segments, int(m.Priority), m.Pin, boolInt(m.StatusReport),
		string(status), m.Error, m.Attempts, m.ConcatRef, m.Modem, m.APIKey,
		fmtTime(m.CreatedAt), fmtTime(m.SendAt), fmtTime(m.ExpiresAt), fmtTime(m.NextAttempt),
		fmtTime(m.SentAt), fmtTime(m.DeliveredAt), fmtTime(m.FinishedAt), m.Route, m.OwnerKey,
		data, dest, src, boolInt(m.Flash), blobArg(m.UDH), int64(m.Validity/time.Second))
	if isUnique(err) {
		return fmt.Errorf("message %s exists: %w", m.ID, gateway.ErrConflict)
	}
	if err != nil {
		return err
	}
	if status == gateway.StatusQueued && tx.enqueued != nil {
		*tx.enqueued = append(*tx.enqueued, m.Pin)
	}
	for _, p := range parts {
		ps := p.Status
		if ps == "" {
			ps = status
		}
		var mr any
		if p.HasMR {
			mr = p.MR
		}
		if _, err := tx.ExecContext(ctx, partInsertSQL,
			m.ID, p.Index, string(ps), mr, p.Modem, fmtTime(p.SentAt), fmtTime(p.DeliveredAt),
			p.ReportCode, p.Error); err != nil {
			return err
		}
	}
	if err := insertCallback(ctx, tx, m); err != nil {
		return err
	}
	view := *m
	view.Status = status
	ev, ok, err := gateway.MessageEvent(&view, m.CreatedAt)
	if err != nil || !ok {
		return err
	}
	return appendEvent(ctx, tx, ev)
}

// newParts is the parts of a message created without them: every segment
// in status.
func newParts(m *gateway.Message, status gateway.Status) []gateway.Part {
	if len(m.Parts) > 0 {
		return m.Parts
	}
	parts := make([]gateway.Part, m.Segments)
	for i := range parts {
		parts[i] = gateway.Part{Index: i + 1, Status: status, ReportCode: -1}
	}
	return parts
}

// idempotentMessage returns the ID of the message idem created, found
// false when idem is new; ErrIdempotencyReused when it was used with
// another body hash.
func idempotentMessage(ctx context.Context, tx wtx, idem gateway.IdempotencyKey) (id string, found bool, err error) {
	var hash string
	err = tx.QueryRowContext(ctx, idemSelectSQL, idem.APIKey, idem.Key).Scan(&hash, &id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, err
	case hash != idem.Hash:
		return "", false, gateway.ErrIdempotencyReused
	}
	return id, true, nil
}

func validNewMessage(m *gateway.Message) error {
	var reason string
	switch {
	case m.ID == "":
		reason = "empty id"
	case m.CreatedAt.IsZero():
		reason = "zero created_at"
	case m.Segments < 1:
		reason = "segments < 1"
	case len(m.Parts) != 0 && len(m.Parts) != m.Segments:
		reason = fmt.Sprintf("%d parts for %d segments", len(m.Parts), m.Segments)
	}
	if reason != "" {
		return fmt.Errorf("%s: %w", reason, gateway.ErrInvalid)
	}
	return nil
}

// Message returns the message id with its parts.
func (s *Store) Message(ctx context.Context, id string) (*gateway.Message, error) {
	m, err := loadMessage(ctx, s.r, id)
	if err != nil {
		return nil, fmt.Errorf("get message: %w", err)
	}
	return m, nil
}

// Messages lists messages newest first with their parts. The cursor is the
// (created_at, id) of the last row of the previous page, so pages stay
// stable while new messages arrive; next is "" on the last page.
func (s *Store) Messages(ctx context.Context, f gateway.MessageFilter) ([]*gateway.Message, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	where, args, err := messageWhere(f)
	if err != nil {
		return nil, "", fmt.Errorf("list messages: %w", err)
	}
	q := `SELECT ` + messageReadCols + ` FROM messages`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`
	args = append(args, limit+1, max(f.Offset, 0))

	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list messages: %w", err)
	}
	msgs, err := collect(rows, scanMessage)
	if err != nil {
		return nil, "", fmt.Errorf("list messages: %w", err)
	}
	rows.Close()

	var next string
	if len(msgs) > limit {
		msgs = msgs[:limit]
		last := msgs[limit-1]
		next = encodeCursor(fmtTime(last.CreatedAt), last.ID)
	}
	if err := loadParts(ctx, s.r, msgs); err != nil {
		return nil, "", fmt.Errorf("list messages: %w", err)
	}
	return msgs, next, nil
}

// messageWhere turns f's conditions into SQL and its arguments.
func messageWhere(f gateway.MessageFilter) (where []string, args []any, err error) {
	add := func(cond string, arg any) { where, args = append(where, cond), append(args, arg) }
	if f.Owner != 0 {
		add("owner_key = ?", f.Owner)
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	if f.To != "" {
		add("recipient = ?", f.To)
	}
	if f.Modem != "" {
		add("modem = ?", f.Modem)
	}
	// instr, not LIKE: the admin's input is text, never a pattern.
	if f.Number != "" {
		add("instr(recipient, ?) > 0", f.Number)
	}
	if f.Text != "" {
		add("instr(body, ?) > 0", f.Text)
	}
	if !f.From.IsZero() {
		add("created_at >= ?", fmtTime(f.From))
	}
	if !f.Until.IsZero() {
		add("created_at < ?", fmtTime(f.Until))
	}
	if f.Cursor != "" {
		created, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, nil, err
		}
		where, args = append(where, "(created_at, id) < (?, ?)"), append(args, created, id)
	}
	return where, args, nil
}

func encodeCursor(created, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(created + "|" + id))
}

func decodeCursor(c string) (created, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", "", fmt.Errorf("cursor: %w", gateway.ErrInvalid)
	}
	created, id, ok := strings.Cut(string(b), "|")
	if !ok || id == "" {
		return "", "", fmt.Errorf("cursor: %w", gateway.ErrInvalid)
	}
	if _, err := parseTime(created); err != nil || created == "" {
		return "", "", fmt.Errorf("cursor: %w", gateway.ErrInvalid)
	}
	return created, id, nil
}

// CancelMessage cancels a queued message and its unsent parts. A message
// being sent or already final gives ErrConflict: once a part may be on its
// way to the SMSC it can no longer be taken back.
func (s *Store) CancelMessage(ctx context.Context, id string, now time.Time) (*gateway.Message, error) {
	var m *gateway.Message
	err := s.inTx(ctx, func(tx wtx) error {
		if err := cancelQueued(ctx, tx, id, now); err != nil {
			return err
		}
		var err error
		m, err = loadMessage(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cancel message: %w", err)
	}
	return m, nil
}

// missingOrConflict explains why an update guarded by a status matched no
// row: the message does not exist, or it is in another state.
// cancelQueued cancels a queued message and its parts inside tx and
// appends its event; ErrConflict once it is sending or final.
func cancelQueued(ctx context.Context, tx wtx, id string, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE messages
		SET status = 'canceled', finished_at = ?, lease_until = ''
		WHERE id = ? AND status = 'queued'`, fmtTime(now), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return missingOrConflict(ctx, tx, id)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE parts SET status = 'canceled'
		WHERE message_id = ? AND status IN ('queued', 'sending')`, id); err != nil {
		return err
	}
	return appendMessageEvent(ctx, tx, id, now)
}

func missingOrConflict(ctx context.Context, tx wtx, id string) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM messages WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("message %s: %w", id, gateway.ErrNotFound)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("message %s is %s: %w", id, status, gateway.ErrConflict)
}
