// Package modem drives GSM modems over AT commands in PDU mode.
//
// It implements the parts of 3GPP TS 27.007 (AT command set for User
// Equipment: identity, +CPIN, +CSQ, +CREG/+CGREG/+CEREG, +COPS, +CUSD,
// +CME ERROR) and 3GPP TS 27.005 (SMS in PDU mode: +CMGF, +CSMS, +CNMI,
// +CMGS, +CMGL, +CMGR, +CMGD, +CPMS, +CSCA, +CNMA, +CMS ERROR) that an SMS
// gateway needs, over ITU-T V.250 command lines. USSD strings are decoded
// per the CBS data coding scheme of 3GPP TS 23.038.
//
// The AT engine is package at: it sees only an io.ReadWriter, runs one
// command at a time and hands unsolicited lines to indications registered
// by prefix. Modem registers its own (+CMTI, +CMT, +CDSI, +CDS, +CBM,
// +CREG/+CGREG/+CEREG, +CUSD, RING, the vendors' boot messages) and turns
// them into Events, in order, even when they arrive inside a command's
// response or its echo. It gives +CME/+CMS ERROR results their meaning
// (CMEError, CMSError, ErrorClass) in one place. Every call takes a
// context; after EOF or a read error every call returns ErrClosed. PDUs
// cross the API as hex strings: encoding them is package pdu's job.
//
// Open and Discover add serial ports (go.bug.st/serial, the bytes read in
// Go's poller: port.go) and USB discovery;
// Profile covers vendor quirks (Huawei, SIMCom, Quectel, Sierra, Gemalto).
package modem
