-- Acceptances of the confidentiality undertaking: Member staff and
-- operators agree not to disclose what they see before they open anyone's
-- learner record. version is a hash of the text accepted, so a changed
-- text asks again; every acceptance is kept.
CREATE TABLE undertakings (
	id          INTEGER PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	version     TEXT NOT NULL,
	accepted_at TEXT NOT NULL
) STRICT;

CREATE INDEX undertakings_user ON undertakings (user_id, accepted_at);
