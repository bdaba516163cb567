-- Breach register, policy drafts and the notification log.

-- The breach register (GDPR Art. 33(5)): every incident, kept. The texts the
-- privacy officer writes (title, what happened, what was done, what people
-- can do, whom to contact) are sealed with the shared system key: they may
-- describe people. categories holds data-map category codes, comma
-- separated. scope says who is affected: everyone, the learners of one
-- Member (scope_id = member id), of one training (scope_id = training id),
-- or the people listed in breach_people. notified_at is the first time the
-- "notify affected people" action ran; the 72-hour countdown runs from
-- detected_at until then.
CREATE TABLE breaches (
	id          TEXT PRIMARY KEY,
	title       BLOB NOT NULL,
	description BLOB NOT NULL,
	measures    BLOB NOT NULL,
	advice      BLOB NOT NULL,
	contact     BLOB NOT NULL,
	categories  TEXT NOT NULL CHECK (categories <> '' AND categories NOT GLOB '*[^a-z_,]*'),
	occurred_at TEXT NOT NULL,
	detected_at TEXT NOT NULL,
	scope       TEXT NOT NULL CHECK (scope IN ('all', 'member', 'training', 'list')),
	scope_id    TEXT,
	recorded_by TEXT NOT NULL,
	recorded_at TEXT NOT NULL,
	notified_at TEXT,
	CHECK (detected_at >= occurred_at),
	CHECK ((scope IN ('member', 'training')) = (scope_id IS NOT NULL))
) STRICT;

CREATE INDEX breaches_detected ON breaches (detected_at);

-- The people named for a breach with scope 'list'.
CREATE TABLE breach_people (
	breach_id TEXT NOT NULL REFERENCES breaches (id),
	user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (breach_id, user_id)
) STRICT;

-- One row per person told of a breach: the claim is inserted before the
-- mail is queued (UNIQUE makes notifying twice a no-op), outbox_id links it
-- to the mail whose status is the delivery status. Erasure unlinks the
-- person (user_id NULL) but keeps the row: the register keeps its counts.
CREATE TABLE breach_notifications (
	id         INTEGER PRIMARY KEY,
	breach_id  TEXT NOT NULL REFERENCES breaches (id),
	user_id    TEXT REFERENCES users (id) ON DELETE SET NULL,
	outbox_id  TEXT,
	claimed_at TEXT NOT NULL,
	queued_at  TEXT,
	UNIQUE (breach_id, user_id)
) STRICT;

CREATE INDEX breach_notifications_user ON breach_notifications (user_id) WHERE user_id IS NOT NULL;

-- Privacy-policy versions being written. policy_versions (0002) holds only
-- published texts, so drafts live here until publishing moves them there.
CREATE TABLE policy_drafts (
	id           TEXT PRIMARY KEY,
	version      TEXT NOT NULL CHECK (length(version) BETWEEN 1 AND 40),
	summary      TEXT NOT NULL,
	body_md      TEXT NOT NULL,
	material     INTEGER NOT NULL CHECK (material IN (0, 1)),
	effective_at TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL
) STRICT;

-- Mass mails sent to a person, one row per (kind, reference, person): an
-- announcement of a training, a feedback request for a training, a notice
-- of a new policy version. The UNIQUE claim makes each go out at most once.
CREATE TABLE notifications (
	id        INTEGER PRIMARY KEY,
	kind      TEXT NOT NULL CHECK (kind IN ('announcement', 'feedback_request', 'policy_update')),
	ref_id    TEXT NOT NULL,
	user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	outbox_id TEXT,
	queued_at TEXT NOT NULL,
	UNIQUE (kind, ref_id, user_id)
) STRICT;

CREATE INDEX notifications_user ON notifications (user_id);
