-- Member organisations: seeded from store/seed/members.json on first start.
CREATE TABLE members (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	country    TEXT,
	kind       TEXT NOT NULL CHECK (kind IN ('government', 'public-agency', 'ngo', 'private')),
	active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	created_at TEXT NOT NULL
) STRICT;

-- Which Member a staff account works for, and as what.
CREATE TABLE member_staff (
	user_id   TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	member_id TEXT NOT NULL REFERENCES members (id),
	role      TEXT NOT NULL CHECK (role IN ('member_staff', 'member_admin')),
	added_at  TEXT NOT NULL
) STRICT;

CREATE INDEX member_staff_member ON member_staff (member_id);

CREATE TABLE trainings (
	id         TEXT PRIMARY KEY,
	member_id  TEXT NOT NULL REFERENCES members (id),
	title      TEXT NOT NULL,
	summary    TEXT NOT NULL,
	language   TEXT NOT NULL,
	country    TEXT,
	kind       TEXT NOT NULL CHECK (kind IN ('self_study', 'live')),
	place      TEXT,
	join_url   TEXT,
	pass_mark  INTEGER NOT NULL DEFAULT 70 CHECK (pass_mark BETWEEN 0 AND 100),
	published  INTEGER NOT NULL DEFAULT 0 CHECK (published IN (0, 1)),
	created_by TEXT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
) STRICT;

CREATE INDEX trainings_member ON trainings (member_id);
CREATE INDEX trainings_published ON trainings (published, created_at);

-- Dates of a live training.
CREATE TABLE training_sessions (
	id          TEXT PRIMARY KEY,
	training_id TEXT NOT NULL REFERENCES trainings (id) ON DELETE CASCADE,
	starts_at   TEXT NOT NULL,
	ends_at     TEXT NOT NULL,
	CHECK (ends_at > starts_at)
) STRICT;

CREATE INDEX training_sessions_training ON training_sessions (training_id, starts_at);

CREATE TABLE materials (
	id          TEXT PRIMARY KEY,
	training_id TEXT NOT NULL REFERENCES trainings (id) ON DELETE CASCADE,
	position    INTEGER NOT NULL,
	kind        TEXT NOT NULL CHECK (kind IN ('page', 'file', 'video', 'link')),
	title       TEXT NOT NULL,
	body_md     TEXT,
	url         TEXT,
	file_name   TEXT,
	file_type   TEXT,
	file_size   INTEGER,
	file_sha256 TEXT,
	required    INTEGER NOT NULL DEFAULT 1 CHECK (required IN (0, 1)),
	created_at  TEXT NOT NULL
) STRICT;

CREATE INDEX materials_training ON materials (training_id, position);

-- Multiple-choice quiz of a training.
CREATE TABLE questions (
	id          TEXT PRIMARY KEY,
	training_id TEXT NOT NULL REFERENCES trainings (id) ON DELETE CASCADE,
	position    INTEGER NOT NULL,
	prompt      TEXT NOT NULL
) STRICT;

CREATE INDEX questions_training ON questions (training_id, position);

CREATE TABLE choices (
	id          TEXT PRIMARY KEY,
	question_id TEXT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
	position    INTEGER NOT NULL,
	label       TEXT NOT NULL,
	correct     INTEGER NOT NULL DEFAULT 0 CHECK (correct IN (0, 1))
) STRICT;

CREATE INDEX choices_question ON choices (question_id, position);

-- Learning records: owned by the learner, deleted with them.
CREATE TABLE enrolments (
	user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	training_id  TEXT NOT NULL REFERENCES trainings (id) ON DELETE CASCADE,
	enrolled_at  TEXT NOT NULL,
	completed_at TEXT,
	PRIMARY KEY (user_id, training_id)
) STRICT;

CREATE INDEX enrolments_training ON enrolments (training_id);

CREATE TABLE material_views (
	user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	material_id     TEXT NOT NULL REFERENCES materials (id) ON DELETE CASCADE,
	first_viewed_at TEXT NOT NULL,
	PRIMARY KEY (user_id, material_id)
) STRICT;

CREATE TABLE quiz_attempts (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	training_id  TEXT NOT NULL REFERENCES trainings (id) ON DELETE CASCADE,
	submitted_at TEXT NOT NULL,
	answers      TEXT NOT NULL,
	score        INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100),
	passed       INTEGER NOT NULL CHECK (passed IN (0, 1))
) STRICT;

CREATE INDEX quiz_attempts_user ON quiz_attempts (user_id, training_id, submitted_at);

CREATE TABLE attendance (
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	session_id TEXT NOT NULL REFERENCES training_sessions (id) ON DELETE CASCADE,
	marked_by  TEXT NOT NULL,
	marked_at  TEXT NOT NULL,
	PRIMARY KEY (user_id, session_id)
) STRICT;

-- Certificates: the code is the unguessable public verification key; the
-- holder's name is sealed with their key, so erasure voids the certificate.
CREATE TABLE certificates (
	code        TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	training_id TEXT NOT NULL REFERENCES trainings (id) ON DELETE CASCADE,
	holder_name BLOB NOT NULL,
	issued_at   TEXT NOT NULL,
	UNIQUE (user_id, training_id)
) STRICT;

-- Activity log (SPEC §2). No foreign keys: rows arrive in batches from an
-- asynchronous writer, and erasure deletes them explicitly. ip holds the
-- full address and ip_prefix the truncated one (/24 or /48), both sealed
-- with the person's key; retention clears ip first and ip_prefix later.
CREATE TABLE activity_log (
	id          INTEGER PRIMARY KEY,
	user_id     TEXT NOT NULL,
	training_id TEXT,
	at          TEXT NOT NULL,
	action      TEXT NOT NULL,
	object_type TEXT,
	object_id   TEXT,
	ip          BLOB,
	ip_prefix   BLOB
) STRICT;

CREATE INDEX activity_log_at ON activity_log (at);
CREATE INDEX activity_log_user ON activity_log (user_id, at);
CREATE INDEX activity_log_training ON activity_log (training_id, at);
