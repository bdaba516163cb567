-- An access grant may name another Member organisation as the one whose
-- staff use it: a contractor (say, a technical-support company working for
-- a ministry) then sees the learners of the granting Member's listed
-- trainings, in the same window, for the same purpose and with every view
-- disclosed like any other. NULL keeps the old meaning: the granting
-- Member's own staff. A contractor grant gives the granting Member's own
-- staff nothing.
ALTER TABLE access_grants ADD COLUMN recipient_id TEXT REFERENCES members (id);

CREATE INDEX access_grants_recipient ON access_grants (recipient_id, valid_until) WHERE recipient_id IS NOT NULL;
