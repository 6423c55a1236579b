-- 0046: retention. Old texts are blanked, not deleted: a message or an
-- inbound SMS keeps its metadata (status, parts, times, numbers, modem) and
-- body_purged_at says when its text was removed, so readers can tell a
-- purged text from an empty one.

ALTER TABLE messages ADD COLUMN body_purged_at TEXT NOT NULL DEFAULT '';
ALTER TABLE inbound ADD COLUMN body_purged_at TEXT NOT NULL DEFAULT '';

-- The pruning queries walk only what is left to prune: final messages whose
-- text is still there, inbound texts still there, and outbox rows no longer
-- pending. Each index shrinks as its rows are pruned.
CREATE INDEX messages_purge ON messages (finished_at)
	WHERE body_purged_at = '' AND status IN ('delivered', 'failed', 'expired', 'canceled');
CREATE INDEX inbound_purge ON inbound (received_at) WHERE body_purged_at = '';
CREATE INDEX webhook_outbox_done ON webhook_outbox (created_at) WHERE status IN ('delivered', 'failed');
