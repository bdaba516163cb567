-- Privacy-policy versions. Publishing new ones comes with the policy
-- feature; the first version is seeded so registration can record which
-- text a person accepted.
CREATE TABLE policy_versions (
	version      TEXT PRIMARY KEY,
	summary      TEXT NOT NULL,
	body_md      TEXT NOT NULL,
	material     INTEGER NOT NULL DEFAULT 1 CHECK (material IN (0, 1)),
	effective_at TEXT NOT NULL,
	published_at TEXT NOT NULL
) STRICT;

INSERT INTO policy_versions (version, summary, body_md, material, effective_at, published_at) VALUES (
	'2023-10-09',
	'The first published privacy policy of the portal.',
	'# Privacy policy

This portal keeps the personal data you give at registration and in your profile to run your
account and the trainings you take. The full, always-current notice is generated from the
system itself at /privacy.',
	1, '2023-10-09T00:00:00.000000Z', '2023-10-09T00:00:00.000000Z');

-- Proof of which policy version each person accepted, and when.
CREATE TABLE policy_acceptances (
	id             INTEGER PRIMARY KEY,
	user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	policy_version TEXT NOT NULL REFERENCES policy_versions (version),
	accepted_at    TEXT NOT NULL,
	how            TEXT NOT NULL CHECK (how IN ('registration', 'login', 'profile'))
) STRICT;

CREATE INDEX policy_acceptances_user ON policy_acceptances (user_id, accepted_at);

-- Opt-ins and opt-outs, append-only: the latest row per purpose is the
-- person's current choice, the earlier ones are the proof of history.
CREATE TABLE user_consents (
	id      INTEGER PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose TEXT NOT NULL CHECK (purpose IN ('notify_new', 'feedback')),
	granted INTEGER NOT NULL CHECK (granted IN (0, 1)),
	at      TEXT NOT NULL,
	how     TEXT NOT NULL CHECK (how IN ('registration', 'profile', 'unsubscribe', 'rights'))
) STRICT;

CREATE INDEX user_consents_user ON user_consents (user_id, purpose, id);

-- Optional profile fields, all sealed with the person's data key.
CREATE TABLE profiles (
	user_id          TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	picture          BLOB,
	picture_type     TEXT CHECK (picture_type IN ('image/jpeg', 'image/png')),
	description      BLOB,
	additional_names BLOB,
	interests        BLOB,
	id_number        BLOB,
	institution      BLOB,
	department       BLOB,
	phone            BLOB,
	mobile           BLOB,
	address          BLOB,
	updated_at       TEXT NOT NULL
) STRICT;

-- Single-use links for email verification and password reset. Only the
-- token's hash is kept. new_email is set when confirming a changed address.
CREATE TABLE account_tokens (
	token_hash      BLOB PRIMARY KEY,
	user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose         TEXT NOT NULL CHECK (purpose IN ('verify', 'reset')),
	new_email       BLOB,
	new_email_index BLOB,
	created_at      TEXT NOT NULL,
	expires_at      TEXT NOT NULL,
	used_at         TEXT
) STRICT;

CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expiry ON account_tokens (expires_at);
