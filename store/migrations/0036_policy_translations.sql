-- Translations of published privacy-policy versions, one per language and
-- version, added by the privacy officer. The notice and the version pages
-- show the reader's language when a translation exists, else the original.
CREATE TABLE policy_translations (
	version    TEXT NOT NULL REFERENCES policy_versions (version),
	language   TEXT NOT NULL CHECK (length(language) BETWEEN 2 AND 8),
	summary    TEXT NOT NULL,
	body_md    TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (version, language)
) STRICT, WITHOUT ROWID;
