-- 0020: the status page. Admin sessions, a modem's radio over time, and
-- the errors it reported. Sends per hour need no table: parts.sent_at and
-- the parts_sent index already answer them.

-- A session is found by the SHA-256 of its cookie, so a read of the
-- database does not hand out live sessions. csrf is the token every form
-- of the session carries.
CREATE TABLE admin_sessions (
	token_hash TEXT NOT NULL PRIMARY KEY,
	csrf       TEXT NOT NULL CHECK (csrf <> ''),
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL
);

CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);

-- One row per modem every few minutes, and at every state change, written
-- by UpsertModem. Pruned after a week.
CREATE TABLE modem_samples (
	imei         TEXT    NOT NULL,
	at           TEXT    NOT NULL,
	state        TEXT    NOT NULL,
	registration TEXT    NOT NULL DEFAULT '',
	csq          BIGINT  NOT NULL DEFAULT 0,
	dbm          BIGINT  NOT NULL DEFAULT 0,
	bars         BIGINT  NOT NULL DEFAULT 0,
	signal_known BIGINT  NOT NULL DEFAULT 0 CHECK (signal_known IN (0, 1)),
	PRIMARY KEY (imei, at)
);

CREATE INDEX modem_samples_at ON modem_samples (at);

-- A modem's errors as UpsertModem saw them: one row per distinct
-- (modem, last_error_at). Pruned after a week.
CREATE TABLE modem_errors (
	imei  TEXT NOT NULL,
	at    TEXT NOT NULL,
	error TEXT NOT NULL,
	PRIMARY KEY (imei, at)
);

CREATE INDEX modem_errors_at ON modem_errors (at);

-- The status page's recent failures.
CREATE INDEX messages_finished_failed ON messages (finished_at)
	WHERE status = 'failed';

-- The status page's "delivered today".
CREATE INDEX messages_delivered ON messages (delivered_at)
	WHERE status = 'delivered';
