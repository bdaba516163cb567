-- Requests received outside the portal (by email, letter or phone) are
-- recorded by the privacy officer on the person's behalf: how the request
-- came in, who recorded it, and how the person's identity was verified
-- (sealed with the person's key: it may quote an identity document).
ALTER TABLE rights_cases ADD COLUMN channel TEXT NOT NULL DEFAULT 'portal'
	CHECK (channel IN ('portal', 'email', 'letter', 'phone'));
ALTER TABLE rights_cases ADD COLUMN recorded_by TEXT;
ALTER TABLE rights_cases ADD COLUMN identity_check BLOB;
