-- Portability exports (GDPR Art. 20): one row per export job. The ZIP itself
-- lives in DATA/exports/<id>.sealed, sealed in chunks with the person's data
-- key (store/export.go); the row holds only ids, times, progress and the
-- checksum of the plaintext ZIP, never personal data. error is a fixed
-- phrase, never an error message that could quote data.
CREATE TABLE exports (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	status     TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'building', 'ready', 'failed')),
	progress   INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
	created_at TEXT NOT NULL,
	ready_at   TEXT,
	expires_at TEXT,
	size       INTEGER CHECK (size >= 0),
	sha256     TEXT CHECK (length(sha256) = 64),
	error      TEXT,
	CHECK ((status = 'ready') = (ready_at IS NOT NULL AND expires_at IS NOT NULL AND size IS NOT NULL AND sha256 IS NOT NULL))
) STRICT;

CREATE INDEX exports_user ON exports (user_id, created_at);
CREATE INDEX exports_expires ON exports (expires_at) WHERE expires_at IS NOT NULL;

-- At most one export per person is being built at a time.
CREATE UNIQUE INDEX exports_one_active ON exports (user_id) WHERE status IN ('queued', 'building');
