-- 0098: each modem's last balance check (issue 11): the amount found in the
-- network's USSD reply, the reply, the threshold it was compared with and
-- whether it was below. One row per modem, replaced at each reading.

CREATE TABLE modem_balances (
	imei          TEXT    PRIMARY KEY,
	amount        REAL    NOT NULL,
	reply         TEXT    NOT NULL DEFAULT '',
	threshold     REAL    NOT NULL DEFAULT 0,
	has_threshold INTEGER NOT NULL DEFAULT 0 CHECK (has_threshold IN (0, 1)),
	low           INTEGER NOT NULL DEFAULT 0 CHECK (low IN (0, 1)),
	checked_at    TEXT    NOT NULL CHECK (checked_at <> '')
) STRICT;
