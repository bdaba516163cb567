-- The legal disclosure register: what the privacy officer disclosed about
-- a person on legal request (subpoena, court order, authority request),
-- to whom and under which reference. The free texts are about the person
-- and sealed with their key. Each entry is also a row of the person's
-- disclosure log (disclosures.id = disclosure_id); while a legal bar
-- forbids telling them, that row carries hidden_until and the rights
-- portal and the export leave it out until then.
CREATE TABLE legal_disclosures (
	id            TEXT PRIMARY KEY,
	user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	disclosure_id INTEGER NOT NULL,
	basis         TEXT NOT NULL,
	requester     BLOB NOT NULL,
	disclosed     BLOB NOT NULL,
	reference     BLOB,
	disclosed_on  TEXT NOT NULL,
	bar_until     TEXT,
	recorded_by   TEXT NOT NULL,
	created_at    TEXT NOT NULL
) STRICT;

CREATE INDEX legal_disclosures_created ON legal_disclosures (created_at);
CREATE INDEX legal_disclosures_user ON legal_disclosures (user_id);

ALTER TABLE disclosures ADD COLUMN hidden_until TEXT;
