package store

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store/crypt"
)

// distinctive is a person whose every field is a string found nowhere else,
// so grepping files for them proves what a file holds.
func distinctive() NewUser {
	return NewUser{
		Email: "Xqzvbackupmail@Example.test", FirstName: "Wqxjfirstname", Surname: "Zvkqsurname",
		Company: "Qjxwcompany Sdn Bhd", Gender: "f", Country: "MY", Industry: "plaintextbackupcontrol",
		PasswordHash: "$2a$10$abcdefghijklmnopqrstuv", Role: RoleLearner, AcceptedPolicy: "2023-10-09", Feedback: true,
	}
}

var distinctiveSecrets = []string{"Xqzvbackupmail", "xqzvbackupmail@example.test", "Wqxjfirstname", "Zvkqsurname", "Qjxwcompany", "192.0.2.77"}

func populate(t *testing.T, s *Store) User {
	t.Helper()
	ctx := context.Background()
	u := createUser(t, s, distinctive())
	require.NoError(t, s.writeActivity(ctx, []ActivityEvent{{UserID: u.ID, Action: ActEnrol, At: s.Now(), IP: netip.MustParseAddr("192.0.2.77")}}))
	m := newMail(u.Email, "verify")
	m.UserID = u.ID
	enqueue(t, s, m)
	require.NoError(t, s.WriteAccessLog(ctx, []AccessEntry{{At: s.Now(), Method: "GET", Route: "GET /", Status: 200, IP: netip.MustParseAddr("192.0.2.77")}}))
	audit(t, s, "test.populate", u.ID)
	for i := range 3 {
		registered(t, s, fmt.Sprintf("other%d", i))
	}
	return u
}

// decryptBackup opens a backup file with ids and returns its tar entries.
func decryptBackup(t *testing.T, path string, ids ...age.Identity) (map[string][]byte, []string, error) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := age.Decrypt(f, ids...)
	if err != nil {
		return nil, nil, err
	}
	gz, err := gzip.NewReader(r)
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	out := map[string][]byte{}
	var order []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		out[h.Name] = b
		order = append(order, h.Name)
	}
	return out, order, nil
}

func backupIdentity(t *testing.T, key []byte) *age.X25519Identity {
	t.Helper()
	kr, err := crypt.NewKeyring(key)
	require.NoError(t, err)
	id, err := kr.BackupIdentity()
	require.NoError(t, err)
	return id
}

func TestBackupIdentityIsDerivedFromMasterKey(t *testing.T) {
	key := newMasterKey(t)
	a, b := backupIdentity(t, key), backupIdentity(t, key)
	assert.Equal(t, a.String(), b.String(), "deterministic")
	assert.True(t, strings.HasPrefix(a.String(), "AGE-SECRET-KEY-1"))
	assert.True(t, strings.HasPrefix(a.Recipient().String(), "age1"))
	assert.NotEqual(t, a.String(), backupIdentity(t, newMasterKey(t)).String())
}

