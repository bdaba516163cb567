-- Access grants: a Member's staff may see the personal data of learners
-- enrolled in the listed trainings, between valid_from and valid_until.
CREATE TABLE access_grants (
	id          TEXT PRIMARY KEY,
	member_id   TEXT NOT NULL REFERENCES members (id),
	purpose     TEXT NOT NULL,
	valid_from  TEXT NOT NULL,
	valid_until TEXT NOT NULL,
	granted_by  TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	revoked_at  TEXT,
	revoked_by  TEXT,
	CHECK (valid_until > valid_from)
) STRICT;

CREATE INDEX access_grants_member ON access_grants (member_id, valid_until);

CREATE TABLE grant_trainings (
	grant_id    TEXT NOT NULL REFERENCES access_grants (id) ON DELETE CASCADE,
	training_id TEXT NOT NULL REFERENCES trainings (id) ON DELETE CASCADE,
	PRIMARY KEY (grant_id, training_id)
) STRICT;

CREATE INDEX grant_trainings_training ON grant_trainings (training_id);

-- Disclosures: who saw whose personal data, when, in which view and under
-- which grant or stated reason. Shown to the person in the rights portal.
-- The reason is free text about the person, so it is sealed with their key.
CREATE TABLE disclosures (
	id          INTEGER PRIMARY KEY,
	subject_id  TEXT NOT NULL,
	viewer_id   TEXT NOT NULL,
	viewer_role TEXT NOT NULL,
	member_id   TEXT,
	at          TEXT NOT NULL,
	view        TEXT NOT NULL,
	grant_id    TEXT,
	reason      BLOB
) STRICT;

CREATE INDEX disclosures_subject ON disclosures (subject_id, at);

-- Invitations to join as Member staff or as an operator. The invited
-- address is sealed under the system key and found by its blind index.
CREATE TABLE invitations (
	token_hash  BLOB PRIMARY KEY,
	id          TEXT NOT NULL UNIQUE,
	member_id   TEXT REFERENCES members (id),
	role        TEXT NOT NULL CHECK (role IN ('member_staff', 'member_admin', 'operator', 'consultant', 'backoffice')),
	dpo         INTEGER NOT NULL DEFAULT 0 CHECK (dpo IN (0, 1)),
	email       BLOB NOT NULL,
	email_index BLOB NOT NULL,
	invited_by  TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	expires_at  TEXT NOT NULL,
	used_at     TEXT,
	CHECK ((member_id IS NULL) = (role IN ('operator', 'consultant', 'backoffice')))
) STRICT;
