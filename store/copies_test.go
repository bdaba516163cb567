package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStrayCopiesFindsEveryKind: every kind of unencrypted copy is found
// whatever its name and depth; the live files, encrypted files and other
// files are not.
func TestStrayCopiesFindsEveryKind(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string, b []byte) {
		t.Helper()
		p := filepath.Join(dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, b, 0o600))
	}
	write(MainDBFile, sqliteMagic)                                 // live
	write(KeysDBFile+"-wal", append([]byte{}, walMagicLE...))      // live
	write(filepath.Join("old", MainDBFile), sqliteMagic)           // a copy under a live name
	write("notes.bin", append(append([]byte{}, walMagicBE...), 0)) // a WAL by its header
	write("kelas.db.before-restore-20250101", []byte("anything"))  // left by older versions
	write(filepath.Join(".restore-abc", KeysDBFile), sqliteMagic)  // an interrupted restore
	write(filepath.Join(BackupsDir, "kelas-data-x.age"), []byte("age-encryption.org/v1"))
	write("short", []byte{0x37}) // shorter than any header
	write("empty", nil)

	got, err := StrayCopies(dir)
	require.NoError(t, err)
	want := []StrayCopy{
		{Path: ".restore-abc", Why: "staging directory of an interrupted restore"},
		{Path: "kelas.db.before-restore-20250101", Why: "unencrypted copy of a database replaced by a restore"},
		{Path: "notes.bin", Why: "unencrypted SQLite write-ahead log"},
		{Path: filepath.Join("old", MainDBFile), Why: "unencrypted SQLite database"},
	}
	assert.Equal(t, want, got)

	// A data directory that does not exist yet holds no copies.
	got, err = StrayCopies(filepath.Join(dir, "missing"))
	require.NoError(t, err)
	assert.Empty(t, got)
}

// TestExportSweepRemovesOrphansAndStaleTemporaries: a sealed export whose
// row is gone and a temporary file older than a build may take are
// removed; a fresh temporary file, a file of a live export and files of
// other names stay.
func TestExportSweepRemovesOrphansAndStaleTemporaries(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	u := registered(t, s, "exporter")
	live := readyExport(t, s, u.ID, payload(100))
	dir := s.exportsDir()
	orphan := filepath.Join(dir, NewID()+".sealed")
	staleTmp := filepath.Join(dir, NewID()+".sealed.tmp")
	freshTmp := filepath.Join(dir, NewID()+".sealed.tmp")
	other := filepath.Join(dir, "README")
	for _, p := range []string{orphan, staleTmp, freshTmp, other} {
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o600))
	}
	old := clock.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(staleTmp, old, old))
	require.NoError(t, os.Chtimes(freshTmp, clock.Now(), clock.Now()))

	removed, err := s.sweepExportFiles(ctx, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, 2, removed)
	assert.NoFileExists(t, orphan)
	assert.NoFileExists(t, staleTmp)
	assert.FileExists(t, freshTmp)
	assert.FileExists(t, other)
	assert.FileExists(t, s.exportPath(live))

	// No exports directory yet: nothing to sweep.
	require.NoError(t, os.RemoveAll(dir))
	removed, err = s.sweepExportFiles(ctx, time.Time{})
	require.NoError(t, err)
	assert.Zero(t, removed)
}
