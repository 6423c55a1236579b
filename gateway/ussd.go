package gateway

import (
	"errors"
	"fmt"
)

// USSDStatus says what a USSD reply leaves to do (TS 27.007 §7.15 <m>).
type USSDStatus string

// The USSD statuses, as the API shows them.
const (
	// USSDDone: the network answered and wants nothing more (<m> 0).
	USSDDone USSDStatus = "done"
	// USSDMore: the network wants further input, a menu choice say; send
	// it as the next code to the same modem (<m> 1).
	USSDMore USSDStatus = "more"
	// USSDEnded: the network ended the session, or another client on the
	// modem answered it (<m> 2 and 3).
	USSDEnded USSDStatus = "ended"
)

// USSDReply is the network's answer to a USSD code, decoded.
type USSDReply struct {
	Text   string
	Status USSDStatus
}

var (
	// ErrUSSDUnsupported means the network does not support the code
	// (<m> 4).
	ErrUSSDUnsupported = errors.New("the network does not support this ussd code")
	// ErrUSSDTimeout means the network did not answer in time (<m> 5, or
	// the caller's deadline).
	ErrUSSDTimeout = errors.New("the network did not answer the ussd code in time")
	// ErrModemNotConnected means the modem an action names has no open
	// session (unknown, unplugged, or reconnecting).
	ErrModemNotConnected = errors.New("modem not connected")
)

// MaxUSSDCode is the longest code accepted: 182 characters is a USSD
// string's limit in GSM 7-bit (TS 23.038 §6.1.2.3); codes are far shorter.
const MaxUSSDCode = 182

// CheckUSSDCode refuses what cannot be a USSD code or answer: empty, too
// long, or other than digits, '*', '#' and '+' (a number in a top-up code).
func CheckUSSDCode(code string) error {
	switch {
	case code == "":
		return &ValidationError{Field: "code", Reason: "required: a USSD code such as *100#"}
	case len(code) > MaxUSSDCode:
		return &ValidationError{Field: "code", Reason: fmt.Sprintf("at most %d characters", MaxUSSDCode)}
	}
	for _, r := range code {
		if (r < '0' || r > '9') && r != '*' && r != '#' && r != '+' {
			return &ValidationError{Field: "code", Reason: "only digits, *, # and + (a code such as *100#, or a menu choice such as 1)"}
		}
	}
	return nil
}
