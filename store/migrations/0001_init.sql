-- Accounts. Personal fields are sealed BLOBs (see store/datamap.go); country
-- and industry stay plaintext codes because aggregate statistics need them.
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	email_index   BLOB NOT NULL UNIQUE,
	email         BLOB NOT NULL,
	first_name    BLOB NOT NULL,
	surname       BLOB NOT NULL,
	company       BLOB,
	gender        BLOB,
	country       TEXT,
	industry      TEXT,
	password_hash TEXT NOT NULL,
	role          TEXT NOT NULL CHECK (role IN ('learner', 'member_staff', 'member_admin', 'operator', 'consultant', 'backoffice')),
	dpo           INTEGER NOT NULL DEFAULT 0 CHECK (dpo IN (0, 1)),
	status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
	session_epoch INTEGER NOT NULL DEFAULT 0,
	language      TEXT NOT NULL DEFAULT 'en',
	created_at    TEXT NOT NULL,
	verified_at   TEXT,
	last_login_at TEXT,
	adult_confirmed_at TEXT
) STRICT;

CREATE INDEX users_role ON users (role);

-- Web sessions (scs). Only a SHA-256 of the token is stored, so a copy of the
-- database cannot be replayed as cookies. data holds ids, never personal data.
CREATE TABLE sessions (
	token_hash BLOB PRIMARY KEY,
	data       BLOB NOT NULL,
	expiry     TEXT NOT NULL
) STRICT;

CREATE INDEX sessions_expiry ON sessions (expiry);

-- One-time links that let the first operator create their account.
CREATE TABLE setup_tokens (
	token_hash BLOB PRIMARY KEY,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL,
	used_at    TEXT
) STRICT;