// TestBackupHoldsNoPlaintextAndDecryptsOnlyWithTheRightKey greps the backup
// files for a registered person's data, decrypts them with the server's key
// and the offline recovery key, checks the database inside (integrity and
// still no plaintext, with a control value that must be found) and fails
// to decrypt with any other key.
func TestBackupHoldsNoPlaintextAndDecryptsOnlyWithTheRightKey(t *testing.T) {
	ctx := context.Background()
	key := newMasterKey(t)
	s := openTestStore(t, t.TempDir(), key, nil)
	populate(t, s)
	offline, err := age.GenerateX25519Identity()
	require.NoError(t, err)

	got, err := s.Backup(ctx, BackupOptions{Origin: OriginCLI, Recipients: []age.Recipient{offline.Recipient()}})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, BackupData, got[0].Kind)
	assert.Equal(t, BackupKeys, got[1].Kind)
	for _, b := range got {
		assert.True(t, b.OK)
		path := s.BackupPath(b)
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		st, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
		assert.Equal(t, int64(len(raw)), b.Size)
		sum := sha256.Sum256(raw)
		assert.Equal(t, hex.EncodeToString(sum[:]), b.SHA256)
		assert.True(t, bytes.HasPrefix(raw, []byte("age-encryption.org/v1")))
		for _, secret := range append(distinctiveSecrets, "plaintextbackupcontrol") {
			assert.False(t, bytes.Contains(bytes.ToLower(raw), []byte(strings.ToLower(secret))), "%s holds %q", b.File, secret)
		}

		for _, id := range []age.Identity{backupIdentity(t, key), offline} {
			_, order, err := decryptBackup(t, path, id)
			require.NoError(t, err)
			assert.Equal(t, []string{"manifest.json", TombstonesFile, map[string]string{BackupData: MainDBFile, BackupKeys: KeysDBFile}[b.Kind]}, order)
		}
		_, _, err = decryptBackup(t, path, backupIdentity(t, newMasterKey(t)))
		var noMatch *age.NoIdentityMatchError
		assert.ErrorAs(t, err, &noMatch, "another master key cannot decrypt it")
	}

	entries, _, err := decryptBackup(t, s.BackupPath(got[0]), backupIdentity(t, key))
	require.NoError(t, err)
	db := entries[MainDBFile]
	assert.True(t, bytes.Contains(db, []byte("plaintextbackupcontrol")), "control: the plaintext industry code is in the decrypted database")
	for _, secret := range distinctiveSecrets {
		assert.False(t, bytes.Contains(bytes.ToLower(db), []byte(strings.ToLower(secret))), "the decrypted database holds %q", secret)
	}
	p := filepath.Join(t.TempDir(), "check.db")
	require.NoError(t, os.WriteFile(p, db, 0o600))
	schema, err := checkDB(ctx, p)
	require.NoError(t, err, "integrity check of the copy")
	latest, err := latestMigration("migrations")
	require.NoError(t, err)
	assert.Equal(t, latest, schema)

	leftovers, err := filepath.Glob(filepath.Join(s.Dir(), BackupsDir, ".*"))
	require.NoError(t, err)
	assert.Empty(t, leftovers, "no snapshot or temp file stays behind")

	list, err := s.Backups(ctx, 10)
	require.NoError(t, err)
	assert.Len(t, list, 2)
	status, err := s.BackupStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, got[0].ID, status.LastGood.ID)
	assert.False(t, status.Failing)
	assert.Equal(t, 2, status.FilesOnDisk)
	log, err := s.AuditLog(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, AuditBackupCreate, log[0].Action)
}

// dump renders every row of every table of db, for comparing databases.
func dump(t *testing.T, db *sql.DB, skip ...string) map[string][]string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		if !slices.Contains(skip, n) {
			tables = append(tables, n)
		}
	}
	require.NoError(t, rows.Close())
	out := map[string][]string{}
	for _, tbl := range tables {
		rows, err := db.Query("SELECT * FROM " + tbl)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			lines = append(lines, fmt.Sprintf("%x", fmt.Sprint(vals...)))
		}
		require.NoError(t, rows.Close())
		slices.Sort(lines)
		out[tbl] = lines
	}
	return out
}

