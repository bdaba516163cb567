-- The console's audit log narrows by actor ("what did this account do?")
-- and pages through the answer with a count; without an index each such
-- page would read the whole log, which is kept for years.
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
