-- 0030: webhooks. Endpoints, and the durable outbox the Notifier delivers
-- from: one row per (event, endpoint), kept after delivery for inspection.

-- A deleted endpoint keeps its row (disabled_at set) so that outbox rows
-- still name it. secret is the "whsec_" signing key: the receiver has it
-- too, so it cannot be stored hashed.
-- json_each of a JSON array stored as text, as SQLite's json_each gives it
-- (the value column only): the subscribed event types of an endpoint.
CREATE FUNCTION json_each(doc TEXT) RETURNS TABLE (value TEXT)
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT jsonb_array_elements_text(doc::jsonb) $$;

CREATE TABLE webhook_endpoints (
	id          TEXT NOT NULL PRIMARY KEY CHECK (id LIKE 'wh\_%' ESCAPE '\'),
	url         TEXT NOT NULL CHECK (url LIKE 'http://%' OR url LIKE 'https://%'),
	events      TEXT NOT NULL CHECK ((events::jsonb IS NOT NULL) AND jsonb_typeof(events::jsonb) = 'array' AND jsonb_array_length(events::jsonb) > 0),
	secret      TEXT NOT NULL CHECK (secret LIKE 'whsec\_%' ESCAPE '\'),
	created_at  TEXT NOT NULL,
	disabled_at TEXT NOT NULL DEFAULT ''
);

-- id is the webhook-id header: one per row, the same on every attempt.
CREATE TABLE webhook_outbox (
	id           TEXT    NOT NULL PRIMARY KEY CHECK (id LIKE 'evt\_%' ESCAPE '\'),
	endpoint     TEXT    NOT NULL REFERENCES webhook_endpoints (id),
	event        TEXT    NOT NULL CHECK (event <> ''),
	payload      TEXT    NOT NULL CHECK ((payload::jsonb IS NOT NULL)),
	status       TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
	attempts     BIGINT  NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt TEXT    NOT NULL,
	last_error   TEXT    NOT NULL DEFAULT '',
	created_at   TEXT    NOT NULL
);

-- The Notifier's one query: pending rows by due time.
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt) WHERE status = 'pending';
CREATE INDEX webhook_outbox_endpoint ON webhook_outbox (endpoint, status);
