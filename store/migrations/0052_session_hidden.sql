-- A hidden live session stays with its training (staff may show it again
-- and still mark attendance) but learners and visitors do not see it: not
-- on the training page, in its calendar or on its card.
ALTER TABLE training_sessions ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1));
