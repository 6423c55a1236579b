-- PostgreSQL only (no SQLite twin): what several gateway hosts sharing the
-- database need. Migrations of this kind are named NNNN_pg_*.sql.
--
-- Wake-ups across hosts (store/postgres_notify.go): a commit that queued a
-- message, or appended events, notifies every host that LISTENs. NOTIFY is
-- sent at commit and folded within a transaction, so a batch notifies once.
-- The channel names the schema, so that clusters in two schemas of one
-- database do not wake each other.

CREATE FUNCTION simgate_notify() RETURNS trigger
	LANGUAGE plpgsql
	AS $$ BEGIN PERFORM pg_notify(TG_ARGV[0] || ':' || TG_TABLE_SCHEMA, ''); RETURN NULL; END $$;

CREATE TRIGGER messages_queued AFTER INSERT OR UPDATE OF status ON messages
	FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION simgate_notify('simgate_queue');

CREATE TRIGGER events_appended AFTER INSERT ON events
	FOR EACH STATEMENT EXECUTE FUNCTION simgate_notify('simgate_events');

-- Each host registers the modems it drives (store.WithHost); the status
-- page and /api/v1/modems show every host's.
ALTER TABLE modems ADD COLUMN host TEXT NOT NULL DEFAULT '';
