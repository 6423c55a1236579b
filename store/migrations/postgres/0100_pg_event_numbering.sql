-- 0100 (PostgreSQL only): events are numbered at commit, not at append.
-- The append used to take the events' transaction lock itself, holding it
-- through every round trip to the host until the COMMIT: a host frozen
-- (SIGSTOP, a paused VM) just after an append held it, idle, until
-- idle_in_transaction_session_timeout ended its session, and each of its
-- sessions queued behind that lock then took it and held it idle in turn,
-- stalling every host's writes for as long. Now an append writes a
-- placeholder seq (negative, from a sequence of its own: seen only by its
-- own transaction) and a deferred trigger takes the lock and gives the row
-- its number while the COMMIT runs, in the server, with no round trip to
-- the host before the lock is released. Numbers still follow commit order:
-- a reader past seq N never misses an N-1 committed after it read. Rows
-- given a number by their writer ("simgate migrate") are left as they are.
CREATE SEQUENCE events_placeholder;

CREATE FUNCTION simgate_number_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(1936289125); -- 0x73696d65, "sime"
	UPDATE events SET seq = nextval(pg_get_serial_sequence(quote_ident(TG_TABLE_SCHEMA) || '.events', 'seq'))
		WHERE seq = NEW.seq;
	RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER events_number AFTER INSERT ON events
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (NEW.seq < 0) EXECUTE FUNCTION simgate_number_event();
