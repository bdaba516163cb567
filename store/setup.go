package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"time"
)

// NewToken returns a random URL-safe token with 256 bits of entropy.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateSetupToken issues the one-time link token that lets the first
// operator create an account in the browser. Earlier unused tokens are
// withdrawn, so only the most recently printed link works.
func (s *Store) CreateSetupToken(ctx context.Context, ttl time.Duration) (string, error) {
	token := NewToken()
	now := s.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM setup_tokens WHERE used_at IS NULL"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)",
			tokenHash(token), ts(now), ts(now.Add(ttl)))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: create setup token: %w", err)
	}
	return token, nil
}

// SetupTokenValid reports whether token is unused and unexpired.
func (s *Store) SetupTokenValid(ctx context.Context, token string) (bool, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
		tokenHash(token), ts(s.Now())).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: setup token: %w", err)
	}
	return n == 1, nil
}

// CompleteSetup spends token and creates the first operator in one
// transaction. A spent, expired or unknown token is ErrNotFound; an operator
// that already exists is ErrConflict. If the account cannot be created the
// token stays usable.
func (s *Store) CompleteSetup(ctx context.Context, token string, nu NewUser) (User, error) {
	return s.CompleteSetupWithSettings(ctx, token, nu, nil)
}

// CompleteSetupWithSettings is CompleteSetup that also stores settings
// (key → value, as SaveSettings takes them: validated by the caller) in the
// same transaction, changed by the new operator and audited: the site's
// name and the controller's identity asked for on the setup page. Either
// all of it is stored or nothing, and the token stays usable.
func (s *Store) CompleteSetupWithSettings(ctx context.Context, token string, nu NewUser, settings map[string]string) (User, error) {
	if !nu.Role.IsOperator() {
		return User{}, fmt.Errorf("store: complete setup: role %q is not an operator role", nu.Role)
	}
	if err := checkSettingKeys(settings); err != nil {
		return User{}, fmt.Errorf("store: complete setup: %w", err)
	}
	var cur Settings
	var dk []byte
	if len(settings) > 0 {
		var err error
		if cur, err = s.Settings(ctx); err != nil {
			return User{}, err
		}
		if dk, err = s.systemDataKey(ctx); err != nil {
			return User{}, fmt.Errorf("store: complete setup: %w", err)
		}
	}
	h := tokenHash(token)
	u, err := s.createUser(ctx, nu, func(tx *sql.Tx, id string) error {
		var ops int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE role IN ('operator', 'consultant', 'backoffice')").Scan(&ops); err != nil {
			return err
		}
		if ops > 0 {
			return ErrConflict
		}
		now := ts(s.Now())
		res, err := tx.ExecContext(ctx, "UPDATE setup_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?", now, h, now)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil || len(settings) == 0 {
			return err
		}
		// No revision to match: no one could use the console before
		// this account; the values are compared with those read above.
		rev, err := settingsRevision(ctx, tx)
		if err != nil {
			return err
		}
		return s.writeSettings(ctx, tx, dk, cur, rev, id, settings, nil, s.Now())
	})
	if err != nil {
		return User{}, fmt.Errorf("store: complete setup: %w", err)
	}
	return u, nil
}
