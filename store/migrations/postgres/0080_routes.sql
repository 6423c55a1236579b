-- Routing (issue 14): why a router pinned a message to its modem, and the
-- delivery times it learns from, one row per message that got a report.
ALTER TABLE messages ADD COLUMN route TEXT NOT NULL DEFAULT '';

CREATE TABLE route_samples (
	modem      TEXT    NOT NULL,
	network    TEXT    NOT NULL,
	sent_at    TEXT    NOT NULL,
	latency_ms BIGINT  NOT NULL CHECK (latency_ms >= 0),
	delivered  BIGINT  NOT NULL CHECK (delivered IN (0, 1))
);
CREATE INDEX route_samples_sent ON route_samples (sent_at);
