package apiv1

// USSDRequest is the body of POST /api/v1/modems/{imei}/ussd: a code such
// as "*100#", or the answer to a reply whose status was "more" (a menu
// choice such as "1"). Digits, '*', '#' and '+' only.
type USSDRequest struct {
	Code string `json:"code"`
}

// USSDReply is the answer to POST /api/v1/modems/{imei}/ussd: the code
// sent, the network's reply decoded to text, and what it leaves to do.
type USSDReply struct {
	Code   string `json:"code"`
	Reply  string `json:"reply"`
	Status string `json:"status"` // one of the USSDStatus values
}

// The statuses of a USSD reply (TS 27.007 §7.15 <m>).
const (
	// USSDStatusDone: the network answered and wants nothing more.
	USSDStatusDone = "done"
	// USSDStatusMore: the network wants further input (a menu); POST the
	// choice as the next code to the same modem.
	USSDStatusMore = "more"
	// USSDStatusEnded: the network ended the session, or another client on
	// the modem answered it.
	USSDStatusEnded = "ended"
)
