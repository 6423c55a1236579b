// Package gateway is simgate's business: outbound messages and their
// states, the Service that accepts them, the Dispatcher that sends them
// through GSM modems, delivery reports, inbound SMS and the modem
// supervisor. It declares what it consumes (Store, Device, Clock) and
// imports neither the store, the web layer nor the modem driver; package
// cmd/simgate wires them.
//
// Standards it follows:
//   - ITU-T E.164 numbers, normalised with libphonenumber
//     (github.com/nyaruka/phonenumbers): national input is read in a
//     configured default region, short codes are allowed only when
//     configured, emergency numbers never;
//   - 3GPP TS 23.040 §9.2.2.2 SMS-SUBMIT (built by package pdu): all parts
//     of a concatenated message (§9.2.3.24.1) carry one reference fixed at
//     enqueue, TP-SRR (§9.2.3.5) asks for reports, and TP-VP (§9.2.3.12)
//     carries what is left of the message's TTL;
//   - 3GPP TS 27.005 §3.5.1 AT+CMGS: the TP-MR it answers is recorded per
//     part as soon as it arrives, since §9.2.3.6 reports quote it;
//   - 3GPP TS 24.011 annex E-2 (RP-cause), TS 23.040 §9.2.3.22 (TP-FCS) and
//     TS 27.005 §3.2.5 (ME/TA) error codes, which the Device adapter maps to
//     an ErrorClass that decides retries (see below).
//
// # Queue and workers
//
// The Service validates a request, commits the message (every part queued)
// and only then wakes the Dispatcher; it returns at once. The Dispatcher has
// one worker per modem. An idle worker waits on a one-slot channel that Wake
// fills, so it claims within a scheduler tick of a commit; timers only cover
// what becomes due later (send_at, retry backoff, an expired lease), and a
// poll fallback covers a missed wake-up. A worker claims with a lease, sends
// the parts one by one, records each MR before the next part, marks the
// message sent and claims again at once.
//
// # Errors and retries (at-pdu.md §3.8)
//
//   - permanent (the number, the subscription) and bad_pdu: the message
//     fails with the modem's words, e.g. "+CMS ERROR: 1 (unassigned number)",
//     and leaves the queue at once, so it blocks nothing behind it. A refused
//     validity period (TP-FCS 0xC6/0xC7) is first retried once without one;
//   - transient (network busy): a counted attempt; the message returns to
//     the queue, unpinned, after the RetryBackoff step of its attempt, and
//     whichever modem claims it then sends it;
//   - modem_state (SIM busy, not registered): not the message's fault: it
//     returns at once, uncounted, for another modem, and the worker pauses
//     (1 s doubling to 30 s);
//   - the device gone: the message returns at once, uncounted, and the
//     worker ends; the Supervisor attaches the modem again when it is back;
//   - anything else (a timeout with no answer): a counted attempt, and the
//     worker pauses.
//
// After MaxAttempts counted attempts the message fails.
//
// # Multipart messages and failover
//
// A handset joins concatenated parts by sender and reference, so the parts
// of one message must all come from one modem. A message returned to the
// queue after some parts went out keeps their MRs; the store's claim does
// not pin it to the modem that sent them, so another modem may claim it.
// That modem then sends every part again, with the same reference: the
// recipient may see the earlier parts twice, but gets the whole text from
// one sender. The same modem continues where it stopped.
//
// The store cannot extend a lease. Before a part that could outlive the
// lease, the worker returns the message (uncounted, unannounced) and claims
// again; the message, first in the queue, normally comes straight back. An
// idle worker woken in that instant (by an enqueue or the poll) may take it
// instead and send it whole, as above.
//
// A crash mid-send leaves the message sending until its lease ends; it is
// then claimed again and the part in flight at the crash may go twice
// (DESIGN.md §4).
//
// # Limits
//
// A modem's SendInterval spaces its parts; its DailyCap counts parts per
// local calendar day. A message that would cross the cap is returned
// (unpinned: at once, for other modems; pinned: for tomorrow) and the worker
// rests until local midnight. A message larger than the whole cap still goes
// out as the first of a day.
package gateway
