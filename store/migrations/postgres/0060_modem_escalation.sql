-- 0060: the last step taken to bring a hung modem back (resync, cfun_reset,
-- reopen, usb_reset, found) and when, for the status page. '' when none.

ALTER TABLE modems ADD COLUMN last_escalation TEXT NOT NULL DEFAULT '';
ALTER TABLE modems ADD COLUMN last_escalation_at TEXT NOT NULL DEFAULT '';
