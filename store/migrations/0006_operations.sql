-- Operations: the scheduler's job state, the hash-chained audit log,
-- retention rules, legal holds and the purge log, the web access log and the
-- record of backups.

-- One row per scheduled job. next_run_at is when it is due; a process runs it
-- only after taking the lease (lease_owner/lease_until) in an immediate
-- transaction, so two processes never run the same job and a lease left by a
-- crashed process simply runs out.
CREATE TABLE jobs (
	name        TEXT PRIMARY KEY,
	next_run_at TEXT NOT NULL,
	last_run_at TEXT,
	last_ok_at  TEXT,
	last_error  TEXT,
	lease_owner TEXT,
	lease_until TEXT
) STRICT;

-- Admin and privacy actions, append-only. Each entry carries the hash of the
-- previous one; hash covers seq, at, actor, action, target, details and
-- prev_hash (see store/audit.go). details holds ids and codes, never
-- personal data.
CREATE TABLE audit_log (
	seq         INTEGER PRIMARY KEY,
	at          TEXT NOT NULL,
	actor_id    TEXT NOT NULL,
	action      TEXT NOT NULL CHECK (action <> ''),
	target_type TEXT NOT NULL DEFAULT '',
	target_id   TEXT NOT NULL DEFAULT '',
	details     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
	prev_hash   TEXT NOT NULL CHECK (length(prev_hash) = 64),
	hash        TEXT NOT NULL CHECK (length(hash) = 64)
) STRICT;

CREATE INDEX audit_log_at ON audit_log (at);

-- Entries are never changed. (Someone with the file can drop this trigger;
-- the hash chain is what catches them.)
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- When retention prunes the oldest audit entries, the last pruned entry's
-- seq and hash stay here, so the remaining chain still verifies from it.
CREATE TABLE audit_anchor (
	id        INTEGER PRIMARY KEY CHECK (id = 1),
	seq       INTEGER NOT NULL,
	hash      TEXT NOT NULL CHECK (length(hash) = 64),
	pruned_at TEXT NOT NULL
) STRICT;

-- Retention rules changed from their defaults (store/retention.go holds the
-- defaults, so a category without a row keeps its default).
CREATE TABLE retention_rules (
	category   TEXT PRIMARY KEY,
	keep       INTEGER NOT NULL CHECK (keep >= 0),
	updated_at TEXT NOT NULL,
	updated_by TEXT NOT NULL
) STRICT;

-- Legal holds stop retention from purging what they cover: everything of
-- one person, or one whole category. The reason is sealed with the system
-- key because an operator types it.
CREATE TABLE legal_holds (
	id          TEXT PRIMARY KEY,
	user_id     TEXT,
	category    TEXT,
	reason      BLOB NOT NULL,
	set_by      TEXT NOT NULL,
	set_at      TEXT NOT NULL,
	released_by TEXT,
	released_at TEXT,
	CHECK ((user_id IS NULL) <> (category IS NULL))
) STRICT;

CREATE INDEX legal_holds_active ON legal_holds (released_at, user_id);

-- The purge log: what retention removed, per category and run; held = 1
-- when a legal hold on the whole category skipped it.
CREATE TABLE retention_runs (
	id          INTEGER PRIMARY KEY,
	category    TEXT NOT NULL,
	rows        INTEGER NOT NULL CHECK (rows >= 0),
	held        INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1)),
	started_at  TEXT NOT NULL,
	finished_at TEXT NOT NULL,
	error       TEXT
) STRICT;

CREATE INDEX retention_runs_finished ON retention_runs (finished_at);

-- Web access log (SPEC §2): never linked to an account, the route pattern
-- instead of the raw path (paths carry tokens), the referrer's domain only,
-- and the address sealed with a key of its own day ("accesslog:YYYY-MM-DD"),
-- so dropping that key shreds the day's addresses everywhere, backups too.
CREATE TABLE access_log (
	id          INTEGER PRIMARY KEY,
	at          TEXT NOT NULL,
	method      TEXT NOT NULL,
	route       TEXT NOT NULL,
	status      INTEGER NOT NULL,
	duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
	browser     TEXT,
	referrer    TEXT,
	ip          BLOB
) STRICT;

CREATE INDEX access_log_at ON access_log (at);

-- Backups taken, successful or not (ok = 0 with the error). file is the name
-- inside DATA/backups; deleted_at is set when pruning removed it.
CREATE TABLE backups (
	id         TEXT PRIMARY KEY,
	file       TEXT NOT NULL,
	kind       TEXT NOT NULL CHECK (kind IN ('data', 'keys')),
	size       INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
	sha256     TEXT,
	created_at TEXT NOT NULL,
	ok         INTEGER NOT NULL CHECK (ok IN (0, 1)),
	error      TEXT,
	origin     TEXT NOT NULL CHECK (origin IN ('schedule', 'console', 'cli', 'restore')),
	deleted_at TEXT
) STRICT;

CREATE INDEX backups_created ON backups (created_at);

-- Retention clears activity-log addresses by age; these partial indexes
-- keep each pass to the rows that still hold one.
CREATE INDEX activity_log_ip_at ON activity_log (at) WHERE ip IS NOT NULL;
CREATE INDEX activity_log_prefix_at ON activity_log (at) WHERE ip_prefix IS NOT NULL;

-- Outbox bodies still held, by age, for the outbox retention rule.
CREATE INDEX outbox_bodies_created ON outbox (created_at) WHERE recipient IS NOT NULL AND status <> 'queued';
