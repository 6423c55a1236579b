-- 0010: one-time codes (issue 4). A code is never stored: code_hash is
-- HMAC-SHA256(key, id ‖ code) with the key in a file of its own, and
-- code_sealed (only while an email fallback may need it) is AES-GCM under a
-- key derived from the same file. Both are emptied when a verification ends.

CREATE TABLE otp_verifications (
	id            TEXT    PRIMARY KEY,
	recipient     TEXT    NOT NULL,           -- E.164, or the email address for email-only
	email         TEXT    NOT NULL DEFAULT '',
	purpose       TEXT    NOT NULL DEFAULT '',
	channel       TEXT    NOT NULL CHECK (channel IN ('sms', 'email')),
	status        TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'expired',
	                      'max_attempts_reached', 'canceled', 'failed', 'blocked')),
	code_hash     BYTEA    NOT NULL DEFAULT ''::bytea,
	code_sealed   BYTEA    NOT NULL DEFAULT ''::bytea,
	code_length   BIGINT  NOT NULL CHECK (code_length BETWEEN 4 AND 10),
	attempts      BIGINT  NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	max_attempts  BIGINT  NOT NULL CHECK (max_attempts >= 1),
	sends         BIGINT  NOT NULL DEFAULT 0 CHECK (sends >= 0),
	max_sends     BIGINT  NOT NULL CHECK (max_sends >= 1),
	fallback      BIGINT  NOT NULL DEFAULT 0 CHECK (fallback IN (0, 1)),
	fallback_done BIGINT  NOT NULL DEFAULT 0 CHECK (fallback_done IN (0, 1)),
	watch         BIGINT  NOT NULL DEFAULT 0 CHECK (watch IN (0, 1)),
	message_id    TEXT    NOT NULL DEFAULT '',
	template      TEXT    NOT NULL DEFAULT '',
	locale        TEXT    NOT NULL DEFAULT '',
	domain        TEXT    NOT NULL DEFAULT '',
	app_hash      TEXT    NOT NULL DEFAULT '',
	country       TEXT    NOT NULL DEFAULT '',
	prefix        TEXT    NOT NULL DEFAULT '',
	api_key       TEXT    NOT NULL DEFAULT '',
	block_reason  TEXT    NOT NULL DEFAULT '',
	channels      TEXT    NOT NULL DEFAULT '[]' CHECK ((channels::jsonb IS NOT NULL)),
	created_at    TEXT    NOT NULL,
	expires_at    TEXT    NOT NULL,
	last_sent_at  TEXT    NOT NULL DEFAULT '',
	fallback_at   TEXT    NOT NULL DEFAULT '',
	finished_at   TEXT    NOT NULL DEFAULT '',
	CHECK (status IN ('pending', 'blocked') OR (length(code_hash) = 0 AND length(code_sealed) = 0))
);

-- One open verification per (number, purpose).
CREATE UNIQUE INDEX otp_open ON otp_verifications (recipient, purpose)
	WHERE status IN ('pending', 'blocked');
CREATE INDEX otp_watch ON otp_verifications (id) WHERE watch = 1;
CREATE INDEX otp_expiry ON otp_verifications (expires_at) WHERE status IN ('pending', 'blocked');
CREATE INDEX otp_created ON otp_verifications (created_at);
CREATE INDEX otp_finished ON otp_verifications (finished_at) WHERE finished_at <> '';
CREATE INDEX otp_prefix ON otp_verifications (prefix, created_at);

-- Every code sent, for the per-number and per-prefix limits.
CREATE TABLE otp_sends (
	verification_id TEXT NOT NULL,
	recipient       TEXT NOT NULL,
	prefix          TEXT NOT NULL,
	at              TEXT NOT NULL
);

CREATE INDEX otp_sends_recipient ON otp_sends (recipient, at);
CREATE INDEX otp_sends_prefix ON otp_sends (prefix, at);
CREATE INDEX otp_sends_at ON otp_sends (at);

-- Prefixes the conversion breaker (or an operator) blocked.
CREATE TABLE otp_blocked_prefixes (
	prefix     TEXT    PRIMARY KEY,
	reason     TEXT    NOT NULL,
	sends      BIGINT  NOT NULL DEFAULT 0,
	approvals  BIGINT  NOT NULL DEFAULT 0,
	blocked_at TEXT    NOT NULL,
	until      TEXT    NOT NULL
);
