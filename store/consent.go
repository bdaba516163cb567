package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Ways a cookie choice is given (consent_records.how).
const (
	ConsentBanner   = "banner"   // the first-layer banner
	ConsentSettings = "settings" // the /cookies page
	ConsentEmbed    = "embed"    // the click-to-load placeholder of an embed
	ConsentGPC      = "gpc"      // a Global Privacy Control signal, recorded as "reject all"
)

// Cookie categories. Necessary cookies are always on; the others need a
// choice.
const (
	CookieNecessary   = "necessary"
	CookiePreferences = "preferences"
	CookieStatistics  = "statistics"
	CookieMarketing   = "marketing"
)

// Processing purposes a logged-in person may object to (user_objections).
const (
	ObjectStatistics = "statistics" // counting their page views in visitor statistics
)

func consentTables() []table {
	record := Field{Category: CatConsents, Personal: true,
		Purposes:  []string{"prove which cookie choice was made, when, how and under which banner and policy text"},
		Basis:     BasisLegal,
		Retention: "as long as the consent log retention rule keeps consent records",
		Export:    ExportInclude, Erasure: EraseAnonymise,
		Why: "the record stays as proof of a choice made under a random id; erasure removes the link to the person"}
	objection := Field{Category: CatConsents, Personal: true,
		Purposes:  []string{"respect the person's objection to, or restriction of, processing"},
		Basis:     BasisLegal,
		Retention: "while the objection or restriction stands and the account exists",
		Export:    ExportInclude, Erasure: EraseDelete}
	return []table{
		{db: DBMain, name: "consent_records", base: record,
			columns: []string{"id", "consent_id", "user_id", "created_at", "preferences", "statistics", "marketing", "how",
				"policy_version", "revision"}},
		{db: DBMain, name: "user_objections", base: objection, columns: []string{"user_id", "purpose", "objected_at"}},
		{db: DBMain, name: "user_restrictions", base: objection, columns: []string{"user_id", "restricted_at"}},
	}
}

// ConsentRecord is one cookie choice as recorded.
type ConsentRecord struct {
	ID            string
	ConsentID     string // the value of the consent cookie
	UserID        string // "" when the choice was made logged out
	CreatedAt     time.Time
	Preferences   bool
	Statistics    bool
	Marketing     bool
	How           string
	PolicyVersion string
	Revision      string // hex SHA-256 of the banner text and policy version
}

func validHow(h string) bool {
	switch h {
	case ConsentBanner, ConsentSettings, ConsentEmbed, ConsentGPC:
		return true
	}
	return false
}

// RecordConsent appends a cookie choice and returns it with its id and time
// (the store clock). A GPC record is always "reject all".
func (s *Store) RecordConsent(ctx context.Context, c ConsentRecord) (ConsentRecord, error) {
	if !ValidID(c.ConsentID) || !validHow(c.How) || len(c.Revision) != 64 || c.PolicyVersion == "" {
		return c, fmt.Errorf("store: record consent: invalid record (how %q)", c.How)
	}
	if c.How == ConsentGPC && (c.Preferences || c.Statistics || c.Marketing) {
		return c, errors.New("store: record consent: a GPC record allows no optional category")
	}
	c.ID, c.CreatedAt = NewID(), s.Now()
	var user any
	if c.UserID != "" {
		user = c.UserID
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO consent_records (id, consent_id, user_id, created_at, preferences,
			statistics, marketing, how, policy_version, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.ConsentID, user, ts(c.CreatedAt), c.Preferences, c.Statistics, c.Marketing, c.How, c.PolicyVersion, c.Revision)
		return err
	})
	if err != nil {
		return c, fmt.Errorf("store: record consent: %w", err)
	}
	return c, nil
}

const consentColumns = `id, consent_id, COALESCE(user_id, ''), created_at, preferences, statistics, marketing, how, policy_version, revision`

func scanConsent(sc interface{ Scan(...any) error }) (ConsentRecord, error) {
	var c ConsentRecord
	var created string
	err := sc.Scan(&c.ID, &c.ConsentID, &c.UserID, &created, &c.Preferences, &c.Statistics, &c.Marketing, &c.How,
		&c.PolicyVersion, &c.Revision)
	if err != nil {
		return c, err
	}
	c.CreatedAt, err = parseTS(created)
	return c, err
}

// LatestConsent is the newest record of a consent id: the current choice,
// if it is still valid for the current revision (the caller decides).
func (s *Store) LatestConsent(ctx context.Context, consentID string) (ConsentRecord, error) {
	row := s.readRow(ctx, `SELECT `+consentColumns+` FROM consent_records
		WHERE consent_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`, consentID)
	c, err := scanConsent(row)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: latest consent: %w", err)
	}
	return c, nil
}

// ConsentRecords lists every cookie choice linked to a person, oldest
// first, for the rights portal and exports.
func (s *Store) ConsentRecords(ctx context.Context, userID string) ([]ConsentRecord, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+consentColumns+` FROM consent_records
		WHERE user_id = ? ORDER BY created_at, rowid`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: consent records: %w", err)
	}
	defer rows.Close()
	var out []ConsentRecord
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("store: consent records: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: consent records: %w", err)
	}
	return out, nil
}

// SetObjection records (on) or withdraws (off) the person's objection to a
// processing purpose: usage statistics, or one of the kinds of optional
// mail.
func (s *Store) SetObjection(ctx context.Context, userID, purpose string, on bool) error {
	switch purpose {
	case ObjectStatistics, ObjectDirectMarketing, ObjectNotifyNew, ObjectFeedback:
	default:
		return fmt.Errorf("store: set objection: unknown purpose %q", purpose)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if !on {
			_, err := tx.ExecContext(ctx, "DELETE FROM user_objections WHERE user_id = ? AND purpose = ?", userID, purpose)
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO user_objections (user_id, purpose, objected_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id, purpose) DO NOTHING`, userID, purpose, ts(s.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set objection: %w", err)
	}
	return nil
}

// SetRestricted starts (on) or lifts (off) the restriction of processing of
// a person's data.
func (s *Store) SetRestricted(ctx context.Context, userID string, on bool) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if !on {
			_, err := tx.ExecContext(ctx, "DELETE FROM user_restrictions WHERE user_id = ?", userID)
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO user_restrictions (user_id, restricted_at) VALUES (?, ?)
			ON CONFLICT (user_id) DO NOTHING`, userID, ts(s.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set restricted: %w", err)
	}
	return nil
}

// ExcludedFromStatistics reports whether a person's page views must not be
// counted: they object to statistics or their processing is restricted.
func (s *Store) ExcludedFromStatistics(ctx context.Context, userID string) (bool, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM user_objections WHERE user_id = ? AND purpose = ?) OR
		EXISTS (SELECT 1 FROM user_restrictions WHERE user_id = ?)`, userID, ObjectStatistics, userID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: statistics exclusion: %w", err)
	}
	return n == 1, nil
}

// Allows reports whether the record allows cookies of category; necessary
// cookies are always allowed.
func (c ConsentRecord) Allows(category string) bool {
	switch category {
	case CookieNecessary:
		return true
	case CookiePreferences:
		return c.Preferences
	case CookieStatistics:
		return c.Statistics
	case CookieMarketing:
		return c.Marketing
	}
	return false
}
