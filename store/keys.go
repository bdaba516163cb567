package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"kelas/store/crypt"
)

// ErrWrongMasterKey means the master key does not match the data directory.
var ErrWrongMasterKey = errors.New("store: the master key does not match this data directory (key check value differs); " +
	"start with the KELAS_MASTER_KEY or KELAS_MASTER_KEY_FILE this data was created with")

// checkMasterKey records the key check value on first use and compares it on
// every later start, so a wrong key stops kelas before it writes anything.
func (s *Store) checkMasterKey(ctx context.Context) error {
	var stored []byte
	err := s.kdb.QueryRowContext(ctx, "SELECT check_value FROM key_check WHERE id = 1").Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return inTx(ctx, s.kdb, func(tx *sql.Tx) error {
			now := ts(s.Now())
			if _, err := tx.ExecContext(ctx, "INSERT INTO key_check (id, check_value, created_at) VALUES (1, ?, ?)", s.kr.CheckValue(), now); err != nil {
				return fmt.Errorf("store: key check: %w", err)
			}
			_, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO kek_versions (version, created_at) VALUES (1, ?)", now)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("store: key check: %w", err)
	}
	if !s.kr.MatchesCheckValue(stored) {
		return ErrWrongMasterKey
	}
	return nil
}

// currentKEK is the newest key-wrapping key version.
func currentKEK(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "SELECT MAX(version) FROM kek_versions").Scan(&v); err != nil {
		return 0, fmt.Errorf("store: kek version: %w", err)
	}
	return v, nil
}

// createDataKey makes and stores a new data key for subject.
func (s *Store) createDataKey(ctx context.Context, subject string) ([]byte, error) {
	dk := crypt.NewDataKey()
	err := inTx(ctx, s.kdb, func(tx *sql.Tx) error {
		v, err := currentKEK(ctx, tx)
		if err != nil {
			return err
		}
		wrapped, err := s.kr.Wrap(v, subject, dk)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO data_keys (subject, kek_version, wrapped, created_at) VALUES (?, ?, ?, ?)",
			subject, v, wrapped, ts(s.Now()))
		if isConstraint(err) {
			return ErrConflict
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: create data key: %w", err)
	}
	s.keys.put(subject, dk)
	return dk, nil
}

// dataKey returns subject's unwrapped data key, or ErrNotFound once it has
// been destroyed.
func (s *Store) dataKey(ctx context.Context, subject string) ([]byte, error) {
	if dk, ok := s.keys.get(subject); ok {
		return dk, nil
	}
	var v int
	var wrapped []byte
	err := s.krdb.QueryRowContext(ctx, "SELECT kek_version, wrapped FROM data_keys WHERE subject = ?", subject).Scan(&v, &wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: data key: %w", err)
	}
	dk, err := s.kr.Unwrap(v, subject, wrapped)
	if err != nil {
		return nil, fmt.Errorf("store: unwrap data key: %w", err)
	}
	s.keys.put(subject, dk)
	return dk, nil
}

// DestroyDataKey deletes subject's data key (crypto-shredding): every field
// sealed with it, in the database and in any backup, becomes unreadable.
//
// Deleting the row is not enough on disk: secure_delete zeroes the cell in
// the new version of its page, but the WAL and the database file still hold
// older versions of that page until a checkpoint. keys.db is small, so it is
// checkpointed with TRUNCATE right away: when this returns, the wrapped key
// is in no file of the data directory. Keys backups hold it, encrypted,
// until the keys-backup retention removes them (7 days by default).
func (s *Store) DestroyDataKey(ctx context.Context, subject string) error {
	s.keys.forget(subject)
	err := inTx(ctx, s.kdb, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM data_keys WHERE subject = ?", subject)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: destroy data key: %w", err)
	}
	if err := checkpointTruncate(ctx, s.kdb); err != nil {
		return fmt.Errorf("store: destroy data key: %w", err)
	}
	return nil
}

