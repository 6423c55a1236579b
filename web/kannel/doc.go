// Package kannel speaks Kannel's HTTP interface, so that the panels, CRMs
// and scripts written for Kannel's smsbox send through simgate unchanged:
// GET and POST /cgi-bin/sendsms, with Kannel's parameters and its answers
// byte for byte, and the dlr-url called back, with its escapes expanded,
// on the delivery events its dlr-mask asks for.
//
// A request is checked whole before anything is queued: a bad parameter
// gets Kannel's own answer and nothing is sent. Each receiver becomes a
// message of gateway.Service; a dlr-url is committed with its message (a
// gateway.MessageCallback), and the DLR follower (dlr.go) turns the
// message's events into rows of the callback outbox, which the webhook
// package's Callbacks delivers with the webhooks' retries and address
// rules.
package kannel
