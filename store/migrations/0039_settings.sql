-- Operator settings: the site's identity, the controller, the privacy
-- officer, the supervisory authority and defaults. One row per key, the
-- value sealed with the system key (names and contacts may identify
-- people). settings_revision counts saves, so a form sent from a stale
-- page is refused instead of overwriting what another operator saved.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) STRICT;

CREATE TABLE settings_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
) STRICT;

INSERT INTO settings_revision (id, revision) VALUES (1, 0);
