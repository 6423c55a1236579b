-- 0040: the event log. Every state change that matters (a message queued,
-- sent, delivered, failed, expired or canceled; an SMS received; an OTP
-- approved or failed; a modem online or offline) appends a row in the
-- transaction that makes the change, so neither exists without the other.
-- seq orders the log (the rowid: pruning never deletes the newest row, so
-- it never goes back); id is the event's stable identity (the webhook-id),
-- unique by construction (time-ordered and random), with no index to keep
-- on the hot path. Pruning walks seq, not created_at.
CREATE TABLE events (
	seq        INTEGER NOT NULL PRIMARY KEY,
	id         TEXT    NOT NULL CHECK (id LIKE 'evt\_%' ESCAPE '\'),
	type       TEXT    NOT NULL CHECK (type <> ''),
	subject    TEXT    NOT NULL,
	data       TEXT    NOT NULL CHECK (json_valid(data)),
	created_at TEXT    NOT NULL
) STRICT;

-- How far each durable consumer of the log has got; it moves its cursor in
-- the transaction that records what it did with the events.
CREATE TABLE event_cursors (
	consumer TEXT    NOT NULL PRIMARY KEY,
	seq      INTEGER NOT NULL CHECK (seq >= 0)
) STRICT;

-- Webhook rows now come from the log: event_id is the event a row
-- delivers and its webhook-id, and one event reaches an endpoint once.
ALTER TABLE webhook_outbox ADD COLUMN event_id TEXT NOT NULL DEFAULT '';
UPDATE webhook_outbox SET event_id = id;
CREATE UNIQUE INDEX webhook_outbox_event ON webhook_outbox (endpoint, event_id);

-- OTP follow-up finds a verification by the message an event is about.
CREATE INDEX otp_verifications_message ON otp_verifications (message_id) WHERE message_id <> '';
