package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRestoreKeepsDamagedDatabaseOnlyEncrypted: restoring over a damaged
// kelas.db (often why one restores) keeps the damaged file, which cannot
// be snapshotted, as an encrypted raw copy; a plaintext copy an older
// kelas left beside it is sealed into the same archive and removed. No
// byte of either stays readable in the data directory, and the archive,
// which holds keys.db, goes with the keys backups after their window, so
// it cannot bring erased people's keys back.
func TestRestoreKeepsDamagedDatabaseOnlyEncrypted(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	s, err := Open(ctx, Options{Dir: dir, MasterKey: key, Clock: clock.Now})
	require.NoError(t, err)
	u := createUser(t, s, newUser("kept"))
	backups, err := s.Backup(ctx, BackupOptions{Origin: OriginCLI})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	clock.Advance(time.Hour)
	damaged := []byte("DAMAGED-PAGE-" + NewID())
	legacy := []byte("LEGACY-COPY-" + NewID())
	// Control: the markers are found where they are written.
	require.NoError(t, os.WriteFile(filepath.Join(dir, MainDBFile), bytes.Repeat(damaged, 400), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, MainDBFile+".before-restore"), legacy, 0o600))
	require.Len(t, filesContaining(t, dir, damaged), 1)
	require.Len(t, filesContaining(t, dir, legacy), 1)

	res, err := Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, File: filepath.Join(dir, BackupsDir, backups[0].File), Clock: clock.Now})
	require.NoError(t, err)
	var replaced string
	for _, b := range res.Before {
		if replacedName.MatchString(filepath.Base(b)) {
			replaced = b
		}
	}
	require.NotEmpty(t, replaced, "the damaged file is kept as a raw archive: %v", res.Before)
	assert.Empty(t, filesContaining(t, dir, damaged), "the damaged file is nowhere in plaintext")
	assert.Empty(t, filesContaining(t, dir, legacy), "nor the old plaintext copy")
	assert.NoFileExists(t, filepath.Join(dir, MainDBFile+".before-restore"))

	s = openTestStore(t, dir, key, clock.Now)
	_, err = s.User(ctx, u.ID)
	require.NoError(t, err, "the backup is restored")

	clock.Advance(6 * day)
	_, err = s.PruneBackups(ctx)
	require.NoError(t, err)
	assert.FileExists(t, replaced, "kept within the keys-backup window")
	clock.Advance(2 * day)
	_, err = s.PruneBackups(ctx)
	require.NoError(t, err)
	assert.NoFileExists(t, replaced, "gone with the keys backups")
}
