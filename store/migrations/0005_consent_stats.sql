-- Cookie consent records: the proof of every choice made on the banner, the
-- cookie settings page or by a Global Privacy Control signal. Append-only:
-- the newest row of a consent id is the current choice, the older ones are
-- the history. consent_id is the random value of the one necessary cookie;
-- user_id links the record to the person when they were logged in, and
-- becomes NULL when the account is erased (the record stays as proof of a
-- consent given under a random id). revision is the SHA-256 of the exact
-- banner text and the policy version the choice was made under.
CREATE TABLE consent_records (
	id             TEXT PRIMARY KEY,
	consent_id     TEXT NOT NULL CHECK (length(consent_id) = 26),
	user_id        TEXT REFERENCES users (id) ON DELETE SET NULL,
	created_at     TEXT NOT NULL,
	preferences    INTEGER NOT NULL CHECK (preferences IN (0, 1)),
	statistics     INTEGER NOT NULL CHECK (statistics IN (0, 1)),
	marketing      INTEGER NOT NULL CHECK (marketing IN (0, 1)),
	how            TEXT NOT NULL CHECK (how IN ('banner', 'settings', 'embed', 'gpc')),
	policy_version TEXT NOT NULL,
	revision       TEXT NOT NULL CHECK (length(revision) = 64)
) STRICT;

CREATE INDEX consent_records_consent ON consent_records (consent_id, created_at);
CREATE INDEX consent_records_user ON consent_records (user_id, created_at) WHERE user_id IS NOT NULL;
CREATE INDEX consent_records_created ON consent_records (created_at);

-- A record never changes once written; only erasure may unlink it from the
-- person (ON DELETE SET NULL above), and retention may delete old rows.
CREATE TRIGGER consent_records_append_only BEFORE UPDATE ON consent_records
WHEN NEW.id IS NOT OLD.id OR NEW.consent_id IS NOT OLD.consent_id OR NEW.created_at IS NOT OLD.created_at
	OR NEW.preferences IS NOT OLD.preferences OR NEW.statistics IS NOT OLD.statistics
	OR NEW.marketing IS NOT OLD.marketing OR NEW.how IS NOT OLD.how
	OR NEW.policy_version IS NOT OLD.policy_version OR NEW.revision IS NOT OLD.revision
	OR (NEW.user_id IS NOT NULL AND NEW.user_id IS NOT OLD.user_id)
BEGIN
	SELECT RAISE(ABORT, 'consent_records are append-only');
END;

-- Objections of logged-in people to a processing purpose (GDPR Art. 21),
-- one row per active objection. The rights portal writes them; features
-- read them (visitor statistics skip people who object to 'statistics').
-- Purposes are validated in Go so that later features can add their own.
CREATE TABLE user_objections (
	user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose     TEXT NOT NULL CHECK (length(purpose) BETWEEN 1 AND 40 AND purpose NOT GLOB '*[^a-z_]*'),
	objected_at TEXT NOT NULL,
	PRIMARY KEY (user_id, purpose)
) STRICT;

-- Restriction of processing (GDPR Art. 18): while a row exists the person's
-- data is frozen (no member access, no mail, no statistics).
CREATE TABLE user_restrictions (
	user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	restricted_at TEXT NOT NULL
) STRICT;

-- Visitor statistics, aggregate counters only: never an address, a user
-- agent or a row per visitor. stats_hourly counts page views per UTC hour;
-- visitors counts the unique visitors whose first view of the day fell in
-- that hour, so summing a day's hours gives the day's unique visitors.
CREATE TABLE stats_hourly (
	day      TEXT NOT NULL CHECK (length(day) = 10),
	hour     INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
	views    INTEGER NOT NULL CHECK (views >= 0),
	visitors INTEGER NOT NULL CHECK (visitors >= 0),
	PRIMARY KEY (day, hour)
) STRICT, WITHOUT ROWID;

-- Daily counters per single dimension (browser, os, language, referrer,
-- path). Dimensions are counted separately, never as a cross-product, so no
-- row describes one visitor's combination of traits. visitors is the number
-- of unique visitors with that value that day.
CREATE TABLE stats_daily (
	day       TEXT NOT NULL CHECK (length(day) = 10),
	dimension TEXT NOT NULL CHECK (dimension IN ('browser', 'os', 'language', 'referrer', 'path')),
	value     TEXT NOT NULL CHECK (length(value) <= 253),
	views     INTEGER NOT NULL CHECK (views >= 0),
	visitors  INTEGER NOT NULL CHECK (visitors >= 0),
	PRIMARY KEY (day, dimension, value)
) STRICT, WITHOUT ROWID;

CREATE INDEX stats_daily_dimension ON stats_daily (dimension, day);
