-- Kannel (issue 11): a message's dlr-url, and the callbacks due from it.
CREATE TABLE message_callbacks (
	message_id TEXT NOT NULL PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
	kind       TEXT NOT NULL CHECK (kind <> ''),
	data       TEXT NOT NULL CHECK (data::jsonb IS NOT NULL)
);
CREATE TABLE callback_outbox (
	id           TEXT    NOT NULL PRIMARY KEY CHECK (id LIKE 'cb\_%' ESCAPE '\'),
	event_id     TEXT    NOT NULL CHECK (event_id <> ''),
	kind         TEXT    NOT NULL CHECK (kind <> ''),
	message_id   TEXT    NOT NULL,
	url          TEXT    NOT NULL CHECK (url LIKE 'http://%' OR url LIKE 'https://%'),
	status       TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
	attempts     BIGINT  NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt TEXT    NOT NULL,
	last_error   TEXT    NOT NULL DEFAULT '',
	created_at   TEXT    NOT NULL
);
CREATE UNIQUE INDEX callback_outbox_event ON callback_outbox (event_id, kind);
CREATE INDEX callback_outbox_due ON callback_outbox (next_attempt) WHERE status = 'pending';
