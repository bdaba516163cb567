-- An operator may suspend an account for misuse: the account's status
-- becomes 'disabled' while a row here says why (sealed with the person's
-- own key: they are told, and it is erased with them), when and by whom.
-- Lifting the suspension deletes the row.
CREATE TABLE suspensions (
    user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    reason       BLOB NOT NULL,
    suspended_at TEXT NOT NULL,
    suspended_by TEXT NOT NULL
) STRICT;
