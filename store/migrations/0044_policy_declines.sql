-- A person's "no" to a material policy version, beside policy_acceptances:
-- the proof of their answer, and what the acceptance page tells them back
-- (declined on which date; they may still accept). Accepting later adds an
-- acceptance and leaves the decline as history; rows go with the account.
CREATE TABLE policy_declines (
	id             INTEGER PRIMARY KEY,
	user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	policy_version TEXT NOT NULL REFERENCES policy_versions (version),
	declined_at    TEXT NOT NULL
) STRICT;

CREATE INDEX policy_declines_user ON policy_declines (user_id, id);
