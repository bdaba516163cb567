package store

import (
	"context"
	"database/sql"
	"sync"
)

// readStmts keeps the read pool's prepared statements by query text, for
// the small queries every page makes (session, account, enrolments,
// consent): parsing and planning such a query cost more than running it.
// database/sql prepares a statement once on each pool connection that runs
// it. Only fixed query texts go through it, so it stays small.
type readStmts struct {
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func (c *readStmts) get(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	c.mu.RLock()
	st := c.m[q]
	c.mu.RUnlock()
	if st != nil {
		return st, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[q]; st != nil {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[q] = st
	return st, nil
}

func (c *readStmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// readQuery runs a fixed read query on the read pool through a prepared
// statement.
func (s *Store) readQuery(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.stmts.get(ctx, s.rdb, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// readRow is readQuery for one row.
func (s *Store) readRow(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := s.stmts.get(ctx, s.rdb, q)
	if err != nil {
		// The plain query reports the same error through Row.Scan.
		return s.rdb.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// preparedReads offers readQuery as a QueryContext method, for helpers that
// run on the read pool or in a write transaction alike.
type preparedReads struct{ s *Store }

func (p preparedReads) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return p.s.readQuery(ctx, q, args...)
}
