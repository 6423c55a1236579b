-- Balance checks (issue 11): each modem's last balance reading.
CREATE TABLE modem_balances (
	imei          TEXT             PRIMARY KEY,
	amount        DOUBLE PRECISION NOT NULL,
	reply         TEXT             NOT NULL DEFAULT '',
	threshold     DOUBLE PRECISION NOT NULL DEFAULT 0,
	has_threshold BIGINT           NOT NULL DEFAULT 0 CHECK (has_threshold IN (0, 1)),
	low           BIGINT           NOT NULL DEFAULT 0 CHECK (low IN (0, 1)),
	checked_at    TEXT             NOT NULL CHECK (checked_at <> '')
);
