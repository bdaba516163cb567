-- The audit log's head, anchored outside kelas.db: someone who can write
-- kelas.db cannot remove the newest audit entries (or forge a retention
-- prune) without the anchor here saying so. mac binds the row to the master
-- key (see store/audit.go); entries before mac_from predate keyed MACs and
-- are pinned by the first keyed entry's prev_hash.
CREATE TABLE audit_head (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	mac_from    INTEGER NOT NULL CHECK (mac_from >= 1),
	seq         INTEGER NOT NULL CHECK (seq >= 0),
	hash        TEXT NOT NULL,
	pruned_seq  INTEGER NOT NULL CHECK (pruned_seq >= 0),
	pruned_hash TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	mac         TEXT NOT NULL
) STRICT;