// RotateKeys adds a new key-wrapping key version and re-wraps every data key
// under it in one transaction: either all keys move or none do.
func (s *Store) RotateKeys(ctx context.Context) (version, rewrapped int, err error) {
	err = inTx(ctx, s.kdb, func(tx *sql.Tx) error {
		old, err := currentKEK(ctx, tx)
		if err != nil {
			return err
		}
		version = old + 1
		if _, err := tx.ExecContext(ctx, "INSERT INTO kek_versions (version, created_at) VALUES (?, ?)", version, ts(s.Now())); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, "SELECT subject, kek_version, wrapped FROM data_keys")
		if err != nil {
			return err
		}
		type rewrap struct {
			subject string
			wrapped []byte
		}
		var out []rewrap
		for rows.Next() {
			var subject string
			var v int
			var wrapped []byte
			if err := rows.Scan(&subject, &v, &wrapped); err != nil {
				rows.Close()
				return err
			}
			dk, err := s.kr.Unwrap(v, subject, wrapped)
			if err != nil {
				rows.Close()
				return fmt.Errorf("unwrap key of %s: %w", subject, err)
			}
			nw, err := s.kr.Wrap(version, subject, dk)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, rewrap{subject, nw})
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, "UPDATE data_keys SET kek_version = ?, wrapped = ? WHERE subject = ?")
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range out {
			if _, err := stmt.ExecContext(ctx, version, r.wrapped, r.subject); err != nil {
				return err
			}
		}
		rewrapped = len(out)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("store: rotate keys: %w", err)
	}
	// The old wrappings stay openable with the master key as long as a
	// page holding them does; checkpoint them out of the WAL now.
	if err := checkpointTruncate(ctx, s.kdb); err != nil {
		return 0, 0, fmt.Errorf("store: rotate keys: %w", err)
	}
	return version, rewrapped, nil
}

// KeyStatus summarises keys.db for `kelas doctor` and the console.
type KeyStatus struct {
	CurrentVersion int
	DataKeys       int
	OnOldVersions  int
}

// KeyStatus reports the current wrapping version and how many data keys exist.
func (s *Store) KeyStatus(ctx context.Context) (KeyStatus, error) {
	var ks KeyStatus
	v, err := currentKEK(ctx, s.krdb)
	if err != nil {
		return ks, err
	}
	ks.CurrentVersion = v
	err = s.krdb.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(*) FILTER (WHERE kek_version < ?) FROM data_keys", v).Scan(&ks.DataKeys, &ks.OnOldVersions)
	if err != nil {
		return ks, fmt.Errorf("store: key status: %w", err)
	}
	return ks, nil
}

// keyCache keeps recently used unwrapped data keys in memory so that reading
// a person's fields does not unwrap their key on every request. It is bounded;
// when full an arbitrary entry is evicted.
type keyCache struct {
	mu  sync.Mutex
	max int
	m   map[string][]byte
	// destroyed remembers shredded subjects so that a reader who unwrapped
	// a key just before it was destroyed cannot put it back. Ids are random
	// and never reused, so this only grows with erasures.
	destroyed map[string]bool
}

func newKeyCache(n int) *keyCache {
	return &keyCache{max: n, m: make(map[string][]byte), destroyed: make(map[string]bool)}
}

func (c *keyCache) get(k string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *keyCache) put(k string, v []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.destroyed[k] {
		return
	}
	if len(c.m) >= c.max {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = v
}

func (c *keyCache) drop(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}

// forget drops k for good: the key was destroyed.
func (c *keyCache) forget(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
	c.destroyed[k] = true
}

// sealer seals and opens the fields of one person's rows.
type sealer struct {
	dk    []byte
	table string
	row   string
}

func (s *Store) sealerFor(ctx context.Context, subject, table, row string) (sealer, error) {
	dk, err := s.dataKey(ctx, subject)
	if err != nil {
		return sealer{}, err
	}
	return sealer{dk: dk, table: table, row: row}, nil
}

func (z sealer) seal(column, value string) []byte {
	b, err := crypt.Seal(z.dk, z.table, column, z.row, []byte(value))
	if err != nil {
		panic(err) // only a wrong key size, which newDataKey rules out
	}
	return b
}

// sealOpt seals a value, storing NULL for the empty string.
func (z sealer) sealOpt(column, value string) any {
	if value == "" {
		return nil
	}
	return z.seal(column, value)
}

func (z sealer) open(column string, b []byte) (string, error) {
	if b == nil {
		return "", nil
	}
	pt, err := crypt.Open(z.dk, z.table, column, z.row, b)
	if err != nil {
		return "", fmt.Errorf("store: open %s.%s: %w", z.table, column, err)
	}
	return string(pt), nil
}
