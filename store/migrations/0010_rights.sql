-- Rights requests (GDPR Art. 12-22): every request is a case with a due
-- date, a status history and, for erasure, the end of its grace period.
-- user_id has no foreign key: a case outlives the erasure it carried out
-- (it then names only the erased person's random id).
CREATE TABLE rights_cases (
	id               TEXT PRIMARY KEY,
	user_id          TEXT NOT NULL,
	kind             TEXT NOT NULL CHECK (kind IN ('access', 'rectification', 'erasure', 'restriction', 'portability',
		'objection', 'withdraw_consent', 'review_decision')),
	status           TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'completed', 'cancelled', 'rejected')),
	received_at      TEXT NOT NULL,
	due_at           TEXT NOT NULL,
	extended         INTEGER NOT NULL DEFAULT 0 CHECK (extended IN (0, 1)),
	details          BLOB,
	execute_after    TEXT,
	closed_at        TEXT,
	reminder_sent_at TEXT
) STRICT;

CREATE INDEX rights_cases_user ON rights_cases (user_id, received_at);
CREATE INDEX rights_cases_open ON rights_cases (status, due_at);

CREATE TABLE rights_case_events (
	id       INTEGER PRIMARY KEY,
	case_id  TEXT NOT NULL REFERENCES rights_cases (id) ON DELETE CASCADE,
	at       TEXT NOT NULL,
	actor_id TEXT NOT NULL,
	status   TEXT NOT NULL,
	note     BLOB
) STRICT;

CREATE INDEX rights_case_events_case ON rights_case_events (case_id, id);
