package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

func undertakingTables() []table {
	return []table{{db: DBMain, name: "undertakings", columns: []string{"id", "user_id", "version", "accepted_at"},
		base: Field{Category: CatAccount, Personal: true,
			Purposes: []string{"show that staff and operators agreed not to disclose personal data before they saw any"},
			Basis:    BasisLegal, Retention: "while the account exists", Export: ExportInclude, Erasure: EraseDelete}}}
}

// UndertakingVersion names a text of the confidentiality undertaking: the
// first 12 hex digits of its SHA-256, so any change to the text is a new
// version that must be accepted again.
func UndertakingVersion(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])[:12]
}

// Undertaking is one acceptance of the confidentiality undertaking.
type Undertaking struct {
	UserID     string
	Version    string
	AcceptedAt time.Time
}

// AcceptUndertaking records that userID accepted the undertaking of
// version now. Every acceptance is kept.
func (s *Store) AcceptUndertaking(ctx context.Context, userID, version string) (Undertaking, error) {
	now := s.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO undertakings (user_id, version, accepted_at)
			SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1)`, userID, version, ts(now))
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if errors.Is(err, ErrNotFound) {
		return Undertaking{}, err
	}
	if err != nil {
		return Undertaking{}, fmt.Errorf("store: accept undertaking: %w", err)
	}
	return Undertaking{UserID: userID, Version: version, AcceptedAt: now}, nil
}

// LatestUndertaking is userID's most recent acceptance, or ErrNotFound.
func (s *Store) LatestUndertaking(ctx context.Context, userID string) (Undertaking, error) {
	u := Undertaking{UserID: userID}
	err := s.rdb.QueryRowContext(ctx, `SELECT version, accepted_at FROM undertakings WHERE user_id = ?
		ORDER BY accepted_at DESC, id DESC LIMIT 1`, userID).Scan(&u.Version, tsInto(&u.AcceptedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return u, ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("store: undertaking: %w", err)
	}
	return u, nil
}

// AcceptedUndertaking reports whether userID has accepted version.
func (s *Store) AcceptedUndertaking(ctx context.Context, userID, version string) (bool, error) {
	var n int
	if err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM undertakings WHERE user_id = ? AND version = ?", userID, version).Scan(&n); err != nil {
		return false, fmt.Errorf("store: undertaking: %w", err)
	}
	return n > 0, nil
}
