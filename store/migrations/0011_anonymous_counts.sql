-- What an erased person contributed to aggregate figures, without anything
-- that points back to them: erasure moves their registration, enrolments,
-- completions and activity into these counters, so reports and statistics
-- keep adding up after people leave.
CREATE TABLE anonymous_counts (
	kind TEXT NOT NULL CHECK (kind IN ('registration', 'enrolment', 'completion', 'activity')),
	k1   TEXT NOT NULL DEFAULT '',
	k2   TEXT NOT NULL DEFAULT '',
	k3   TEXT NOT NULL DEFAULT '',
	n    INTEGER NOT NULL CHECK (n >= 0),
	PRIMARY KEY (kind, k1, k2, k3)
) STRICT, WITHOUT ROWID;
