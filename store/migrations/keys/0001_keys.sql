-- keys.db: wrapped per-person data keys, kept apart from kelas.db so that a
-- copy of the data alone reveals nothing, and so that keys backups can have
-- their own short retention.
CREATE TABLE key_check (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	check_value BLOB NOT NULL,
	created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE kek_versions (
	version    INTEGER PRIMARY KEY CHECK (version >= 1),
	created_at TEXT NOT NULL
) STRICT;

CREATE TABLE data_keys (
	subject     TEXT PRIMARY KEY,
	kek_version INTEGER NOT NULL REFERENCES kek_versions (version),
	wrapped     BLOB NOT NULL,
	created_at  TEXT NOT NULL
) STRICT;

CREATE INDEX data_keys_version ON data_keys (kek_version);
