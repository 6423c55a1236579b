-- 0055: a deleted webhook endpoint keeps no secret. DeleteWebhook now
-- wipes it as it disables the endpoint; this wipes those deleted before.
-- "whsec_" alone is the wiped value: the CHECK of 0030 wants the prefix.
UPDATE webhook_endpoints SET secret = 'whsec_' WHERE disabled_at <> '';
