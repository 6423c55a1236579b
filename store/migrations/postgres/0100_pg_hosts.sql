-- 0100 (PostgreSQL only): each gateway host says every few seconds that it
-- is alive (Store.Heartbeat); the modems of a host not seen for longer than
-- the lease are listed offline, and the host unreachable.
CREATE TABLE hosts (
	host    TEXT NOT NULL PRIMARY KEY,
	seen_at TEXT NOT NULL
);
