-- 0001: the outbound queue, delivery reports, inbox, modems, API keys.
--
-- Times are fixed-width UTC text (2006-01-02T15:04:05.000000000Z) so that
-- they compare as strings; '' is the zero time, which sorts before every
-- real time ("send now", "no retry pending") and is tested explicitly where
-- it means "never" (expires_at).

CREATE TABLE messages (
	id            TEXT    PRIMARY KEY,
	recipient     TEXT    NOT NULL,
	body          TEXT    NOT NULL,
	encoding      TEXT    NOT NULL CHECK (encoding IN ('gsm7', 'ucs2')),
	segments      INTEGER NOT NULL CHECK (segments >= 1),
	priority      INTEGER NOT NULL,
	pin           TEXT    NOT NULL DEFAULT '',
	status_report INTEGER NOT NULL CHECK (status_report IN (0, 1)),
	status        TEXT    NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'expired', 'canceled')),
	error         TEXT    NOT NULL DEFAULT '',
	attempts      INTEGER NOT NULL DEFAULT 0,
	concat_ref    INTEGER NOT NULL CHECK (concat_ref BETWEEN 0 AND 255),
	modem         TEXT    NOT NULL DEFAULT '',
	api_key       TEXT    NOT NULL DEFAULT '',
	created_at    TEXT    NOT NULL,
	send_at       TEXT    NOT NULL DEFAULT '',
	expires_at    TEXT    NOT NULL DEFAULT '',
	next_attempt  TEXT    NOT NULL DEFAULT '',
	lease_until   TEXT    NOT NULL DEFAULT '',
	sent_at       TEXT    NOT NULL DEFAULT '',
	delivered_at  TEXT    NOT NULL DEFAULT '',
	finished_at   TEXT    NOT NULL DEFAULT ''
) STRICT;

-- The claim walks this index in queue order, once for unpinned messages and
-- once for those pinned to the claiming modem, so a backlog pinned to another
-- (perhaps unplugged) modem is never scanned. Only open rows are in it.
CREATE INDEX messages_claim ON messages (pin, priority DESC, created_at, id)
	WHERE status IN ('queued', 'sending');

-- Listing, newest first, with keyset pagination.
CREATE INDEX messages_created ON messages (created_at, id);
CREATE INDEX messages_recipient ON messages (recipient, created_at, id);

-- ExpireDue.
CREATE INDEX messages_expiry ON messages (expires_at)
	WHERE status = 'queued' AND expires_at <> '';

-- ModemCounters: failures of the day per modem.
CREATE INDEX messages_failed ON messages (modem, finished_at)
	WHERE status = 'failed';

CREATE TABLE parts (
	message_id   TEXT    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	idx          INTEGER NOT NULL CHECK (idx >= 1),
	status       TEXT    NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'expired', 'canceled')),
	mr           INTEGER CHECK (mr BETWEEN 0 AND 255), -- NULL until +CMGS answers
	modem        TEXT    NOT NULL DEFAULT '',
	sent_at      TEXT    NOT NULL DEFAULT '',
	delivered_at TEXT    NOT NULL DEFAULT '',
	report_code  INTEGER NOT NULL DEFAULT -1,
	error        TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (message_id, idx)
) STRICT;

-- Delivery reports are matched on (modem, TP-MR) within a recent window.
CREATE INDEX parts_report ON parts (modem, mr, sent_at) WHERE mr IS NOT NULL;
-- Daily send counts per modem.
CREATE INDEX parts_sent ON parts (modem, sent_at) WHERE sent_at <> '';

CREATE TABLE idempotency (
	api_key    TEXT NOT NULL,
	key        TEXT NOT NULL,
	body_hash  TEXT NOT NULL,
	message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	created_at TEXT NOT NULL,
	PRIMARY KEY (api_key, key)
) STRICT;

CREATE INDEX idempotency_created ON idempotency (created_at);
CREATE INDEX idempotency_message ON idempotency (message_id);

-- Parts of received SMS, held raw until their set is complete (or given up).
CREATE TABLE inbound_parts (
	id          INTEGER PRIMARY KEY,
	modem       TEXT    NOT NULL,
	sender      TEXT    NOT NULL,
	pdu         TEXT    NOT NULL,
	ref         INTEGER NOT NULL,
	part        INTEGER NOT NULL,
	total       INTEGER NOT NULL,
	ref_bits    INTEGER NOT NULL CHECK (ref_bits IN (0, 8, 16)),
	scts        TEXT    NOT NULL DEFAULT '',
	received_at TEXT    NOT NULL,
	UNIQUE (modem, sender, ref, total, ref_bits, part, pdu)
) STRICT;

CREATE INDEX inbound_parts_received ON inbound_parts (received_at);

CREATE TABLE inbound (
	id          TEXT    PRIMARY KEY,
	modem       TEXT    NOT NULL,
	sender      TEXT    NOT NULL,
	body        TEXT    NOT NULL,
	parts       INTEGER NOT NULL,
	missing     INTEGER NOT NULL DEFAULT 0,
	scts        TEXT    NOT NULL DEFAULT '',
	received_at TEXT    NOT NULL
) STRICT;

CREATE INDEX inbound_received ON inbound (received_at, id);

CREATE TABLE modems (
	imei          TEXT    PRIMARY KEY,
	port          TEXT    NOT NULL DEFAULT '',
	manufacturer  TEXT    NOT NULL DEFAULT '',
	model         TEXT    NOT NULL DEFAULT '',
	revision      TEXT    NOT NULL DEFAULT '',
	imsi          TEXT    NOT NULL DEFAULT '',
	iccid         TEXT    NOT NULL DEFAULT '',
	number        TEXT    NOT NULL DEFAULT '',
	operator      TEXT    NOT NULL DEFAULT '',
	registration  TEXT    NOT NULL DEFAULT '',
	roaming       INTEGER NOT NULL DEFAULT 0 CHECK (roaming IN (0, 1)),
	csq           INTEGER NOT NULL DEFAULT 0,
	dbm           INTEGER NOT NULL DEFAULT 0,
	bars          INTEGER NOT NULL DEFAULT 0,
	signal_known  INTEGER NOT NULL DEFAULT 0 CHECK (signal_known IN (0, 1)),
	state         TEXT    NOT NULL CHECK (state IN ('online', 'offline', 'no_sim', 'pin_required', 'not_registered', 'error')),
	last_error    TEXT    NOT NULL DEFAULT '',
	last_error_at TEXT    NOT NULL DEFAULT '',
	updated_at    TEXT    NOT NULL DEFAULT ''
) STRICT;

-- Only the hash of a key is kept; names stay reserved after revocation
-- because messages.api_key refers to them for audit.
CREATE TABLE api_keys (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE CHECK (name <> ''),
	hash       TEXT    NOT NULL UNIQUE CHECK (hash <> ''),
	scopes     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(scopes)),
	created_at TEXT    NOT NULL,
	last_used  TEXT    NOT NULL DEFAULT '',
	revoked_at TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;
