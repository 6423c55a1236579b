// Package ui is simgate's status page at /: admin login with server-side
// sessions and CSRF tokens, one row per modem live over server-sent events,
// the message log, the inbox, OTP statistics and, with virtual modems, the
// "Try it" page. Pages are server-rendered html/template with inline SVG
// charts; templates and static files are embedded, because the gateway
// often runs on a LAN without internet. routes.go lists its routes.
//
// It does not import web/api: what both need of the gateway, each declares.
package ui
