package store

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// copyTree copies every regular file under src to dst byte for byte, the
// way someone with read access to the disk would, without asking kelas to
// stop or checkpoint first.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
	require.NoError(t, err)
}

// filesContaining lists the files under root (at any depth) whose raw bytes
// contain needle.
func filesContaining(t *testing.T, root string, needle []byte) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			rel, _ := filepath.Rel(root, path)
			out = append(out, rel)
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// wrappedKey reads subject's wrapped data key from keys.db.
func wrappedKey(t *testing.T, s *Store, subject string) []byte {
	t.Helper()
	var w []byte
	require.NoError(t, s.krdb.QueryRow("SELECT wrapped FROM data_keys WHERE subject = ?", subject).Scan(&w))
	require.NotEmpty(t, w)
	return w
}

// TestErasureReachesTheDisk is the forensic test of crypto-shredding: a
// person is erased while kelas runs, every file of the data directory is
// copied without stopping kelas, and with the master key in hand none of
// their fields can be opened and their wrapped key's bytes occur in no file.
// The same holds after a restore of a backup taken before the erasure,
// copies of the replaced databases included. A control person, not erased,
// proves the grep reads the bytes where keys live.
func TestErasureReachesTheDisk(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, clock.Now)
	u := populate(t, s)
	control := registered(t, s, "control")
	oldWrapped := wrappedKey(t, s, u.ID)
	// Rotating first puts a second wrapping of the key in the WAL: neither
	// may survive.
	_, _, err := s.RotateKeys(ctx)
	require.NoError(t, err)
	wrapped := wrappedKey(t, s, u.ID)
	controlWrapped := wrappedKey(t, s, control.ID)
	backups, err := s.Backup(ctx, BackupOptions{})
	require.NoError(t, err)
	require.NotEqual(t, oldWrapped, wrapped)
	{
		before := t.TempDir()
		copyTree(t, dir, before)
		require.NotEmpty(t, filesContaining(t, before, wrapped), "control: before erasure the wrapped key is on disk")
	}

	clock.Advance(time.Hour)
	require.NoError(t, s.EraseUser(ctx, "test", u.ID))

	forensic := func(t *testing.T, label string) {
		t.Helper()
		cp := t.TempDir()
		copyTree(t, dir, cp)
		assert.NotEmpty(t, filesContaining(t, cp, controlWrapped), "%s: control: a kept person's wrapped key is found", label)
		assert.Empty(t, filesContaining(t, cp, wrapped), "%s: the erased person's wrapped key is still on disk", label)
		assert.Empty(t, filesContaining(t, cp, oldWrapped), "%s: an older wrapping of the key is still on disk", label)
		for _, secret := range distinctiveSecrets {
			assert.Empty(t, filesContaining(t, cp, []byte(secret)), "%s: %q in plaintext", label, secret)
		}
		// With the master key in hand, open the copy as kelas would.
		os.Remove(filepath.Join(cp, LockFile))
		c, err := Open(ctx, Options{Dir: cp, MasterKey: key, Clock: clock.Now})
		require.NoError(t, err)
		defer c.Close()
		_, err = c.dataKey(ctx, u.ID)
		assert.ErrorIs(t, err, ErrNotFound, "%s: the copy holds no data key for the person", label)
		_, err = c.User(ctx, u.ID)
		assert.Error(t, err, "%s: the person's fields do not open", label)
		_, err = c.UserByEmail(ctx, distinctive().Email)
		assert.Error(t, err, "%s", label)
		got, err := c.User(ctx, control.ID)
		require.NoError(t, err, "%s: control: others still open", label)
		assert.Equal(t, control.FirstName, got.FirstName)
	}
	forensic(t, "while running")

	// Restore the backup taken before the erasure; the replaced databases
	// are kept only in a form that cannot be read without the master key.
	require.NoError(t, s.Close())
	_, err = Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, File: filepath.Join(dir, BackupsDir, backups[0].File), Clock: clock.Now})
	require.NoError(t, err)
	s = openTestStore(t, dir, key, clock.Now)
	nothingLeft(t, s, u.ID)
	forensic(t, "after restore")
	stray, err := StrayCopies(dir)
	require.NoError(t, err)
	assert.Empty(t, stray, "no readable database copy is left in the data directory")
}
