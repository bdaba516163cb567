-- Tags of the words of each person's name, for the operators' learner
-- search (store/search.go says what they are and what they give away).
-- Filled by kelas when an account is created or renamed, and at start-up for
-- accounts that have none (those made before this migration).
CREATE TABLE name_tags (
	tag     INTEGER NOT NULL,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (tag, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX name_tags_user ON name_tags (user_id);
