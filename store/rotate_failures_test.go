package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// execFile runs statements on the database file at path with kelas
// stopped, as a damaged disk or a hand edit would change it.
func execFile(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	defer db.Close()
	for _, q := range stmts {
		_, err := db.Exec(q)
		require.NoError(t, err, q)
	}
}

// noStageLeft asserts that a rotation that failed before it was verified
// removed its stage and left the data under the old key only.
func noStageLeft(t *testing.T, f rotationFixture, newKey []byte) {
	t.Helper()
	entries, err := os.ReadDir(f.dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), rotateStagePrefix), "stage %s left behind", e.Name())
	}
	_, err = Open(context.Background(), Options{Dir: f.dir, MasterKey: newKey})
	require.ErrorIs(t, err, ErrWrongMasterKey, "the new key must not open the data")
	s := openTestStore(t, f.dir, f.oldKey, nil)
	u, err := s.User(context.Background(), f.person.ID)
	require.NoError(t, err)
	assert.Equal(t, f.person.Email, u.Email)
}

// TestRotateMasterKeyStopsOnDamage: each kind of damage the rotation meets
// stops it before anything moves, with an error naming what is damaged.
func TestRotateMasterKeyStopsOnDamage(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		damage func(t *testing.T, f rotationFixture) string // returns what the error must name
	}{
		{"a data key that does not unwrap", func(t *testing.T, f rotationFixture) string {
			s := openTestStore(t, f.dir, f.oldKey, nil)
			extra := registered(t, s, "extra")
			require.NoError(t, s.Close())
			execFile(t, filepath.Join(f.dir, KeysDBFile),
				"UPDATE data_keys SET wrapped = randomblob(60) WHERE subject = '"+extra.ID+"'")
			return "unwrap the data key of " + extra.ID
		}},
		{"an audit log that does not verify", func(t *testing.T, f rotationFixture) string {
			execFile(t, filepath.Join(f.dir, MainDBFile), "DROP TRIGGER audit_log_append_only",
				"UPDATE audit_log SET action = 'forged.action' WHERE seq = (SELECT MAX(seq) FROM audit_log)")
			return "the audit log does not verify under the current key"
		}},
		{"a damaged journal", func(t *testing.T, f rotationFixture) string {
			path := filepath.Join(f.dir, JournalFile)
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, flipAt(b, len(b)/2), 0o600))
			return "journal"
		}},
		{"a file where the ACME cache directory belongs", func(t *testing.T, f rotationFixture) string {
			require.NoError(t, os.RemoveAll(filepath.Join(f.dir, ACMEDir)))
			require.NoError(t, os.WriteFile(filepath.Join(f.dir, ACMEDir), []byte("not a directory"), 0o600))
			return "acme cache"
		}},
		{"a file where the backups directory belongs", func(t *testing.T, f rotationFixture) string {
			require.NoError(t, os.RemoveAll(filepath.Join(f.dir, BackupsDir)))
			require.NoError(t, os.WriteFile(filepath.Join(f.dir, BackupsDir), []byte("not a directory"), 0o600))
			return "backup of the current state"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newRotationFixture(t)
			want := tc.damage(t, f)
			newKey := newMasterKey(t)
			_, err := RotateMasterKey(ctx, RotateMasterOptions{Dir: f.dir, OldKey: f.oldKey, NewKey: newKey, Clock: f.clock.Now})
			require.Error(t, err)
			assert.ErrorContains(t, err, want)
			noStageLeft(t, f, newKey)
		})
	}
}

// TestRotateMasterKeyDropsUnreadableACMEFiles: an ACME cache file that does
// not open under the old key is of no use under either and is left out;
// the readable ones move to the new key, and stray entries are ignored.
func TestRotateMasterKeyDropsUnreadableACMEFiles(t *testing.T) {
	ctx := context.Background()
	f := newRotationFixture(t)
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, ACMEDir, "damaged+cert"), []byte("garbage, not sealed"), 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(f.dir, ACMEDir, "a-directory"), 0o700))
	newKey := newMasterKey(t)

	res, err := RotateMasterKey(ctx, RotateMasterOptions{Dir: f.dir, OldKey: f.oldKey, NewKey: newKey, Clock: f.clock.Now})
	require.NoError(t, err)
	assert.Equal(t, 1, res.ACMEDropped)
	assert.Equal(t, 1, res.ACMEFiles)
	s := openTestStore(t, f.dir, newKey, nil)
	c, err := s.ACMECache()
	require.NoError(t, err)
	got, err := c.Get(ctx, "acme_account+key")
	require.NoError(t, err)
	assert.Equal(t, "acme account key", string(got))
	_, err = c.Get(ctx, "damaged+cert")
	assert.ErrorIs(t, err, ErrNotFound)
}

// TestRotateMasterKeyStopsOnMissingTable: a table the rotation re-keys
// (a blind index, the recovery codes, the name tags, the audit chain) or
// reads (retention rules, backups) is gone: the rotation stops with the
// table named, and the data stays under the old key.
func TestRotateMasterKeyStopsOnMissingTable(t *testing.T) {
	ctx := context.Background()
	for _, table := range []string{"account_tokens", "invitations", "email_reverts", "recovery_codes", "name_tags",
		"retention_rules", "backups"} {
		t.Run(table, func(t *testing.T) {
			f := newRotationFixture(t)
			execFile(t, filepath.Join(f.dir, MainDBFile), "DROP TABLE "+table)
			newKey := newMasterKey(t)
			_, err := RotateMasterKey(ctx, RotateMasterOptions{Dir: f.dir, OldKey: f.oldKey, NewKey: newKey, Clock: f.clock.Now})
			require.Error(t, err)
			assert.ErrorContains(t, err, "no such table: "+table)
			entries, err := os.ReadDir(f.dir)
			require.NoError(t, err)
			for _, e := range entries {
				assert.False(t, strings.HasPrefix(e.Name(), rotateStagePrefix), "stage %s left behind", e.Name())
			}
			_, err = Open(ctx, Options{Dir: f.dir, MasterKey: newKey})
			require.ErrorIs(t, err, ErrWrongMasterKey, "the new key must not open the data")
		})
	}
}