// TestBackupRestoreRoundTrip backs up, changes everything it can, restores
// the backup and finds every row as it was (the audit log has the restore
// appended, the backups record the files on disk).
func TestBackupRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, clock.Now)
	u := populate(t, s)
	require.NoError(t, s.SetRetentionRules(ctx, "op", map[string]int{RetAccessLog: 10}))
	_, err := s.SetLegalHold(ctx, "op", NewLegalHold{UserID: u.ID, Reason: "case 1"})
	require.NoError(t, err)

	wantMain := dump(t, s.db, "backups")
	wantKeys := dump(t, s.kdb, "audit_head") // the anchor moves with the restore's own audit entry
	backups, err := s.Backup(ctx, BackupOptions{Origin: OriginCLI})
	require.NoError(t, err)

	clock.Advance(time.Hour)
	createUser(t, s, newUser("after"))
	_, err = s.db.Exec("DELETE FROM activity_log")
	require.NoError(t, err)
	_, _, err = s.RotateKeys(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	res, err := Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, File: filepath.Join(dir, BackupsDir, backups[0].File), Clock: clock.Now})
	require.NoError(t, err)
	assert.Equal(t, []string{MainDBFile, KeysDBFile}, res.Restored)
	assert.Equal(t, filepath.Join(dir, BackupsDir, backups[1].File), res.KeysFile, "the keys backup of the same run is found")
	// The replaced state is kept only as an encrypted backup pair.
	require.Len(t, res.Before, 2)
	for _, b := range res.Before {
		assert.Equal(t, filepath.Join(dir, BackupsDir), filepath.Dir(b))
		assert.Regexp(t, backupName, filepath.Base(b))
	}
	assert.NoFileExists(t, filepath.Join(dir, MainDBFile+".before-restore"))
	assert.NoFileExists(t, filepath.Join(dir, KeysDBFile+".before-restore"))

	s = openTestStore(t, dir, key, clock.Now)
	got := dump(t, s.db, "backups")
	gotAudit := got["audit_log"]
	wantAudit := wantMain["audit_log"]
	delete(got, "audit_log")
	delete(wantMain, "audit_log")
	assert.Equal(t, wantMain, got, "every row of kelas.db is back")
	gotKeys := dump(t, s.kdb, "audit_head")
	for table, rows := range wantKeys {
		assert.Subset(t, gotKeys[table], rows, "every row of keys.db %s is back", table)
	}
	// The key made after the backup (the account "after") is carried over
	// from the replaced keys.db, with its newer wrapping version.
	assert.Equal(t, 1, res.KeysMerged)
	assert.Len(t, gotKeys["data_keys"], len(wantKeys["data_keys"])+1)
	assert.Subset(t, gotAudit, wantAudit)
	log, err := s.AuditLog(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, AuditBackupRestore, log[0].Action)
	bad, err := s.VerifyAudit(ctx)
	require.NoError(t, err)
	assert.Zero(t, bad)

	back, err := s.User(ctx, u.ID)
	require.NoError(t, err, "sealed data opens with the restored keys")
	assert.Equal(t, "Wqxjfirstname", back.FirstName)
	_, err = s.UserByEmail(ctx, "after@example.test")
	assert.ErrorIs(t, err, ErrNotFound)
	list, err := s.Backups(ctx, 10)
	require.NoError(t, err)
	assert.Len(t, list, 4, "the backup records are reconciled with the files on disk (the replaced state included)")
	require.NoError(t, s.Close())

	// The way back: the replaced state restores like any backup.
	_, err = Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, File: res.Before[0], Clock: clock.Now})
	require.NoError(t, err)
	s = openTestStore(t, dir, key, clock.Now)
	_, err = s.UserByEmail(ctx, "after@example.test")
	assert.NoError(t, err, "the account made after the backup is back with the replaced state")
}

// TestErasureSurvivesRestore: register, back up, erase, restore the old
// backup: the person stays erased.
func TestErasureSurvivesRestore(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, clock.Now)
	u := registered(t, s, "erased")
	other := registered(t, s, "remains")
	backups, err := s.Backup(ctx, BackupOptions{})
	require.NoError(t, err)
	clock.Advance(time.Hour)
	require.NoError(t, s.EraseUser(ctx, "op", u.ID))
	require.NoError(t, s.Close())

	// A day later, so that the encrypted copy of the replaced state does
	// not take the first backup's place under the daily rule.
	clock.Advance(day)
	res, err := Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, File: filepath.Join(dir, BackupsDir, backups[0].File), Clock: clock.Now})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Reerased)

	s = openTestStore(t, dir, key, clock.Now)
	nothingLeft(t, s, u.ID)
	_, err = s.User(ctx, u.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = s.User(ctx, other.ID)
	assert.NoError(t, err)
	require.NoError(t, s.Close())

	// Even with the live tombstones lost (the disk died), a newer backup
	// lying beside the restored one still knows about the erasure.
	s = openTestStore(t, dir, key, clock.Now)
	// A day later (so the daily rule keeps the first backup too), after the
	// erasure.
	clock.Advance(day)
	_, err = s.Backup(ctx, BackupOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, os.Remove(filepath.Join(dir, TombstonesFile)))
	_, err = Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, File: filepath.Join(dir, BackupsDir, backups[0].File), Clock: clock.Now})
	require.NoError(t, err)
	s = openTestStore(t, dir, key, clock.Now)
	nothingLeft(t, s, u.ID)
}

