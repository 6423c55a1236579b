package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/simgate/simgate/gateway"
)

var _ gateway.BalanceStore = (*Store)(nil)

// RecordBalance stores imei's balance reading and appends its event in the
// same transaction: modem.balance_low when b is low and the previous
// reading was not (so once per crossing), modem.updated when the amount or
// its lowness changed otherwise (the status page shows both).
func (s *Store) RecordBalance(ctx context.Context, imei string, b gateway.Balance) error {
	if imei == "" || b.CheckedAt.IsZero() {
		return fmt.Errorf("record balance: empty imei or time: %w", gateway.ErrInvalid)
	}
	err := s.inTx(ctx, func(tx wtx) error {
		var (
			prevAmount float64
			prevLow    int
			seen       = true
		)
		err := tx.QueryRowContext(ctx, `SELECT amount, low FROM modem_balances WHERE imei = ?`, imei).Scan(&prevAmount, &prevLow)
		if errors.Is(err, sql.ErrNoRows) {
			seen, err = false, nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO modem_balances (imei, amount, reply, threshold, has_threshold, low, checked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (imei) DO UPDATE SET amount = excluded.amount, reply = excluded.reply,
				threshold = excluded.threshold, has_threshold = excluded.has_threshold, low = excluded.low,
				checked_at = excluded.checked_at`,
			imei, b.Amount, b.Reply, b.Threshold, boolInt(b.HasThreshold), boolInt(b.Low), fmtTime(b.CheckedAt)); err != nil {
			return err
		}
		switch {
		case b.Low && (!seen || prevLow == 0):
			return appendNewEvent(ctx, tx, gateway.EventModemBalanceLow, imei, gateway.BalanceLowData{
				IMEI: imei, Balance: b.Amount, Threshold: b.Threshold, Reply: b.Reply, CheckedAt: b.CheckedAt.UTC(),
			}, b.CheckedAt)
		case !seen || prevAmount != b.Amount || (prevLow != 0) != b.Low:
			return appendNewEvent(ctx, tx, gateway.EventModemUpdated, imei, balanceUpdate{IMEI: imei, Balance: b.Amount}, b.CheckedAt)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record balance: %w", err)
	}
	return nil
}

// balanceUpdate is the data of the modem.updated a new balance appends.
type balanceUpdate struct {
	IMEI    string  `json:"imei"`
	Balance float64 `json:"balance"`
}

// modemBalances returns every modem's last reading, by IMEI.
func (s *Store) modemBalances(ctx context.Context) (map[string]*gateway.Balance, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT imei, amount, reply, threshold, has_threshold, low, checked_at FROM modem_balances`)
	if err != nil {
		return nil, fmt.Errorf("modem balances: %w", err)
	}
	defer rows.Close()
	out := map[string]*gateway.Balance{}
	for rows.Next() {
		var (
			imei     string
			b        gateway.Balance
			has, low int
		)
		if err := rows.Scan(&imei, &b.Amount, &b.Reply, &b.Threshold, &has, &low, timeCol{&b.CheckedAt}); err != nil {
			return nil, fmt.Errorf("modem balances: %w", err)
		}
		b.HasThreshold, b.Low = has != 0, low != 0
		out[imei] = &b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("modem balances: %w", err)
	}
	return out, nil
}
