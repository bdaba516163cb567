-- A person's time zone (an IANA name; '' until chosen: the site's zone) and
-- how their name is written: given name first or family name first. Both
-- are preferences kept beside the language, not personal data to seal.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN name_order TEXT NOT NULL DEFAULT 'given_first'
	CHECK (name_order IN ('given_first', 'family_first'));

-- The zone a live session was organised in. starts_at and ends_at stay in
-- UTC; the zone is shown beside the viewer's own and names the wall-clock
-- time the organiser chose.
ALTER TABLE training_sessions ADD COLUMN zone TEXT NOT NULL DEFAULT 'UTC';
