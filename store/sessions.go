package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"sync"
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
	var exp time.Time
	th := tokenHash(token)
	err := ss.s.readRow(ctx, "SELECT data, expiry FROM sessions WHERE token_hash = ? AND expiry > ?",
		th, ts(ss.s.Now())).Scan(&b, tsInto(&exp))
	if errors.Is(err, sql.ErrNoRows) {
		ss.s.sessions.forget(th)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: find session: %w", err)
	}
	ss.s.sessions.saw(th, b, exp)
	return b, true, nil
}

// sessionRefresh is how far a session's expiry may lag behind the one scs
// asks for before an otherwise unchanged session is written again. scs
// re-commits every session on every request to push its idle deadline;
// writing that only every few minutes keeps a page view a pure read.
const sessionRefresh = 5 * time.Minute

// sessionSeen remembers, per session token, the data and expiry last read
// or written, so that a commit changing neither (beyond sessionRefresh) is
// skipped. It is bounded; forgetting an entry only costs one write.
type sessionSeen struct {
	mu sync.Mutex
	m  map[string]seenSession
}

type seenSession struct {
	sum    [32]byte
	expiry time.Time
}

func (c *sessionSeen) saw(th []byte, b []byte, expiry time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]seenSession{}
	}
	if len(c.m) >= 100_000 {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[string(th)] = seenSession{sum: sha256.Sum256(b), expiry: expiry}
}

func (c *sessionSeen) forget(th []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, string(th))
}

// unchanged reports whether committing b with expiry would change nothing
// that matters: same data, and an expiry at most sessionRefresh later.
func (c *sessionSeen) unchanged(th []byte, b []byte, expiry time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[string(th)]
	return ok && e.sum == sha256.Sum256(b) && !expiry.Before(e.expiry) && expiry.Sub(e.expiry) < sessionRefresh
}

// CommitCtx stores or replaces the session data for token. A commit that
// only moves the idle deadline by less than sessionRefresh is skipped.
func (ss SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	th := tokenHash(token)
	if ss.s.sessions.unchanged(th, b, expiry) {
		return nil
	}
	err := ss.s.logTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, data, expiry) VALUES (?, ?, ?)
			ON CONFLICT (token_hash) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`,
			th, b, ts(expiry))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: commit session: %w", err)
	}
	ss.s.sessions.saw(th, b, expiry)
	return nil
}

// DeleteCtx removes a session; a missing one is not an error.
func (ss SessionStore) DeleteCtx(ctx context.Context, token string) error {
	ss.s.sessions.forget(tokenHash(token))
	err := ss.s.logTx(ctx, func(tx *sql.Tx) error {
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
		err := s.logTx(ctx, func(tx *sql.Tx) error {
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
