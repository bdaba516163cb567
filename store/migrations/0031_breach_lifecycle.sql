-- The breach lifecycle: the notification to the supervisory authority
-- (which stops the 72-hour clock), the closing summary, and a timeline of
-- what was learnt and done. Free texts are sealed with the system key, like
-- the other texts of the register.
ALTER TABLE breaches ADD COLUMN authority_notified_at TEXT;
ALTER TABLE breaches ADD COLUMN authority_reference TEXT;
ALTER TABLE breaches ADD COLUMN closed_at TEXT;
ALTER TABLE breaches ADD COLUMN summary BLOB;
ALTER TABLE breaches ADD COLUMN updated_at TEXT;

CREATE TABLE breach_events (
	id        TEXT PRIMARY KEY,
	breach_id TEXT NOT NULL REFERENCES breaches (id),
	at        TEXT NOT NULL,
	actor_id  TEXT NOT NULL,
	kind      TEXT NOT NULL CHECK (kind IN ('note', 'edit', 'authority', 'people', 'close')),
	note      BLOB
) STRICT;

CREATE INDEX breach_events_breach ON breach_events (breach_id, at);

-- Journaled like the rest of the register (see 0012_journal.sql).
CREATE TRIGGER journal_breach_events_ins AFTER INSERT ON breach_events BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('breach_events', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_breach_events_upd AFTER UPDATE ON breach_events BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('breach_events', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_breach_events_del AFTER DELETE ON breach_events BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('breach_events', 'del', OLD.id, NULL);
END;