// fileSums maps the data directory's database files to their sha256.
func fileSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == LockFile {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		out[e.Name()] = hex.EncodeToString(sum[:])
	}
	return out
}

// TestRestoreRefusesBadFiles: a foreign, corrupt, truncated or
// wrong-key file is refused with a clear message and the live data is left
// as it was.
func TestRestoreRefusesBadFiles(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, nil)
	populate(t, s)
	backups, err := s.Backup(ctx, BackupOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	good, err := os.ReadFile(filepath.Join(dir, BackupsDir, backups[0].File))
	require.NoError(t, err)
	before := fileSums(t, dir)

	// A foreign kelas (another master key) with its own backup.
	otherDir, otherKey := t.TempDir(), newMasterKey(t)
	o := openTestStore(t, otherDir, otherKey, nil)
	otherBackups, err := o.Backup(ctx, BackupOptions{})
	require.NoError(t, err)
	require.NoError(t, o.Close())

	// A file encrypted to this server's key but not a kelas backup.
	var notBackup bytes.Buffer
	w, err := age.Encrypt(&notBackup, backupIdentity(t, key).Recipient())
	require.NoError(t, err)
	w.Write([]byte("hello, not a tarball"))
	require.NoError(t, w.Close())

	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)/2] ^= 0x40

	for _, tc := range []struct {
		name    string
		content []byte
		path    string
		key     []byte
		want    error
		msg     string
	}{
		{"foreign file", []byte("SQLite format 3\x00 definitely not a backup"), "", key, ErrBackupUnreadable, "not an age-encrypted kelas backup"},
		{"empty file", nil, "", key, ErrBackupUnreadable, "not an age-encrypted"},
		{"truncated", good[:len(good)-200], "", key, ErrBackupUnreadable, "damaged or truncated"},
		{"truncated header", good[:100], "", key, ErrBackupUnreadable, ""},
		{"corrupt", corrupt, "", key, ErrBackupUnreadable, "damaged or truncated"},
		{"not a backup inside", notBackup.Bytes(), "", key, ErrBackupUnreadable, ""},
		{"another kelas's backup", nil, filepath.Join(otherDir, BackupsDir, otherBackups[0].File), key, ErrBackupWrongKey, "not encrypted to this server's master key"},
		{"wrong master key", good, "", newMasterKey(t), ErrBackupWrongKey, "KELAS_BACKUP_IDENTITY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = filepath.Join(t.TempDir(), "kelas-data-20260101T000000Z-abcdef.age")
				require.NoError(t, os.WriteFile(path, tc.content, 0o600))
			}
			_, err := Restore(ctx, RestoreOptions{Dir: dir, MasterKey: tc.key, File: path})
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.msg)
			assert.Equal(t, before, fileSums(t, dir), "the live data is untouched")
		})
	}

	t.Run("offline identity but another master key", func(t *testing.T) {
		// Decryptable with the offline key, yet made under another master
		// key: refused before anything is swapped.
		offline, err := age.GenerateX25519Identity()
		require.NoError(t, err)
		o := openTestStore(t, otherDir, otherKey, nil)
		bs, err := o.Backup(ctx, BackupOptions{Recipients: []age.Recipient{offline.Recipient()}})
		require.NoError(t, err)
		require.NoError(t, o.Close())
		_, err = Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, Identities: []age.Identity{offline},
			File: filepath.Join(otherDir, BackupsDir, bs[0].File)})
		require.ErrorIs(t, err, ErrBackupWrongKey)
		assert.Contains(t, err.Error(), "different master key")
		assert.Equal(t, before, fileSums(t, dir))
	})

	t.Run("server running", func(t *testing.T) {
		unlock, err := LockDir(dir, false)
		require.NoError(t, err)
		defer unlock()
		_, err = Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, File: filepath.Join(dir, BackupsDir, backups[0].File)})
		require.ErrorIs(t, err, ErrLocked)
		assert.Contains(t, err.Error(), "stop `kelas serve`")
	})

	t.Run("keys backup of the wrong kind", func(t *testing.T) {
		_, err := Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, File: filepath.Join(dir, BackupsDir, backups[0].File),
			KeysFile: filepath.Join(dir, BackupsDir, backups[0].File)})
		require.ErrorIs(t, err, ErrBackupUnreadable)
		assert.Contains(t, err.Error(), "is not a keys backup")
		assert.Equal(t, before, fileSums(t, dir))
	})

	t.Run("damaged keys backup", func(t *testing.T) {
		keys, err := os.ReadFile(filepath.Join(dir, BackupsDir, backups[1].File))
		require.NoError(t, err)
		keys[len(keys)/2] ^= 0x01
		bad := filepath.Join(t.TempDir(), backups[1].File)
		require.NoError(t, os.WriteFile(bad, keys, 0o600))
		_, err = Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, File: filepath.Join(dir, BackupsDir, backups[0].File), KeysFile: bad})
		require.ErrorIs(t, err, ErrBackupUnreadable)
		assert.Equal(t, before, fileSums(t, dir))
	})

	t.Run("keys missing and no keys backup", func(t *testing.T) {
		lone := filepath.Join(t.TempDir(), backups[0].File)
		require.NoError(t, os.WriteFile(lone, good, 0o600))
		empty := t.TempDir()
		_, err := Restore(ctx, RestoreOptions{Dir: empty, MasterKey: key, File: lone})
		require.ErrorContains(t, err, "--keys")
		assert.NoFileExists(t, filepath.Join(empty, MainDBFile))
	})
}

