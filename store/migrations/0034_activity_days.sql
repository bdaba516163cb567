-- Activity per training, day and person, for the reports (store/reports.go):
-- how many activity_log rows each person has for each training (or '' for
-- activity outside any training) on each UTC day. The reports count these
-- rows instead of the log, so their cost grows with people-days, not with
-- events. The table holds only what activity_log holds: the activity
-- writer adds to it in the transaction that inserts the rows, the
-- retention purge subtracts what it deletes, and erasure deletes a
-- person's rows with their log (user_id, via the data map). Restriction,
-- objection and roles are applied when a report is read, exactly as for
-- the log, so lifting a restriction brings the person back.
CREATE TABLE activity_days (
	training_id TEXT NOT NULL,
	day         TEXT NOT NULL,
	user_id     TEXT NOT NULL,
	n           INTEGER NOT NULL,
	PRIMARY KEY (training_id, day, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX activity_days_user ON activity_days (user_id);

-- A count that reaches zero goes: the table never holds an empty cell.
CREATE TRIGGER activity_days_empty AFTER UPDATE OF n ON activity_days WHEN NEW.n <= 0
BEGIN
	DELETE FROM activity_days WHERE training_id = NEW.training_id AND day = NEW.day AND user_id = NEW.user_id;
END;

INSERT INTO activity_days (training_id, day, user_id, n)
SELECT COALESCE(training_id, ''), substr(at, 1, 10), user_id, COUNT(*) FROM activity_log
GROUP BY COALESCE(training_id, ''), substr(at, 1, 10), user_id;

-- The grades of a Member's or a training's report are read per training.
CREATE INDEX quiz_attempts_training ON quiz_attempts (training_id, submitted_at);
