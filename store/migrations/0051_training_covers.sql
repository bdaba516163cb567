-- Cover images of trainings, shown on the catalogue's cards. Staff upload
-- them; kelas stores them re-encoded from their pixels (PNG or JPEG, no
-- metadata), apart from the trainings table so that listing trainings never
-- reads an image.
CREATE TABLE training_covers (
	training_id  TEXT PRIMARY KEY REFERENCES trainings (id) ON DELETE CASCADE,
	image        BLOB NOT NULL,
	content_type TEXT NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg')),
	updated_at   TEXT NOT NULL
) STRICT;

