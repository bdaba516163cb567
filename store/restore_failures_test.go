package store

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// archiveEntry is one file of a crafted backup, in order.
type archiveEntry struct {
	name string
	body []byte
}

// sealArchive writes entries as a tar.gz encrypted to the backup identity of
// key, the way a backup is written, so that only its contents are wrong.
func sealArchive(t *testing.T, path string, key []byte, entries []archiveEntry, raw []byte) {
	t.Helper()
	var out bytes.Buffer
	w, err := age.Encrypt(&out, backupIdentity(t, key).Recipient())
	require.NoError(t, err)
	if raw != nil {
		_, err = w.Write(raw)
		require.NoError(t, err)
	} else {
		gz := gzip.NewWriter(w)
		tw := tar.NewWriter(gz)
		for _, e := range entries {
			require.NoError(t, tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o600, Size: int64(len(e.body)), Typeflag: tar.TypeReg}))
			_, err := tw.Write(e.body)
			require.NoError(t, err)
		}
		require.NoError(t, tw.Close())
		require.NoError(t, gz.Close())
	}
	require.NoError(t, w.Close())
	require.NoError(t, os.WriteFile(path, out.Bytes(), 0o600))
}

func sum256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// manifestFor is m with its file list describing files.
func manifestFor(t *testing.T, m backupManifest, files ...archiveEntry) []byte {
	t.Helper()
	m.Files = nil
	for _, f := range files {
		m.Files = append(m.Files, manifestFile{Name: f.name, Size: int64(len(f.body)), SHA256: sum256(f.body)})
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

// TestRestoreRefusesCraftedBackups: backups that decrypt under the right
// key but whose contents are wrong (made by hand, by another tool, or
// damaged before encryption) are refused with the reason, and the live
// data is left as it was.
func TestRestoreRefusesCraftedBackups(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, nil)
	person := populate(t, s)
	backups, err := s.Backup(ctx, BackupOptions{})
	require.NoError(t, err)
	var dataPath, keysPath string
	for _, b := range backups {
		if b.Kind == BackupData {
			dataPath = s.BackupPath(b)
		} else {
			keysPath = s.BackupPath(b)
		}
	}
	require.NoError(t, s.Close())
	id := backupIdentity(t, key)
	data, _, err := decryptBackup(t, dataPath, id)
	require.NoError(t, err)
	keys, _, err := decryptBackup(t, keysPath, id)
	require.NoError(t, err)
	var m, km backupManifest
	require.NoError(t, json.Unmarshal(data["manifest.json"], &m))
	require.NoError(t, json.Unmarshal(keys["manifest.json"], &km))
	db := archiveEntry{MainDBFile, data[MainDBFile]}
	kdb := archiveEntry{KeysDBFile, keys[KeysDBFile]}

	// A database file changed by SQL, for the cases that need a valid
	// SQLite file with other contents.
	changed := func(body []byte, stmts ...string) []byte {
		p := filepath.Join(t.TempDir(), "x.db")
		require.NoError(t, os.WriteFile(p, body, 0o600))
		execFile(t, p, stmts...)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return b
	}
	newer := archiveEntry{MainDBFile, changed(db.body,
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', '2030-01-01T00:00:00.000000Z')")}
	otherCheck := archiveEntry{KeysDBFile, changed(kdb.body, "UPDATE key_check SET check_value = randomblob(32)")}
	noCheck := archiveEntry{KeysDBFile, changed(kdb.body, "DROP TABLE key_check")}
	garbage := archiveEntry{MainDBFile, bytes.Repeat([]byte("not a database "), 300)}
	wrongKeyCheck := m
	wrongKeyCheck.KeyCheck = hex.EncodeToString(bytes.Repeat([]byte{7}, 32))
	badFormat := m
	badFormat.Format = "something-else/9"

	cases := []struct {
		name    string
		entries []archiveEntry
		raw     []byte
		want    string
	}{
		{"not compressed", nil, []byte("plain bytes, no gzip stream"), "no compressed stream inside"},
		{"database before the manifest", []archiveEntry{db, {"manifest.json", manifestFor(t, m, db)}}, nil, "the manifest is missing"},
		{"unknown format", []archiveEntry{{"manifest.json", manifestFor(t, badFormat, db)}, db}, nil, "unknown backup format"},
		{"manifest not JSON", []archiveEntry{{"manifest.json", []byte("{not json")}, db}, nil, "unknown backup format"},
		{"an unexpected entry", []archiveEntry{{"manifest.json", manifestFor(t, m, db)}, db, {"../../etc/passwd", []byte("x")}}, nil,
			`unexpected entry "../../etc/passwd"`},
		{"no database", []archiveEntry{{"manifest.json", manifestFor(t, m)}}, nil, "incomplete"},
		{"kind does not match the contents", []archiveEntry{{"manifest.json", manifestFor(t, m, kdb)}, kdb}, nil,
			"the manifest does not match the contents"},
		{"checksum mismatch", []archiveEntry{{"manifest.json", manifestFor(t, m, db)}, {MainDBFile, garbage.body}}, nil,
			"checksum of kelas.db does not match the manifest"},
		{"made under another master key", []archiveEntry{{"manifest.json", manifestFor(t, wrongKeyCheck, db)}, db}, nil,
			"different master key"},
		{"database fails its check", []archiveEntry{{"manifest.json", manifestFor(t, m, garbage)}, garbage}, nil,
			"the database inside fails its check"},
		{"made by a newer kelas", []archiveEntry{{"manifest.json", manifestFor(t, m, newer)}, newer}, nil, "made by a newer kelas"},
		{"keys under another master key", []archiveEntry{{"manifest.json", manifestFor(t, km, otherCheck)}, otherCheck}, nil,
			"wrapped under a different master key"},
		{"keys without a key check", []archiveEntry{{"manifest.json", manifestFor(t, km, noCheck)}, noCheck}, nil,
			"the keys database has no key check"},
	}
	before := durableSums(t, dir)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kelas-data-20250314T092653Z-abcdef.age")
			sealArchive(t, path, key, tc.entries, tc.raw)
			_, err := Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, File: path})
			require.Error(t, err)
			assert.ErrorContains(t, err, tc.want)
			assert.Equal(t, before, durableSums(t, dir), "the live data must be left as it was")
		})
	}
	s = openTestStore(t, dir, key, nil)
	u, err := s.User(ctx, person.ID)
	require.NoError(t, err)
	assert.Equal(t, person.Email, u.Email)
}
