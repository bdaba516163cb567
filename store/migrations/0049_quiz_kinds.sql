-- Quizzes. A question is single choice, multiple choice, true/false or
-- short answer; its choices are the options to pick from, or for a short
-- answer the answers staff accept (all marked correct), never shown to
-- learners. Staff explain each question; learners read the explanation
-- after submitting. A training may limit how often its quiz is taken
-- (0: no limit).
ALTER TABLE questions ADD COLUMN kind TEXT NOT NULL DEFAULT 'single'
	CHECK (kind IN ('single', 'multiple', 'true_false', 'short'));
ALTER TABLE questions ADD COLUMN explanation TEXT;
ALTER TABLE trainings ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 0 CHECK (max_attempts BETWEEN 0 AND 99);

-- An attempt being answered: the order its options were shown in (layout:
-- question ids, each with its choice ids shuffled), so a reload shows the
-- same order and grading goes by ids. One open attempt per learner and
-- training; submitting moves it to quiz_attempts under the same id.
CREATE TABLE quiz_sittings (
	id          TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	training_id TEXT NOT NULL REFERENCES trainings (id) ON DELETE CASCADE,
	started_at  TEXT NOT NULL,
	layout      TEXT NOT NULL,
	UNIQUE (user_id, training_id)
) STRICT;

-- A graded attempt keeps the order it was shown in and, sealed with the
-- learner's key, the text typed for short-answer questions.
ALTER TABLE quiz_attempts ADD COLUMN layout TEXT;
ALTER TABLE quiz_attempts ADD COLUMN typed BLOB;
