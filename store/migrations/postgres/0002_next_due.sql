-- 0002: NextDue finds the queue's next timer (the earliest future send_at,
-- next_attempt or lease end) by walking these small ordered indexes,
-- instead of scanning every queued row.
CREATE INDEX messages_send_at ON messages (send_at) WHERE status = 'queued';
CREATE INDEX messages_next_attempt ON messages (next_attempt) WHERE status = 'queued';
CREATE INDEX messages_lease ON messages (lease_until) WHERE status = 'sending';
