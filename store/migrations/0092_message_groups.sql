-- 0092: message groups and webhook formats, for the SMSGate adapter
-- (web/smsgate) and any other interface whose one request sends to several
-- numbers.
--
-- A group is the messages one request made, one per recipient, under the
-- ID the client chose or was given; (owner_key, id) is unique, so a client
-- that sends the same ID twice is told so. A member is one message.
CREATE TABLE message_groups (
	owner_key  INTEGER NOT NULL,
	id         TEXT    NOT NULL CHECK (id <> '' AND length(id) <= 64),
	kind       TEXT    NOT NULL CHECK (kind IN ('smsgate')),
	created_at TEXT    NOT NULL,
	PRIMARY KEY (owner_key, id)
) STRICT;

CREATE TABLE message_group_members (
	owner_key  INTEGER NOT NULL,
	group_id   TEXT    NOT NULL,
	idx        INTEGER NOT NULL CHECK (idx >= 0),
	message_id TEXT    NOT NULL UNIQUE REFERENCES messages (id),
	-- The number as the client wrote it, for answers in its own terms.
	recipient  TEXT    NOT NULL,
	PRIMARY KEY (owner_key, group_id, idx),
	FOREIGN KEY (owner_key, group_id) REFERENCES message_groups (owner_key, id)
) STRICT;

-- A key's groups, newest first.
CREATE INDEX message_groups_owner ON message_groups (owner_key, created_at, id);

-- An endpoint's format says how its webhooks are shaped and signed:
-- 'standard' (Standard Webhooks) or 'smsgate' (SMSGate's envelope,
-- X-Signature and X-Timestamp). ext_id is the ID the client knows it by when
-- that is not ours (SMSGate lets the client choose it); '' when none.
ALTER TABLE webhook_endpoints ADD COLUMN format TEXT NOT NULL DEFAULT 'standard' CHECK (format IN ('standard', 'smsgate'));
ALTER TABLE webhook_endpoints ADD COLUMN ext_id TEXT NOT NULL DEFAULT '';
CREATE INDEX webhook_endpoints_ext ON webhook_endpoints (owner_key, ext_id) WHERE ext_id <> '' AND disabled_at = '';
