// Package smsgate serves SMS Gateway for Android's ("SMSGate") 3rd-party API
// under /3rdparty/v1, so that applications written for an Android phone
// running SMSGate, and its published client libraries, work with simgate
// unchanged: Basic auth with an API key's name and the key, messages to
// several numbers tracked as one (a gateway.MessageGroup), their states in
// SMSGate's words, webhooks in its envelope and signature (a
// webhook.Formatter over the gateway's one outbox), the inbox, modems as
// devices, and health. Errors are SMSGate's shape, {"message": "…"}, not
// the native API's problem+json.
//
// docs/MIGRATING.md maps SMSGate's settings and calls to simgate's.
package smsgate
