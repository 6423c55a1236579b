package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway"
)

var _ gateway.OTPStore = (*Store)(nil)

const otpCols = `id, recipient, email, purpose, channel, status, code_hash, code_sealed, code_length,
	attempts, max_attempts, sends, max_sends, fallback, fallback_done, watch, message_id, template,
	locale, domain, app_hash, country, prefix, api_key, block_reason, channels, created_at,
	expires_at, last_sent_at, fallback_at, finished_at, owner_key`

func scanOTP(sc scanner) (*gateway.OTPRecord, error) {
	var (
		r                  gateway.OTPRecord
		fb, fbDone, watch  int
		channels           string
		codeHash, codeSeal []byte
	)
	err := sc.Scan(&r.ID, &r.To, &r.Email, &r.Purpose, &r.Channel, &r.Status, &codeHash, &codeSeal,
		&r.Length, &r.Attempts, &r.MaxAttempts, &r.Sends, &r.MaxSends, &fb, &fbDone, &watch,
		&r.MessageID, &r.Template, &r.Locale, &r.Domain, &r.AppHash, &r.Country, &r.Prefix,
		&r.APIKey, &r.BlockReason, &channels, timeCol{&r.CreatedAt}, timeCol{&r.ExpiresAt},
		timeCol{&r.LastSentAt}, timeCol{&r.FallbackAt}, timeCol{&r.FinishedAt}, &r.OwnerKey)
	if err != nil {
		return nil, err
	}
	if len(codeHash) > 0 {
		r.CodeHash = codeHash
	}
	if len(codeSeal) > 0 {
		r.CodeSealed = codeSeal
	}
	r.Fallback, r.FallbackDone, r.Watch = fb != 0, fbDone != 0, watch != 0
	if err := json.Unmarshal([]byte(channels), &r.Channels); err != nil {
		return nil, fmt.Errorf("verification %s channels: %w", r.ID, err)
	}
	r.AttemptsLeft = max(r.MaxAttempts-r.Attempts, 0)
	return &r, nil
}

func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func channelsJSON(c []gateway.ChannelAttempt) (string, error) {
	if len(c) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(c)
	return string(b), err
}

