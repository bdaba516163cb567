-- Off-site copies of backup files: one row per file and target (the
-- target's URL without secrets). state follows an upload: 'uploaded' once
-- stored, 'verified' once the remote copy's sha256 matched the local file,
-- 'failed' with the error after the last retry. deleted_at is set when the
-- retention rules removed the remote copy; delete_error holds why the last
-- removal failed (it is retried at the next run).
CREATE TABLE offsite_files (
	target       TEXT NOT NULL,
	file         TEXT NOT NULL,
	kind         TEXT NOT NULL CHECK (kind IN ('data', 'keys')),
	state        TEXT NOT NULL CHECK (state IN ('uploaded', 'verified', 'failed')),
	sha256       TEXT,
	attempts     INTEGER NOT NULL DEFAULT 0,
	error        TEXT,
	stamp        TEXT NOT NULL,
	updated_at   TEXT NOT NULL,
	deleted_at   TEXT,
	delete_error TEXT,
	PRIMARY KEY (target, file)
) STRICT;

-- The target chosen on /console/backups; it overrides KELAS_BACKUP_TARGET
-- while the row exists.
CREATE TABLE offsite_target (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	url        TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	updated_by TEXT NOT NULL
) STRICT;

-- Restore drills: the newest off-site backup restored into a temporary
-- directory and checked. people and live_people compare the copy with the
-- running database.
CREATE TABLE restore_drills (
	id          TEXT PRIMARY KEY,
	target      TEXT NOT NULL,
	started_at  TEXT NOT NULL,
	finished_at TEXT NOT NULL,
	ok          INTEGER NOT NULL CHECK (ok IN (0, 1)),
	file        TEXT,
	people      INTEGER NOT NULL DEFAULT 0,
	live_people INTEGER NOT NULL DEFAULT 0,
	error       TEXT
) STRICT;

CREATE INDEX restore_drills_started ON restore_drills (started_at);
