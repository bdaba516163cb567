-- Two-factor authentication (TOTP, RFC 6238). The shared secret is sealed
-- with the person's data key; confirmed_at is NULL while it is being set
-- up. last_step is the newest time step accepted, so a code works once.
CREATE TABLE user_totp (
	user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret       BLOB NOT NULL,
	created_at   TEXT NOT NULL,
	confirmed_at TEXT,
	last_step    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Single-use recovery codes of the second factor; only a keyed hash is kept.
CREATE TABLE recovery_codes (
	id        INTEGER PRIMARY KEY,
	user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash BLOB NOT NULL UNIQUE,
	used_at   TEXT
) STRICT;

CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- "This was not me" links mailed to the old address when the address of
-- an account changes: the old address, sealed, to restore it.
CREATE TABLE email_reverts (
	token_hash      BLOB PRIMARY KEY,
	user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	old_email       BLOB NOT NULL,
	old_email_index BLOB NOT NULL,
	created_at      TEXT NOT NULL,
	expires_at      TEXT NOT NULL,
	used_at         TEXT
) STRICT;

CREATE INDEX email_reverts_user ON email_reverts (user_id);
CREATE INDEX email_reverts_expiry ON email_reverts (expires_at);

-- When the owner of an address was last told that someone tried to
-- register it again: at most one such notice a day.
ALTER TABLE users ADD COLUMN duplicate_notice_at TEXT;
