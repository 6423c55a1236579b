// Package modemsim simulates GSM modems and the network between them, so
// that simgate, its tests and any serial SMS tool (gammu, minicom) can run
// without hardware.
//
// A [Modem] answers AT commands one at a time the way a USB module does:
// ITU-T V.250 command lines (echo, ";"-concatenation, ATZ, ATI), the
// identification, status and network commands of 3GPP TS 27.007 (+CGMI,
// +CGSN, +CIMI, +CCID, +CNUM, +CPIN, +CSQ, +CREG/+CGREG/+CEREG, +COPS,
// +CFUN, +CMEE, +CUSD) and the PDU-mode SMS commands of 3GPP TS 27.005
// (+CMGF, +CSMS, +CPMS, +CNMI, +CNMA, +CSCA, +CSMP, +CMGS with its "> "
// prompt, +CMGL, +CMGR, +CMGD). Unknown commands answer ERROR; errors are
// ERROR, +CME ERROR or +CMS ERROR as +CMEE selects. Message memories (SM,
// ME and SR) have a fixed number of slots.
//
// A [Network] links the modems. It decodes each SMS-SUBMIT (3GPP TS 23.040
// §9.2.2.2) with package pdu and keeps it as a [Record]; a SUBMIT to a
// number the network owns arrives at that modem as an SMS-DELIVER (§9.2.2.1)
// with the same user data and concatenation header; a SUBMIT with TP-SRR
// brings back an SMS-STATUS-REPORT (§9.2.2.3). New messages reach the host
// as +CNMI says: stored with +CMTI/+CDSI, routed with +CMT/+CDS (and
// +CNMA expected when AT+CSMS=1), or stored silently. Unsolicited lines are
// written between lines, never inside one, and may come while a command is
// waiting for the network.
//
// Transports: [Modem.Serve] on any io.ReadWriter, [Modem.Pipe] for an
// in-memory line, [Modem.OpenPTY] for a raw pseudo-terminal that serial
// libraries open like a USB modem's tty.
//
// Knobs, safe to turn while a host is connected: send latency
// ([Modem.SetSendLatency]), failures per destination ([Network.SetFailure],
// [Modem.SetFailure]), status-report outcome and delay
// ([Network.SetReport]), signal ([Modem.SetSignal]), registration with its
// URCs ([Modem.SetRegistration]), a SIM PIN ([Config.PIN]), unplug and
// replug ([Modem.Unplug], [Modem.Replug]) and reset ([Modem.Reset]) with
// the RDY … SMS Ready boot announcement, noise URCs inside responses
// ([Modem.SetNoise]), a "> " prompt that never comes ([Modem.SetNoPrompt]),
// the +CNMA deadline ([Modem.SetAckTimeout]), USSD answers
// ([Modem.SetUSSD]), hangs cured by a reset, a reopen of the port or a power
// cycle ([Modem.SetHang]), late answers ([Modem.SetAnswerDelay]), coming
// back on another pty after AT+CFUN=1,1 or a USB reset
// ([Modem.SetReenumerateOnReset], [Modem.Reenumerate]), a memory-full
// indication ([Modem.SetMemoryFullURC]), overflow from SM into ME
// ([Modem.SetStorageOverflow]) and messages stored behind the host's back
// ([Modem.Store]).
package modemsim
