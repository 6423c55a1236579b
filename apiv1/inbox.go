package apiv1

import "time"

// InboxMessage is a received SMS.
type InboxMessage struct {
	ID         string `json:"id"`
	From       string `json:"from"`
	Text       string `json:"text"`
	TextPurged bool   `json:"text_purged,omitempty"` // the text was removed by retention; the rest is kept
	// Data is a data SMS's bytes (base64), in place of a text; Port and
	// SourcePort its application ports, absent when it had none.
	Data       []byte     `json:"data,omitempty"`
	Port       *int       `json:"port,omitempty"`
	SourcePort *int       `json:"source_port,omitempty"`
	Flash      bool       `json:"flash,omitempty"` // a class 0 SMS
	ReceivedAt *time.Time `json:"received_at"`
	Modem      string     `json:"modem"` // IMEI of the modem that received it
	// Parts is how many SMS it was joined from; Missing, how many of them
	// never came (the text has a gap where they belong).
	Parts   int `json:"parts"`
	Missing int `json:"missing"`
	// PDU and Error are set only for an SMS whose PDU did not decode: its
	// hex as the modem printed it (until retention removes it with the
	// texts) and the decoder's reason. Its text is then empty.
	PDU   string `json:"pdu,omitempty"`
	Error string `json:"error,omitempty"`
}

// Inbox is the answer to GET /api/v1/inbox.
type Inbox struct {
	Messages []InboxMessage `json:"messages"`
}

// Modem is a modem with today's counters. Signal is null until measured;
// LastError is null when there has been none.
type Modem struct {
	ID           string  `json:"id"`             // IMEI
	Host         string  `json:"host,omitempty"` // the gateway host that has it, when several share a database
	Port         string  `json:"port"`
	Manufacturer string  `json:"manufacturer"`
	Model        string  `json:"model"`
	Operator     string  `json:"operator"`
	Registration string  `json:"registration"`
	Signal       *Signal `json:"signal"`
	State        string  `json:"state"`
	QueueDepth   int     `json:"queue_depth"`
	Sent         int     `json:"sent"`
	Failed       int     `json:"failed"`
	LastError    *string `json:"last_error"`
	// PausedUntil is when the modem takes messages again after the network
	// refused a send for now (+CMS ERROR 331, 332, …); PauseReason is that
	// refusal. Both null when it is not paused.
	PausedUntil *time.Time `json:"paused_until"`
	PauseReason *string    `json:"pause_reason"`
	// Balance is the last scheduled balance check's reading; null until
	// one found an amount (or when no check is configured).
	Balance *Balance `json:"balance"`
}

// Balance is a modem's credit as read from the network's USSD reply.
// Threshold is null when the check has none; Low is amount < threshold.
type Balance struct {
	Amount    float64   `json:"amount"`
	Reply     string    `json:"reply"`
	Threshold *float64  `json:"threshold"`
	Low       bool      `json:"low"`
	CheckedAt time.Time `json:"checked_at"`
}

// Signal is +CSQ as read, in dBm, and as 0–4 bars.
type Signal struct {
	CSQ  int `json:"csq"`
	DBM  int `json:"dbm"`
	Bars int `json:"bars"`
}

// ModemList is the answer to GET /api/v1/modems.
type ModemList struct {
	Modems []Modem `json:"modems"`
}