var (
	otpByIDSQL   = bothStmt(`SELECT ` + otpCols + ` FROM otp_verifications WHERE id = ?`)
	otpOpenSQL   = bothStmt(`SELECT ` + otpCols + ` FROM otp_verifications WHERE owner_key = ? AND recipient = ? AND purpose = ? AND status IN ('pending', 'blocked')`)
	otpInsertSQL = writeStmt(`INSERT INTO otp_verifications (` + otpCols + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	// message_id is set apart, only when it changes: it is indexed, and a
	// column in the SET list costs its index an update even when unchanged
	// (every check of a code would pay it).
	otpUpdateSQL = writeStmt(`UPDATE otp_verifications SET status = ?, code_hash = ?, code_sealed = ?,
		attempts = ?, sends = ?, fallback_done = ?, watch = ?, block_reason = ?,
		channels = ?, expires_at = ?, last_sent_at = ?, fallback_at = ?, finished_at = ? WHERE id = ?`)
	otpMessageSQL   = writeStmt(`UPDATE otp_verifications SET message_id = ? WHERE id = ?`)
	otpSupersedeSQL = writeStmt(`UPDATE otp_verifications SET status = 'canceled', code_hash = X'',
		code_sealed = X'', watch = 0, finished_at = ? WHERE id = ?`)
	otpSendLogSQL    = writeStmt(`INSERT INTO otp_sends (verification_id, recipient, prefix, at) VALUES (?, ?, ?, ?)`)
	otpCountNumSQL   = writeStmt(`SELECT count(*) FILTER (WHERE at >= ?), count(*) FROM otp_sends WHERE recipient = ? AND at >= ?`)
	otpCountPfxSQL   = writeStmt(`SELECT count(*) FROM otp_sends WHERE prefix = ? AND at >= ?`)
	otpPrefixBlocked = writeStmt(`SELECT prefix, reason, sends, approvals, blocked_at, until FROM otp_blocked_prefixes WHERE prefix = ? AND until > ?`)
)

// CreateVerification implements gateway.OTPStore: the open verification of
// (owner, to, purpose) and the counts are read and the decision written in one
// transaction, so concurrent requests cannot pass a limit together.
func (s *Store) CreateVerification(ctx context.Context, now time.Time, owner int64, to, purpose, prefix string,
	decide func(existing *gateway.OTPRecord, c gateway.OTPCounts) (*gateway.OTPRecord, error)) (*gateway.OTPRecord, error) {
	var out *gateway.OTPRecord
	err := s.inTx(ctx, func(tx wtx) error {
		existing, err := scanOTP(tx.QueryRowContext(ctx, otpOpenSQL, owner, to, purpose))
		if errors.Is(err, sql.ErrNoRows) {
			existing, err = nil, nil
		}
		if err != nil {
			return err
		}
		var c gateway.OTPCounts
		if err := tx.QueryRowContext(ctx, otpCountNumSQL, fmtTime(now.Add(-time.Hour)), to, fmtTime(now.Add(-24*time.Hour))).
			Scan(&c.NumberHour, &c.NumberDay); err != nil {
			return err
		}
		if prefix != "" {
			if err := tx.QueryRowContext(ctx, otpCountPfxSQL, prefix, fmtTime(now.Add(-time.Hour))).Scan(&c.PrefixHour); err != nil {
				return err
			}
			b, err := scanBlocked(tx.QueryRowContext(ctx, otpPrefixBlocked, prefix, fmtTime(now)))
			switch {
			case err == nil:
				c.PrefixBlocked = &b
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		rec, err := decide(existing, c)
		if err != nil {
			return err
		}
		if rec == existing {
			out = existing
			return nil
		}
		if existing != nil {
			if _, err := tx.ExecContext(ctx, otpSupersedeSQL, fmtTime(now), existing.ID); err != nil {
				return err
			}
		}
		if err := insertOTP(ctx, tx, rec); err != nil {
			return err
		}
		if err := logSends(ctx, tx, rec, rec.Sends, now); err != nil {
			return err
		}
		out = rec
		return otpSideEffects(ctx, tx, rec, "", now)
	})
	if err != nil {
		return nil, fmt.Errorf("create verification: %w", err)
	}
	return out, nil
}

// otpSideEffects commits, in the verification's transaction, what its
// record asks for beside itself: the SMS carrying a new code, the cancel of
// a superseded one, and the event of a verification that was just approved
// or failed. now stamps the SMS; events take the record's finish time.
func otpSideEffects(ctx context.Context, tx wtx, r *gateway.OTPRecord, prev string, now time.Time) error {
	if r.CancelSMS != "" {
		err := cancelQueued(ctx, tx, r.CancelSMS, now)
		if err != nil && !errors.Is(err, gateway.ErrConflict) && !errors.Is(err, gateway.ErrNotFound) {
			return err // one already sending or final is left alone
		}
	}
	if m := r.QueueSMS; m != nil {
		if err := insertMessage(ctx, tx, m, gateway.StatusQueued, newParts(m, gateway.StatusQueued)); err != nil {
			return fmt.Errorf("queue otp sms: %w", err)
		}
	}
	r.QueueSMS, r.CancelSMS = nil, ""
	if r.Status == prev {
		return nil
	}
	typ := map[string]string{gateway.OTPApproved: gateway.EventOTPApproved, gateway.OTPFailed: gateway.EventOTPFailed}[r.Status]
	if typ == "" {
		return nil
	}
	at := r.FinishedAt
	if at.IsZero() {
		at = now
	}
	return appendNewEvent(ctx, tx, typ, r.ID, gateway.NewOTPEventData(&r.Verification), at)
}

func insertOTP(ctx context.Context, tx wtx, r *gateway.OTPRecord) error {
	ch, err := channelsJSON(r.Channels)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, otpInsertSQL, r.ID, r.To, r.Email, r.Purpose, r.Channel, r.Status,
		blob(r.CodeHash), blob(r.CodeSealed), r.Length, r.Attempts, r.MaxAttempts, r.Sends, r.MaxSends,
		boolInt(r.Fallback), boolInt(r.FallbackDone), boolInt(r.Watch), r.MessageID, r.Template,
		r.Locale, r.Domain, r.AppHash, r.Country, r.Prefix, r.APIKey, r.BlockReason, ch,
		fmtTime(r.CreatedAt), fmtTime(r.ExpiresAt), fmtTime(r.LastSentAt), fmtTime(r.FallbackAt),
		fmtTime(r.FinishedAt), r.OwnerKey)
	if isUnique(err) {
		return fmt.Errorf("verification %s: %w", r.ID, gateway.ErrConflict)
	}
	r.AttemptsLeft = max(r.MaxAttempts-r.Attempts, 0)
	return err
}

func logSends(ctx context.Context, tx wtx, r *gateway.OTPRecord, n int, now time.Time) error {
	for range n {
		if _, err := tx.ExecContext(ctx, otpSendLogSQL, r.ID, r.To, r.Prefix, fmtTime(now)); err != nil {
			return err
		}
	}
	return nil
}

// Verification implements gateway.OTPStore.
func (s *Store) Verification(ctx context.Context, id string) (*gateway.OTPRecord, error) {
	r, err := scanOTP(s.r.QueryRowContext(ctx, otpByIDSQL, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("verification %s: %w", id, gateway.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("verification %s: %w", id, err)
	}
	return r, nil
}

var otpByMessageSQL = readStmt(`SELECT ` + otpCols + ` FROM otp_verifications WHERE message_id = ? AND message_id <> ''`)

// VerificationByMessage returns the verification whose current code travels
// in message id; ErrNotFound when none.
func (s *Store) VerificationByMessage(ctx context.Context, messageID string) (*gateway.OTPRecord, error) {
	r, err := scanOTP(s.r.QueryRowContext(ctx, otpByMessageSQL, messageID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("verification of message %s: %w", messageID, gateway.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("verification of message %s: %w", messageID, err)
	}
	return r, nil
}

// PendingVerification implements gateway.OTPStore.
func (s *Store) PendingVerification(ctx context.Context, owner int64, to, purpose string) (*gateway.OTPRecord, error) {
	r, err := scanOTP(s.r.QueryRowContext(ctx, otpOpenSQL, owner, to, purpose))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("pending verification: %w", gateway.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pending verification: %w", err)
	}
	return r, nil
}

// UpdateVerification implements gateway.OTPStore. The write transaction
// serialises it with every other write, which is what makes a code single
// use: of two checks with the right code, the second reads it approved.
func (s *Store) UpdateVerification(ctx context.Context, id string, fn func(r *gateway.OTPRecord) (bool, error)) (*gateway.OTPRecord, error) {
	var out *gateway.OTPRecord
	var fnErr error
	err := s.inTx(ctx, func(tx wtx) error {
		r, err := scanOTP(tx.QueryRowContext(ctx, otpByIDSQL, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("verification %s: %w", id, gateway.ErrNotFound)
		}
		if err != nil {
			return err
		}
		sends, prev, msgID := r.Sends, r.Status, r.MessageID
		changed, err := fn(r)
		if err != nil {
			fnErr = err
			return err
		}
		r.AttemptsLeft = max(r.MaxAttempts-r.Attempts, 0)
		out = r
		if !changed {
			return nil
		}
		ch, err := channelsJSON(r.Channels)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, otpUpdateSQL, r.Status, blob(r.CodeHash), blob(r.CodeSealed),
			r.Attempts, r.Sends, boolInt(r.FallbackDone), boolInt(r.Watch), r.BlockReason,
			ch, fmtTime(r.ExpiresAt), fmtTime(r.LastSentAt), fmtTime(r.FallbackAt), fmtTime(r.FinishedAt), r.ID); err != nil {
			return err
		}
		if r.MessageID != msgID {
			if _, err := tx.ExecContext(ctx, otpMessageSQL, r.MessageID, r.ID); err != nil {
				return err
			}
		}
		if r.Sends > sends {
			if err := logSends(ctx, tx, r, r.Sends-sends, r.LastSentAt); err != nil {
				return err
			}
		}
		at := r.LastSentAt
		if r.FinishedAt.After(at) {
			at = r.FinishedAt
		}
		return otpSideEffects(ctx, tx, r, prev, at)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fmt.Errorf("update verification: %w", err)
	}
	return out, nil
}

// WatchedVerifications implements gateway.OTPStore.
func (s *Store) WatchedVerifications(ctx context.Context, limit int) ([]*gateway.OTPRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+otpCols+` FROM otp_verifications WHERE watch = 1 ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("watched verifications: %w", err)
	}
	out, err := collect(rows, scanOTP)
	if err != nil {
		return nil, fmt.Errorf("watched verifications: %w", err)
	}
	return out, nil
}

// ExpireVerifications implements gateway.OTPStore.
func (s *Store) ExpireVerifications(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE otp_verifications SET status = 'expired', code_hash = X'',
			code_sealed = X'', watch = 0, finished_at = ?
			WHERE status IN ('pending', 'blocked') AND expires_at <= ?`, fmtTime(now), fmtTime(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("expire verifications: %w", err)
	}
	return int(n), nil
}

// PurgeVerifications implements gateway.OTPStore.
func (s *Store) PurgeVerifications(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM otp_verifications
			WHERE finished_at <> '' AND finished_at < ? AND status NOT IN ('pending', 'blocked')`, fmtTime(before))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM otp_sends WHERE at < ?`, fmtTime(before)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM otp_blocked_prefixes WHERE until < ?`, fmtTime(before))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purge verifications: %w", err)
	}
	return int(n), nil
}

// OTPStats implements gateway.OTPStore.
func (s *Store) OTPStats(ctx context.Context, since time.Time) ([]gateway.OTPStat, error) {
	// Times are summed in milliseconds from julianday, which reads the
	// stored RFC 3339 times with their fractions.
	rows, err := s.r.QueryContext(ctx, `SELECT substr(v.created_at, 1, 10) AS day, v.country, count(*),
			coalesce(sum(v.sends), 0), count(*) FILTER (WHERE v.status = 'approved'),
			count(*) FILTER (WHERE v.block_reason <> ''),
			count(*) FILTER (WHERE m.delivered_at <> ''),
			coalesce(sum(round((julianday(m.delivered_at) - julianday(v.created_at)) * 86400000)) FILTER (WHERE m.delivered_at <> ''), 0),
			coalesce(sum(round((julianday(v.finished_at) - julianday(v.created_at)) * 86400000)) FILTER (WHERE v.status = 'approved'), 0)
		FROM otp_verifications v LEFT JOIN messages m ON m.id = v.message_id
		WHERE v.created_at >= ?
		GROUP BY day, v.country ORDER BY day, v.country`, fmtTime(since))
	if err != nil {
		return nil, fmt.Errorf("otp stats: %w", err)
	}
	defer rows.Close()
	var out []gateway.OTPStat
	for rows.Next() {
		var (
			st  gateway.OTPStat
			day string
		)
		var toDelivered, toApproved float64
		if err := rows.Scan(&day, &st.Country, &st.Verifications, &st.Sends, &st.Approvals, &st.Blocked,
			&st.Delivered, &toDelivered, &toApproved); err != nil {
			return nil, fmt.Errorf("otp stats: %w", err)
		}
		st.ToDelivered = time.Duration(toDelivered) * time.Millisecond
		st.ToApproved = time.Duration(toApproved) * time.Millisecond
		if st.Day, err = time.Parse(time.DateOnly, day); err != nil {
			return nil, fmt.Errorf("otp stats: %w", err)
		}
		if n := st.Verifications - st.Blocked; n > 0 {
			st.ConversionRate = float64(st.Approvals) / float64(n)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("otp stats: %w", err)
	}
	return out, nil
}

// PrefixConversion implements gateway.OTPStore.
func (s *Store) PrefixConversion(ctx context.Context, from, to time.Time) ([]gateway.PrefixConversion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT prefix, count(*), count(*) FILTER (WHERE status = 'approved')
		FROM otp_verifications
		WHERE created_at >= ? AND created_at < ? AND prefix <> '' AND block_reason = ''
		GROUP BY prefix ORDER BY prefix`, fmtTime(from), fmtTime(to))
	if err != nil {
		return nil, fmt.Errorf("prefix conversion: %w", err)
	}
	defer rows.Close()
	var out []gateway.PrefixConversion
	for rows.Next() {
		var c gateway.PrefixConversion
		if err := rows.Scan(&c.Prefix, &c.Verifications, &c.Approvals); err != nil {
			return nil, fmt.Errorf("prefix conversion: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("prefix conversion: %w", err)
	}
	return out, nil
}

func scanBlocked(sc scanner) (gateway.BlockedPrefix, error) {
	var b gateway.BlockedPrefix
	err := sc.Scan(&b.Prefix, &b.Reason, &b.Sends, &b.Approvals, timeCol{&b.BlockedAt}, timeCol{&b.Until})
	return b, err
}

// BlockPrefix implements gateway.OTPStore.
func (s *Store) BlockPrefix(ctx context.Context, b gateway.BlockedPrefix) error {
	err := s.inTx(ctx, func(tx wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO otp_blocked_prefixes (prefix, reason, sends, approvals, blocked_at, until)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (prefix) DO UPDATE SET reason = excluded.reason, sends = excluded.sends,
				approvals = excluded.approvals, blocked_at = excluded.blocked_at,
				until = CASE WHEN excluded.until > otp_blocked_prefixes.until THEN excluded.until ELSE otp_blocked_prefixes.until END`,
			b.Prefix, b.Reason, b.Sends, b.Approvals, fmtTime(b.BlockedAt), fmtTime(b.Until))
		return err
	})
	if err != nil {
		return fmt.Errorf("block prefix: %w", err)
	}
	return nil
}

// BlockedPrefixes implements gateway.OTPStore.
func (s *Store) BlockedPrefixes(ctx context.Context, now time.Time) ([]gateway.BlockedPrefix, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT prefix, reason, sends, approvals, blocked_at, until
		FROM otp_blocked_prefixes WHERE until > ? ORDER BY prefix`, fmtTime(now))
	if err != nil {
		return nil, fmt.Errorf("blocked prefixes: %w", err)
	}
	out, err := collect(rows, scanBlocked)
	if err != nil {
		return nil, fmt.Errorf("blocked prefixes: %w", err)
	}
	return out, nil
}
