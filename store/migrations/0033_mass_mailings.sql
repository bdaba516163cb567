-- Mass mailings (breach notices, policy mails, announcements, feedback
-- requests) run as background work: the request records the mailing here
-- and returns; the mailing job queues the mail in batches, recording its
-- progress, and a mailing still running after a restart is resumed. The
-- claims of notifications and breach_notifications keep it to one mail
-- per person, however often it resumes.
CREATE TABLE mass_mailings (
	id          TEXT PRIMARY KEY,
	kind        TEXT NOT NULL CHECK (kind IN ('breach_notice', 'announcement', 'feedback_request', 'policy_update')),
	ref_id      TEXT NOT NULL,
	params      TEXT NOT NULL DEFAULT '{}',
	created_by  TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	status      TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
	targeted    INTEGER NOT NULL DEFAULT 0,
	processed   INTEGER NOT NULL DEFAULT 0,
	queued      INTEGER NOT NULL DEFAULT 0,
	finished_at TEXT,
	last_error  TEXT
) STRICT;

CREATE INDEX mass_mailings_status ON mass_mailings (status, created_at);
CREATE INDEX mass_mailings_ref ON mass_mailings (kind, ref_id, created_at);
