// Package store persists simgate's gateway in one SQLite file
// (modernc.org/sqlite, pure Go): the outbound queue with its leases, the
// parts of each message with the TP-MR its +CMGS answered, delivery reports,
// received SMS, modems, API keys and settings. It implements gateway.Store.
//
// # Connections
//
// Writes go through a pool of exactly one connection, and every
// transaction begins IMMEDIATE: SQLite has one writer anyway, and waiting
// in Go for the connection is cheaper and fairer than retrying SQLITE_BUSY.
// Write transactions are requests to one writer goroutine that commits the
// requests waiting together, each in its own savepoint (group commit,
// writer.go); in durability full a syncer goroutine fsyncs the WAL for it
// and answers each request once its commit is on disk (syncer.go).
// Reads use a separate read-only pool; in WAL mode they never block the
// writer nor it them. busy_timeout is the first pragma, so that even the
// pragmas that write wait for another process (simgate apikey create next
// to simgate serve) rather than fail.
//
// # Schema
//
// Migrations are embedded (migrations/NNNN_name.sql), forward only, applied
// in lexical order at Open, each in its own transaction, and recorded in
// schema_migrations. Tables are STRICT, and every state column has a CHECK
// listing its states.
//
//   - messages: one row per outbound SMS, with its queue fields (priority,
//     pin, send_at, next_attempt, expires_at, lease_until) and its
//     lifecycle times.
//   - parts: one row per segment; status, TP-MR (TS 23.040 §9.2.3.6) once
//     sent, the modem that sent it and the last TP-Status (§9.2.3.15) a
//     status report gave.
//   - idempotency: (API key, Idempotency-Key) → body hash and message.
//   - inbound_parts, inbound: received SMS-DELIVER parts held raw until their
//     concatenated set (§9.2.3.24.1, .8) is complete, and joined messages
//     (a PDU that did not decode is one, raw, with the decoder's reason).
//   - modems: identity and last status by IMEI; api_keys: names, SHA-256
//     hashes (never keys) and scopes; settings: key/value.
//
// Times are fixed-width UTC text (2006-01-02T15:04:05.000000000Z), so that
// they compare as strings and read well in the sqlite3 shell; ” is the
// zero time. The store never reads a clock: every "now" is a parameter.
//
// # The claim
//
// ClaimNext is a single UPDATE … WHERE id = (SELECT … ORDER BY priority
// DESC, created_at, id LIMIT 1) RETURNING …. The choice of the message and
// the lease on it happen in one statement, so no other worker — in this
// process or another — can take the same message between the two, and no
// SELECT … FOR UPDATE (which SQLite lacks) is needed. The subquery looks at
// unpinned messages and at those pinned to the claiming modem separately,
// each in order along the partial index messages_claim (only queued and
// sending rows), and takes the better of the two heads: a claim reads a
// handful of index entries however long the queue, and a backlog pinned to
// an unplugged modem does not slow the others. A message left sending by a
// crash becomes claimable again when its lease ends (or at once through
// RecoverLeases, when the caller knows it is the only gateway); the part
// being sent at the crash may then go out twice, at most once more per
// modem. NextDue, the dispatcher's fallback timer, reads the first entry of
// small partial indexes on send_at, next_attempt and lease_until.
//
// Delivery reports (SMS-STATUS-REPORT, TS 23.040 §9.2.2.3) are matched on
// (modem, TP-MR, trailing digits of the recipient, recency), because the
// TP-MR is one octet and wraps, and SMSCs rewrite the recipient's format.
package store