// TestRestoreIntoEmptyDirectory is disaster recovery: nothing but the
// backups and the master key.
func TestRestoreIntoEmptyDirectory(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, nil)
	u := populate(t, s)
	backups, err := s.Backup(ctx, BackupOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	fresh := t.TempDir()
	_, err = Restore(ctx, RestoreOptions{Dir: fresh, MasterKey: key, File: filepath.Join(dir, BackupsDir, backups[0].File)})
	require.NoError(t, err)
	s = openTestStore(t, fresh, key, nil)
	got, err := s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "Zvkqsurname", got.Surname)
}

func TestBackupFullDiskLeavesNothingAndIsRecorded(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	populate(t, s)
	_, err := s.Backup(ctx, BackupOptions{maxBytes: 4096})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no space left on device")

	entries, err := os.ReadDir(filepath.Join(s.Dir(), BackupsDir))
	require.NoError(t, err)
	assert.Empty(t, entries, "the half-written file and the snapshot are removed")

	list, err := s.Backups(ctx, 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.False(t, list[0].OK)
	assert.Contains(t, list[0].Error, "no space left on device")
	status, err := s.BackupStatus(ctx)
	require.NoError(t, err)
	assert.True(t, status.Failing)
	assert.Empty(t, status.LastGood.ID)
	log, err := s.AuditLog(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, AuditBackupFail, log[0].Action)
}

func TestPruneBackups(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock() // 2025-03-14 (a Friday)
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	dir := filepath.Join(s.Dir(), BackupsDir)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	write := func(kind string, age time.Duration) string {
		name := fmt.Sprintf("kelas-%s-%s-%s.age", kind, clock.Now().Add(-age).Format(stampLayout), NewID()[:6])
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600))
		return name
	}
	var want, gone []string
	// Daily data backups for 40 days, two on the newest day.
	want = append(want, write(BackupData, 0), write(BackupKeys, 0))
	gone = append(gone, write(BackupData, time.Hour))
	for d := 1; d < 40; d++ {
		name := write(BackupData, time.Duration(d)*day)
		switch {
		case d < 7: // the newest of each of the last 7 days
			want = append(want, name)
		case clock.Now().Add(-time.Duration(d)*day).Weekday() == time.Sunday && d < 21:
			// the newest of each of the last 4 ISO weeks: this week's is
			// today's, then the three Sundays before
			want = append(want, name)
		default:
			gone = append(gone, name)
		}
		if d < 7 {
			want = append(want, write(BackupKeys, time.Duration(d)*day))
		} else {
			gone = append(gone, write(BackupKeys, time.Duration(d)*day))
		}
	}
	removed, err := s.PruneBackups(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, gone, removed)
	for _, n := range want {
		assert.FileExists(t, filepath.Join(dir, n))
	}
	for _, n := range gone {
		assert.NoFileExists(t, filepath.Join(dir, n))
	}
}
