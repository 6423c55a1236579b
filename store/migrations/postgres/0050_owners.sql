-- 0050: tenancy. Messages, verifications and webhook endpoints belong to
-- the API key that made them (owner_key = api_keys.id); a key that is not
-- admin sees and changes only its own. 0 is no key: a row made before this
-- migration whose key is unknown, or by the status page; the admin alone
-- sees it. Keys are never deleted (only revoked), so there is no foreign
-- key to keep.

ALTER TABLE messages ADD COLUMN owner_key BIGINT  NOT NULL DEFAULT 0;
ALTER TABLE otp_verifications ADD COLUMN owner_key BIGINT  NOT NULL DEFAULT 0;

-- Rows made before: messages and verifications kept the name of the key
-- that made them (api_key), and names are never reused, so the name says
-- whose they are.
UPDATE messages SET owner_key = coalesce((SELECT id FROM api_keys WHERE name = messages.api_key), 0)
	WHERE api_key <> '';
UPDATE otp_verifications SET owner_key = coalesce((SELECT id FROM api_keys WHERE name = otp_verifications.api_key), 0)
	WHERE api_key <> '';

-- A key's listing, newest first, and its daily quota.
CREATE INDEX messages_owner ON messages (owner_key, created_at, id);

-- One open verification per (key, number, purpose): another key's request
-- for the same number neither gets nor supersedes it.
DROP INDEX otp_open;
CREATE UNIQUE INDEX otp_open ON otp_verifications (owner_key, recipient, purpose)
	WHERE status IN ('pending', 'blocked');

-- Endpoints recorded no key: they stay the admin's, and keep receiving every
-- event they subscribed to (all_events). An endpoint of a key that is not
-- admin gets the message and OTP events of its own key's rows only.
ALTER TABLE webhook_endpoints ADD COLUMN owner_key BIGINT  NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN all_events BIGINT  NOT NULL DEFAULT 1 CHECK (all_events IN (0, 1));

-- Keys made before scopes were enforced hold none ("all" then): they get
-- the default scopes, every one but admin.
UPDATE api_keys SET scopes = '["messages:send","messages:read","inbox:read","otp","webhooks","modems:read"]'
	WHERE jsonb_array_length(scopes::jsonb) = 0;
