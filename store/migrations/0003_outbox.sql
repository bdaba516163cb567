-- The mail outbox. Recipient, subject, bodies and extra headers are sealed:
-- with the recipient's data key when the mail is for an account (so erasing
-- the person shreds their mail too), otherwise with the shared "system" key.
-- user_id has no foreign key on purpose: erasure deletes these rows itself,
-- and a mail may outlive nothing but its own delivery. last_error is written
-- sanitised and never holds an address. Sealed columns are nullable so that
-- retention can purge bodies while keeping the delivery record.
CREATE TABLE outbox (
	id              TEXT PRIMARY KEY,
	user_id         TEXT,
	recipient       BLOB,
	subject         BLOB,
	body_text       BLOB,
	body_html       BLOB,
	headers         BLOB,
	kind            TEXT NOT NULL CHECK (kind <> ''),
	status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at TEXT NOT NULL,
	last_error      TEXT,
	created_at      TEXT NOT NULL,
	sent_at         TEXT
) STRICT;

-- The due query (status = 'queued' AND next_attempt_at <= now) and the
-- per-status counts of OutboxStats.
CREATE INDEX outbox_status_due ON outbox (status, next_attempt_at);
-- Erasure and "mail sent to me" lookups.
CREATE INDEX outbox_user ON outbox (user_id) WHERE user_id IS NOT NULL;
-- Newest-first listing on the console and retention by age.
CREATE INDEX outbox_created ON outbox (created_at);
