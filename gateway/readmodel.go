package gateway

import (
	"time"
)

// ModemSample is one reading of a modem's radio, kept for the status page's
// 24 h charts.
type ModemSample struct {
	At           time.Time
	State        ModemState
	Registration string
	CSQ, DBM     int
	Bars         int
	SignalKnown  bool
}

// HourCount is what a modem sent in one clock hour.
type HourCount struct {
	Hour   time.Time // start of the hour
	Sent   int       // parts accepted by the SMSC
	Failed int       // messages that ended failed
}

// ErrorEvent is one thing that went wrong, for the status page: a modem
// error (Message empty) or a message that failed.
type ErrorEvent struct {
	At      time.Time
	Modem   string // IMEI; "" when unknown
	Message string // ID of the failed message; "" for a modem error
	Error   string
}

// MessageTimes is when a message was created, due, sent and delivered,
// for the latency metrics.
type MessageTimes struct {
	To                                     string
	CreatedAt, SendAt, SentAt, DeliveredAt time.Time
}
