-- 0102: the NextDue indexes hold only what NextDue looks for. A message
-- sent at once has send_at and next_attempt '' (never in the future), yet
-- each was in both indexes while it was queued: two index entries written
-- at the accept and deleted at the claim, for nothing. Now only messages
-- scheduled or waiting for a retry are in them (issue 9: the write path).
DROP INDEX messages_send_at;
DROP INDEX messages_next_attempt;
CREATE INDEX messages_send_at ON messages (send_at) WHERE status = 'queued' AND send_at <> '';
CREATE INDEX messages_next_attempt ON messages (next_attempt) WHERE status = 'queued' AND next_attempt <> '';
