-- Data SMS (issue 11): 8-bit bytes, application ports, flash, a caller's
-- UDH and TP-VP on messages; bytes, ports and flash on inbound SMS.
ALTER TABLE messages ADD COLUMN data BYTEA;
ALTER TABLE messages ADD COLUMN dest_port BIGINT CHECK (dest_port BETWEEN 0 AND 65535);
ALTER TABLE messages ADD COLUMN source_port BIGINT CHECK (source_port BETWEEN 0 AND 65535);
ALTER TABLE messages ADD COLUMN flash BIGINT NOT NULL DEFAULT 0 CHECK (flash IN (0, 1));
ALTER TABLE messages ADD COLUMN udh BYTEA;
ALTER TABLE messages ADD COLUMN validity BIGINT NOT NULL DEFAULT 0 CHECK (validity >= 0);
ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_encoding_check;
ALTER TABLE messages ADD CONSTRAINT messages_encoding_check CHECK (encoding IN ('gsm7', 'ucs2', '8bit'));

ALTER TABLE inbound ADD COLUMN data BYTEA;
ALTER TABLE inbound ADD COLUMN dest_port BIGINT CHECK (dest_port BETWEEN 0 AND 65535);
ALTER TABLE inbound ADD COLUMN source_port BIGINT CHECK (source_port BETWEEN 0 AND 65535);
ALTER TABLE inbound ADD COLUMN flash BIGINT NOT NULL DEFAULT 0 CHECK (flash IN (0, 1));
