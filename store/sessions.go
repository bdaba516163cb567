package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SessionStore keeps scs sessions in kelas.db. It implements scs.CtxStore.
// Tokens are stored as SHA-256 hashes: a leaked database holds no usable
// session cookie.
type SessionStore struct{ s *Store }

// Sessions returns the scs store backed by this database.
func (s *Store) Sessions() SessionStore { return SessionStore{s} }

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// FindCtx returns the session data for token, or found=false when it does
// not exist or has expired.
func (ss SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var b []byte
	err := ss.s.rdb.QueryRowContext(ctx, "SELECT data FROM sessions WHERE token_hash = ? AND expiry > ?",
		tokenHash(token), ts(ss.s.Now())).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: find session: %w", err)
	}
	return b, true, nil
}

// CommitCtx stores or replaces the session data for token.
func (ss SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	err := ss.s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, data, expiry) VALUES (?, ?, ?)
			ON CONFLICT (token_hash) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`,
			tokenHash(token), b, ts(expiry))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: commit session: %w", err)
	}
	return nil
}

// DeleteCtx removes a session; a missing one is not an error.
func (ss SessionStore) DeleteCtx(ctx context.Context, token string) error {
	err := ss.s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE token_hash = ?", tokenHash(token))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// Find, Commit and Delete satisfy scs.Store; scs prefers the Ctx variants.
func (ss SessionStore) Find(token string) ([]byte, bool, error) {
	return ss.FindCtx(context.Background(), token)
}

// Commit implements scs.Store.
func (ss SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return ss.CommitCtx(context.Background(), token, b, expiry)
}

// Delete implements scs.Store.
func (ss SessionStore) Delete(token string) error {
	return ss.DeleteCtx(context.Background(), token)
}

// DeleteExpiredSessions removes expired session rows in small batches so a
// large backlog never holds the write lock for long. It returns how many rows
// went.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE rowid IN
				(SELECT rowid FROM sessions WHERE expiry <= ? LIMIT 500)`, ts(s.Now()))
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("store: delete expired sessions: %w", err)
		}
		total += n
		if n < 500 {
			return total, nil
		}
	}
}
