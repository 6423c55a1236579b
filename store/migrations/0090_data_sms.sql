-- 0090: data SMS, flash and a caller's header (issue 11). A data message
-- carries its 8-bit payload in data (body stays ''), encoding '8bit'; any
-- message may carry application ports, class 0 (flash), a raw UDH (with
-- its length octet, Kannel's udh) and a TP-VP of its own (validity, in
-- seconds; 0 = from expires_at). A received data SMS keeps its bytes, ports
-- and class the same way. NULL is "none" for data, ports and udh.

ALTER TABLE messages ADD COLUMN data BLOB;
ALTER TABLE messages ADD COLUMN dest_port INTEGER CHECK (dest_port BETWEEN 0 AND 65535);
ALTER TABLE messages ADD COLUMN source_port INTEGER CHECK (source_port BETWEEN 0 AND 65535);
ALTER TABLE messages ADD COLUMN flash INTEGER NOT NULL DEFAULT 0 CHECK (flash IN (0, 1));
ALTER TABLE messages ADD COLUMN udh BLOB;
ALTER TABLE messages ADD COLUMN validity INTEGER NOT NULL DEFAULT 0 CHECK (validity >= 0);

-- messages.encoding gains '8bit'. SQLite cannot alter a CHECK, and a
-- rebuild of messages would drop the columns other migrations add to it
-- and, under foreign_keys, cascade into parts; widening a CHECK does not
-- change what is stored, so the table's definition is edited in place
-- (https://sqlite.org/lang_altertable.html, "Making other kinds of table
-- schema changes"). The ALTER TABLE on inbound below bumps the schema
-- version and makes every connection, this one included, read the edited
-- definition again (store_test checks that an '8bit' row inserts at once).
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
	SET sql = replace(sql, 'CHECK (encoding IN (''gsm7'', ''ucs2''))', 'CHECK (encoding IN (''gsm7'', ''ucs2'', ''8bit''))')
	WHERE type = 'table' AND name = 'messages';
PRAGMA writable_schema = OFF;

ALTER TABLE inbound ADD COLUMN data BLOB;
ALTER TABLE inbound ADD COLUMN dest_port INTEGER CHECK (dest_port BETWEEN 0 AND 65535);
ALTER TABLE inbound ADD COLUMN source_port INTEGER CHECK (source_port BETWEEN 0 AND 65535);
ALTER TABLE inbound ADD COLUMN flash INTEGER NOT NULL DEFAULT 0 CHECK (flash IN (0, 1));
