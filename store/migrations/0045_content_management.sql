-- Content management. A hidden material or question stays with its
-- training (staff may show it again) but learners do not see it and it does
-- not count towards completion. An archived training leaves the catalogue
-- and takes no new enrolments; the people enrolled keep their records and
-- certificates.
ALTER TABLE trainings ADD COLUMN archived_at TEXT;
ALTER TABLE materials ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1));
ALTER TABLE questions ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1));
