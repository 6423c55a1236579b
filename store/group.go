package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/simgate/simgate/gateway"
)

var _ gateway.Groups = (*Store)(nil)

// CreateGroup commits g and its messages (each with its parts and its
// message.queued event) in one transaction; ErrConflict when g.Owner has a
// group g.ID already, and then nothing is written.
func (s *Store) CreateGroup(ctx context.Context, g gateway.MessageGroup, msgs []*gateway.Message) error {
	if g.ID == "" || g.Kind == "" || g.CreatedAt.IsZero() || len(msgs) == 0 || len(g.Members) != len(msgs) {
		return fmt.Errorf("create group %q: %w", g.ID, gateway.ErrInvalid)
	}
	for _, m := range msgs {
		if err := validNewMessage(m); err != nil {
			return fmt.Errorf("create group %q: %w", g.ID, err)
		}
	}
	err := s.inTx(ctx, func(tx wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO message_groups (owner_key, id, kind, created_at) VALUES (?, ?, ?, ?)`,
			g.Owner, g.ID, g.Kind, fmtTime(g.CreatedAt))
		if isUnique(err) {
			return fmt.Errorf("group %s exists: %w", g.ID, gateway.ErrConflict)
		}
		if err != nil {
			return err
		}
		for i, m := range msgs {
			status := m.Status
			if status == "" {
				status = gateway.StatusQueued
			}
			if err := insertMessage(ctx, tx, m, status, newParts(m, status)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO message_group_members (owner_key, group_id, idx, message_id, recipient)
				VALUES (?, ?, ?, ?, ?)`, g.Owner, g.ID, i, m.ID, g.Members[i].Recipient); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	return nil
}

// Group returns owner's group id with its messages in member order (owner
// 0: the oldest group of that ID of any owner).
func (s *Store) Group(ctx context.Context, owner int64, id string) (gateway.MessageGroup, []*gateway.Message, error) {
	q := `SELECT owner_key, id, kind, created_at FROM message_groups WHERE id = ?`
	args := []any{id}
	if owner != 0 {
		q += ` AND owner_key = ?`
		args = append(args, owner)
	}
	var g gateway.MessageGroup
	err := s.r.QueryRowContext(ctx, q+` ORDER BY created_at LIMIT 1`, args...).Scan(&g.Owner, &g.ID, &g.Kind, timeCol{&g.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return g, nil, fmt.Errorf("group %s: %w", id, gateway.ErrNotFound)
	}
	if err != nil {
		return g, nil, fmt.Errorf("group %s: %w", id, err)
	}
	gs, msgs, err := s.withMembers(ctx, []gateway.MessageGroup{g})
	if err != nil {
		return g, nil, err
	}
	return gs[0], msgs[0], nil
}

// GroupsOf lists the groups f selects, newest first, with their messages,
// and counts them all.
func (s *Store) GroupsOf(ctx context.Context, f gateway.GroupFilter) ([]gateway.MessageGroup, [][]*gateway.Message, int, error) {
	var (
		where []string
		args  []any
	)
	if f.Owner != 0 {
		where, args = append(where, "owner_key = ?"), append(args, f.Owner)
	}
	if !f.From.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, fmtTime(f.From))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, fmtTime(f.Until))
	}
	cond := ""
	if len(where) > 0 {
		cond = ` WHERE ` + strings.Join(where, " AND ")
	}
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM message_groups`+cond, args...).Scan(&total); err != nil {
		return nil, nil, 0, fmt.Errorf("count groups: %w", err)
	}
	q := `SELECT owner_key, id, kind, created_at FROM message_groups` + cond + ` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ? OFFSET ?`
		args = append(args, f.Limit, max(f.Offset, 0))
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("list groups: %w", err)
	}
	gs, err := collect(rows, func(sc scanner) (gateway.MessageGroup, error) {
		var g gateway.MessageGroup
		err := sc.Scan(&g.Owner, &g.ID, &g.Kind, timeCol{&g.CreatedAt})
		return g, err
	})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("list groups: %w", err)
	}
	gs, msgs, err := s.withMembers(ctx, gs)
	return gs, msgs, total, err
}

// withMembers reads the members of gs and their messages, in member order.
func (s *Store) withMembers(ctx context.Context, gs []gateway.MessageGroup) ([]gateway.MessageGroup, [][]*gateway.Message, error) {
	out := make([][]*gateway.Message, len(gs))
	for i := range gs {
		rows, err := s.r.QueryContext(ctx, `SELECT `+prefixed("m.", messageReadCols)+`, g.recipient
			FROM message_group_members g JOIN messages m ON m.id = g.message_id
			WHERE g.owner_key = ? AND g.group_id = ? ORDER BY g.idx`, gs[i].Owner, gs[i].ID)
		if err != nil {
			return nil, nil, fmt.Errorf("group %s members: %w", gs[i].ID, err)
		}
		type member struct {
			m         *gateway.Message
			recipient string
		}
		ms, err := collect(rows, func(sc scanner) (member, error) {
			var rec string
			m, err := scanMessage(recipientScanner{sc, &rec})
			return member{m, rec}, err
		})
		if err != nil {
			return nil, nil, fmt.Errorf("group %s members: %w", gs[i].ID, err)
		}
		gs[i].Members = make([]gateway.GroupMember, len(ms))
		out[i] = make([]*gateway.Message, len(ms))
		for j, x := range ms {
			gs[i].Members[j] = gateway.GroupMember{MessageID: x.m.ID, Recipient: x.recipient}
			out[i][j] = x.m
		}
		if err := loadParts(ctx, s.r, out[i]); err != nil {
			return nil, nil, fmt.Errorf("group %s: %w", gs[i].ID, err)
		}
	}
	return gs, out, nil
}

// recipientScanner scans a message row followed by one more column.
type recipientScanner struct {
	sc  scanner
	rec *string
}

func (r recipientScanner) Scan(dest ...any) error { return r.sc.Scan(append(dest, r.rec)...) }

// prefixed qualifies each column of a column list with p.
func prefixed(p, cols string) string {
	fields := strings.Split(cols, ",")
	for i, f := range fields {
		fields[i] = p + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

// GroupOfMessage returns the ID of the group message id belongs to.
func (s *Store) GroupOfMessage(ctx context.Context, id string) (string, error) {
	var g string
	err := s.r.QueryRowContext(ctx, `SELECT group_id FROM message_group_members WHERE message_id = ?`, id).Scan(&g)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("group of %s: %w", id, gateway.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("group of %s: %w", id, err)
	}
	return g, nil
}
