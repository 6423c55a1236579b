-- SMSGate (issue 11): a send to several numbers is one group of messages
-- under the client's id; webhook endpoints get a format and an external id.
CREATE TABLE message_groups (
	owner_key  BIGINT  NOT NULL,
	id         TEXT    NOT NULL CHECK (id <> '' AND length(id) <= 64),
	kind       TEXT    NOT NULL CHECK (kind IN ('smsgate')),
	created_at TEXT    NOT NULL,
	PRIMARY KEY (owner_key, id)
);
CREATE TABLE message_group_members (
	owner_key  BIGINT  NOT NULL,
	group_id   TEXT    NOT NULL,
	idx        BIGINT  NOT NULL CHECK (idx >= 0),
	message_id TEXT    NOT NULL UNIQUE REFERENCES messages (id),
	recipient  TEXT    NOT NULL,
	PRIMARY KEY (owner_key, group_id, idx),
	FOREIGN KEY (owner_key, group_id) REFERENCES message_groups (owner_key, id)
);
CREATE INDEX message_groups_owner ON message_groups (owner_key, created_at, id);

ALTER TABLE webhook_endpoints ADD COLUMN format TEXT NOT NULL DEFAULT 'standard' CHECK (format IN ('standard', 'smsgate'));
ALTER TABLE webhook_endpoints ADD COLUMN ext_id TEXT NOT NULL DEFAULT '';
CREATE INDEX webhook_endpoints_ext ON webhook_endpoints (owner_key, ext_id) WHERE ext_id <> '' AND disabled_at = '';
