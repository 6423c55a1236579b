package gateway

import (
	"context"
	"time"
)

// Balance is a modem's credit as its balance check last read it from the
// network's USSD reply.
type Balance struct {
	Amount float64
	// Reply is the USSD reply the amount was found in.
	Reply string
	// Threshold is the amount below which the balance is low; Low says
	// whether it was at this reading. HasThreshold is false when the check
	// has none (Low is then false).
	Threshold    float64
	HasThreshold bool
	Low          bool
	CheckedAt    time.Time
}

// BalanceLowData is the data of modem.balance_low.
type BalanceLowData struct {
	IMEI      string    `json:"imei"`
	Balance   float64   `json:"balance"`
	Threshold float64   `json:"threshold"`
	Reply     string    `json:"reply"`
	CheckedAt time.Time `json:"checked_at"`
}

// BalanceStore keeps the balance checks' readings.
type BalanceStore interface {
	// RecordBalance stores imei's reading and, in the same transaction,
	// appends modem.balance_low when b is low and the previous reading
	// was not (or there was none), else modem.updated when the amount or
	// its lowness changed.
	RecordBalance(ctx context.Context, imei string, b Balance) error
}
