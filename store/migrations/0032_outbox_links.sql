-- Mail carrying a link that expires or works once remembers when the link
-- expires and, for account links, which token it carries (its hash, as in
-- account_tokens): such mail is dropped rather than sent once the link is
-- dead, for example when SMTP is configured days after it was queued.
ALTER TABLE outbox ADD COLUMN link_expires_at TEXT;
ALTER TABLE outbox ADD COLUMN link_token_hash TEXT; -- hex, not a secret: the token itself is never stored
