package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store/crypt"
)

// rotationFixture is a data directory with people, an export, outbox mail,
// pending email tokens, an invitation, recovery codes, an erased person,
// a sealed ACME file and a backup, all under oldKey.
type rotationFixture struct {
	dir       string
	oldKey    []byte
	person    User
	exportID  string
	export    []byte
	oldBackup string // a data backup made before the rotation
	clock     *testClock
}

func newRotationFixture(t *testing.T) rotationFixture {
	t.Helper()
	ctx := context.Background()
	f := rotationFixture{dir: t.TempDir(), oldKey: newMasterKey(t), clock: newTestClock()}
	s := openTestStore(t, f.dir, f.oldKey, f.clock.Now)
	f.person = populate(t, s)
	f.export = payload(5000)
	f.exportID = readyExport(t, s, f.person.ID, f.export)
	_, err := s.CreateAccountToken(ctx, f.person.ID, TokenVerify, time.Hour, "changed@example.test")
	require.NoError(t, err)
	_, err = s.CreateEmailRevert(ctx, f.person.ID, "former@example.test", time.Hour)
	require.NoError(t, err)
	_, err = s.CreateInvitation(ctx, Invitation{Role: RoleOperator, Email: "invitee@example.test", InvitedBy: f.person.ID}, time.Hour)
	require.NoError(t, err)
	require.NoError(t, s.StartTOTP(ctx, f.person.ID, "JBSWY3DPEHPK3PXP"))
	require.NoError(t, s.ConfirmTOTP(ctx, f.person.ID, 1, []string{"aaaa-bbbb", "cccc-dddd"}))
	gone := registered(t, s, "gone")
	require.NoError(t, s.DestroyDataKey(ctx, gone.ID))
	c, err := s.ACMECache()
	require.NoError(t, err)
	require.NoError(t, c.Put(ctx, "acme_account+key", []byte("acme account key")))
	bs, err := s.Backup(ctx, BackupOptions{})
	require.NoError(t, err)
	f.oldBackup = s.BackupPath(bs[0])
	require.NoError(t, s.Close())
	f.clock.Advance(24 * time.Hour) // retention keeps one data backup a day
	return f
}

func TestRotateMasterKey(t *testing.T) {
	ctx := context.Background()
	f := newRotationFixture(t)
	newKey := newMasterKey(t)
	journalBefore, err := os.ReadFile(filepath.Join(f.dir, JournalFile))
	require.NoError(t, err)
	stonesBefore, _ := os.ReadFile(filepath.Join(f.dir, TombstonesFile))

	res, err := RotateMasterKey(ctx, RotateMasterOptions{Dir: f.dir, OldKey: f.oldKey, NewKey: newKey, Clock: f.clock.Now})
	require.NoError(t, err)
	// Before anything else writes: the journal holds the same records, the
	// audit log ends with the rotation.
	t.Run("journal records are the same", func(t *testing.T) {
		oldKr, err := crypt.NewKeyring(f.oldKey)
		require.NoError(t, err)
		jk, err := oldKr.JournalKey()
		require.NoError(t, err)
		tmp := filepath.Join(t.TempDir(), JournalFile)
		require.NoError(t, os.WriteFile(tmp, journalBefore, 0o600))
		before, _, err := readJournal(tmp, jk)
		require.NoError(t, err)
		newKr, err := crypt.NewKeyring(newKey)
		require.NoError(t, err)
		nk, err := newKr.JournalKey()
		require.NoError(t, err)
		after, _, err := readJournal(filepath.Join(f.dir, JournalFile), nk)
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(after), res.JournalRecords+1, "re-keyed records, then the rotation's own entry")
		require.Greater(t, len(after), len(before), "the backup of the state before is journalled too")
		for i := range before {
			assert.Equal(t, before[i].At, after[i].At)
			assert.Equal(t, before[i].Table, after[i].Table)
		}
	})
	t.Run("the rotation is audited under the new key", func(t *testing.T) {
		s := openTestStore(t, f.dir, newKey, f.clock.Now)
		log, err := s.AuditLog(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, AuditKeysRotateMaster, log[0].Action)
		assert.Equal(t, float64(res.DataKeys), log[0].Details["data_keys"])
		require.NoError(t, s.Close())
	})
	f.clock.Advance(24 * time.Hour)
	assert.GreaterOrEqual(t, res.DataKeys, 5, "people, the system key")
	assert.GreaterOrEqual(t, res.BlindIndexes, 7, "users, token, revert, invitation")
	assert.Equal(t, 1, res.Unopenable, "the erased person's email index")
	assert.Equal(t, 1, res.RecoveryCodeUsers)
	assert.Equal(t, 1, res.ACMEFiles)
	assert.Positive(t, res.AuditEntries)
	assert.Positive(t, res.JournalRecords)
	require.Len(t, res.Before, 2)
	assert.True(t, res.OldKeyUntil.After(f.clock.Now().Add(7*24*time.Hour)), "weekly backups are kept for weeks")

	t.Run("nothing opens with the old key", func(t *testing.T) {
		_, err := Open(ctx, Options{Dir: f.dir, MasterKey: f.oldKey})
		require.ErrorIs(t, err, ErrWrongMasterKey)
		oldKr, err := crypt.NewKeyring(f.oldKey)
		require.NoError(t, err)
		s := openTestStore(t, f.dir, newKey, f.clock.Now)
		rows, err := s.krdb.Query("SELECT subject, kek_version, wrapped FROM data_keys")
		require.NoError(t, err)
		n := 0
		for rows.Next() {
			var subject string
			var v int
			var w []byte
			require.NoError(t, rows.Scan(&subject, &v, &w))
			_, err := oldKr.Unwrap(v, subject, w)
			require.ErrorIs(t, err, crypt.ErrOpen, "data key of %s", subject)
			n++
		}
		require.NoError(t, rows.Err())
		assert.Equal(t, res.DataKeys, n)
		assert.Zero(t, count(t, s.rdb, "users", "email_index = ?", oldKr.BlindIndex("users.email", crypt.NormaliseEmail(f.person.Email))))
		oldJournal, err := oldKr.JournalKey()
		require.NoError(t, err)
		_, _, err = readJournal(filepath.Join(f.dir, JournalFile), oldJournal)
		require.ErrorIs(t, err, ErrJournalDamaged)
		oldACME, err := oldKr.ACMEKey()
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(f.dir, ACMEDir, "acme_account+key"))
		require.NoError(t, err)
		_, err = crypt.Open(oldACME, ACMEDir, "file", "acme_account+key", b)
		require.ErrorIs(t, err, crypt.ErrOpen)
		fresh := t.TempDir()
		_, err = Restore(ctx, RestoreOptions{Dir: fresh, MasterKey: f.oldKey, File: filepath.Join(f.dir, BackupsDir, latestDataBackup(t, s))})
		require.Error(t, err, "a backup made after the rotation does not restore with the old key")
	})

	t.Run("everything reads with the new key", func(t *testing.T) {
		s := openTestStore(t, f.dir, newKey, f.clock.Now)
		bad, err := s.VerifyAudit(ctx)
		require.NoError(t, err)
		assert.Zero(t, bad)
		got, err := s.User(ctx, f.person.ID)
		require.NoError(t, err)
		assert.Equal(t, "Zvkqsurname", got.Surname)
		byEmail, err := s.UserByEmail(ctx, f.person.Email)
		require.NoError(t, err)
		assert.Equal(t, f.person.ID, byEmail.ID)
		for _, name := range []string{"other0", "other1", "other2"} {
			_, err := s.UserByEmail(ctx, name+"@example.test")
			require.NoError(t, err, name)
		}
		exp, err := readExport(t, s, f.person.ID, f.exportID)
		require.NoError(t, err)
		assert.Equal(t, f.export, exp)
		mails, err := s.OutboxMails(ctx, 10)
		require.NoError(t, err)
		require.NotEmpty(t, mails)
		found := false
		for _, m := range mails {
			found = found || m.To == f.person.Email
		}
		assert.True(t, found, "outbox mail opens")
		assert.Equal(t, 1, count(t, s.rdb, "account_tokens", "new_email_index = ?", s.emailIndex("changed@example.test")))
		assert.Equal(t, 1, count(t, s.rdb, "email_reverts", "old_email_index = ?", s.emailIndex("former@example.test")))
		assert.Equal(t, 1, count(t, s.rdb, "invitations", "email_index = ?", s.emailIndex("invitee@example.test")))
		left, err := s.RecoveryCodesLeft(ctx, f.person.ID)
		require.NoError(t, err)
		assert.Zero(t, left, "recovery codes cannot be re-keyed and are gone")
		ks, err := s.KeyStatus(ctx)
		require.NoError(t, err)
		assert.Zero(t, ks.OnOldVersions)
		c, err := s.ACMECache()
		require.NoError(t, err)
		acme, err := c.Get(ctx, "acme_account+key")
		require.NoError(t, err)
		assert.Equal(t, "acme account key", string(acme))
		// A backup made now restores with the new key.
		bs, err := s.Backup(ctx, BackupOptions{})
		require.NoError(t, err)
		fresh := t.TempDir()
		_, err = Restore(ctx, RestoreOptions{Dir: fresh, MasterKey: newKey, File: s.BackupPath(bs[0])})
		require.NoError(t, err)
	})

	t.Run("tombstones are untouched", func(t *testing.T) {
		after, _ := os.ReadFile(filepath.Join(f.dir, TombstonesFile))
		assert.Equal(t, stonesBefore, after)
	})

	t.Run("no plaintext copy is left", func(t *testing.T) {
		stray, err := StrayCopies(f.dir)
		require.NoError(t, err)
		assert.Empty(t, stray)
	})

	t.Run("old backups restore with the old key only", func(t *testing.T) {
		for _, file := range []string{f.oldBackup, res.Before[0]} {
			_, err := Restore(ctx, RestoreOptions{Dir: t.TempDir(), MasterKey: newKey, File: file})
			require.Error(t, err, "%s with the new key", filepath.Base(file))

			fresh := t.TempDir()
			_, err = Restore(ctx, RestoreOptions{Dir: fresh, MasterKey: f.oldKey, File: file})
			require.NoError(t, err, filepath.Base(file))
			s := openTestStore(t, fresh, f.oldKey, nil)
			got, err := s.UserByEmail(ctx, f.person.Email)
			require.NoError(t, err)
			assert.Equal(t, "Zvkqsurname", got.Surname)
		}
	})
}

func latestDataBackup(t *testing.T, s *Store) string {
	t.Helper()
	bs, err := s.Backup(context.Background(), BackupOptions{})
	require.NoError(t, err)
	return bs[0].File
}

func TestRotateMasterKeyRefuses(t *testing.T) {
	ctx := context.Background()
	f := newRotationFixture(t)
	before := fileSums(t, f.dir)

	_, err := RotateMasterKey(ctx, RotateMasterOptions{Dir: f.dir, OldKey: newMasterKey(t), NewKey: newMasterKey(t)})
	require.ErrorIs(t, err, ErrWrongMasterKey, "a wrong old key")

	_, err = RotateMasterKey(ctx, RotateMasterOptions{Dir: f.dir, OldKey: f.oldKey, NewKey: f.oldKey})
	require.ErrorIs(t, err, ErrSameMasterKey)

	unlock, err := LockDir(f.dir, false)
	require.NoError(t, err)
	_, err = RotateMasterKey(ctx, RotateMasterOptions{Dir: f.dir, OldKey: f.oldKey, NewKey: newMasterKey(t)})
	require.ErrorIs(t, err, ErrLocked, "kelas is running")
	require.NoError(t, unlock())

	_, err = RotateMasterKey(ctx, RotateMasterOptions{Dir: t.TempDir(), OldKey: f.oldKey, NewKey: newMasterKey(t)})
	require.ErrorContains(t, err, "no kelas data")

	assert.Equal(t, before, fileSums(t, f.dir), "nothing changed")
	s := openTestStore(t, f.dir, f.oldKey, nil)
	_, err = s.User(ctx, f.person.ID)
	require.NoError(t, err)
}

// TestRotateMasterKeyCrashSafety stops the rotation where a crash could:
// before the stage is marked ready the data opens with the old key only;
// after it, the next Open finishes the moves and the data opens with the
// new key only.
func TestRotateMasterKeyCrashSafety(t *testing.T) {
	ctx := context.Background()
	opens := func(t *testing.T, dir string, key []byte, p User) {
		t.Helper()
		s, err := Open(ctx, Options{Dir: dir, MasterKey: key})
		require.NoError(t, err)
		defer s.Close()
		_, err = s.VerifyAudit(ctx)
		require.NoError(t, err)
		got, err := s.UserByEmail(ctx, p.Email)
		require.NoError(t, err)
		assert.Equal(t, p.ID, got.ID)
	}
	for _, step := range []string{"backup", "stage", "verify"} {
		t.Run("stopped after "+step, func(t *testing.T) {
			f := newRotationFixture(t)
			newKey := newMasterKey(t)
			_, err := RotateMasterKey(ctx, RotateMasterOptions{Dir: f.dir, OldKey: f.oldKey, NewKey: newKey, stopAfter: step})
			require.ErrorIs(t, err, errRotateStopped)
			_, err = Open(ctx, Options{Dir: f.dir, MasterKey: newKey})
			require.ErrorIs(t, err, ErrWrongMasterKey)
			opens(t, f.dir, f.oldKey, f.person)
			stray, err := StrayCopies(f.dir)
			require.NoError(t, err)
			if step != "backup" {
				require.Len(t, stray, 1, "the stage a crash leaves is reported")
			}

			// Rotating again clears the leftover stage and succeeds.
			_, err = RotateMasterKey(ctx, RotateMasterOptions{Dir: f.dir, OldKey: f.oldKey, NewKey: newKey})
			require.NoError(t, err)
			opens(t, f.dir, newKey, f.person)
			stray, err = StrayCopies(f.dir)
			require.NoError(t, err)
			assert.Empty(t, stray)
		})
	}

	t.Run("stopped between the two renames, then run again", func(t *testing.T) {
		f := newRotationFixture(t)
		newKey := newMasterKey(t)
		_, err := RotateMasterKey(ctx, RotateMasterOptions{Dir: f.dir, OldKey: f.oldKey, NewKey: newKey, stopAfter: "swap-keys"})
		require.ErrorIs(t, err, errRotateStopped)
		_, err = RotateMasterKey(ctx, RotateMasterOptions{Dir: f.dir, OldKey: f.oldKey, NewKey: newMasterKey(t)})
		require.ErrorContains(t, err, "has now been finished")
		opens(t, f.dir, newKey, f.person)
	})

	t.Run("stopped between the two renames", func(t *testing.T) {
		f := newRotationFixture(t)
		newKey := newMasterKey(t)
		_, err := RotateMasterKey(ctx, RotateMasterOptions{Dir: f.dir, OldKey: f.oldKey, NewKey: newKey, stopAfter: "swap-keys"})
		require.ErrorIs(t, err, errRotateStopped)
		_, err = Open(ctx, Options{Dir: f.dir, MasterKey: f.oldKey})
		require.ErrorIs(t, err, ErrWrongMasterKey)
		assert.ErrorContains(t, err, "rotation was just finished")
		opens(t, f.dir, newKey, f.person)
		stray, err := StrayCopies(f.dir)
		require.NoError(t, err)
		assert.Empty(t, stray)
	})

	t.Run("the backup cannot be written", func(t *testing.T) {
		f := newRotationFixture(t)
		backups := filepath.Join(f.dir, BackupsDir)
		// A file where the backups folder should be: the backup of the
		// state before cannot be written, as on a full or read-only disk.
		require.NoError(t, os.Rename(backups, backups+".aside"))
		require.NoError(t, os.WriteFile(backups, nil, 0o600))
		_, err := RotateMasterKey(ctx, RotateMasterOptions{Dir: f.dir, OldKey: f.oldKey, NewKey: newMasterKey(t)})
		require.ErrorContains(t, err, "nothing was changed")
		require.NoError(t, os.Remove(backups))
		require.NoError(t, os.Rename(backups+".aside", backups))
		opens(t, f.dir, f.oldKey, f.person)
	})
}

// TestRotateMasterKeyAuditChain: entries written before entries were keyed
// keep their plain SHA-256 and stay pinned by the first keyed entry; after
// a retention prune into the keyed entries, the chain still starts from
// the pruned anchor.
func TestRotateMasterKeyAuditChain(t *testing.T) {
	ctx := context.Background()
	legacyLog := func(t *testing.T) (string, []byte, map[int64]string) {
		dir, key := t.TempDir(), newMasterKey(t)
		s := openTestStore(t, dir, key, nil)
		_, err := s.kdb.Exec("DROP TABLE audit_head; DELETE FROM schema_migrations WHERE version = 2")
		require.NoError(t, err)
		prev := zeroHash
		for seq := int64(1); seq <= 3; seq++ {
			at := ts(s.Now())
			h := auditHash(seq, at, ActorCLI, "old.action", "", "", "{}", prev)
			_, err := s.db.Exec(`INSERT INTO audit_log (seq, at, actor_id, action, target_type, target_id, details, prev_hash, hash)
				VALUES (?, ?, ?, 'old.action', '', '', '{}', ?, ?)`, seq, at, ActorCLI, prev, h)
			require.NoError(t, err)
			prev = h
		}
		require.NoError(t, s.Close())
		s = openTestStore(t, dir, key, nil)
		for range 3 {
			audit(t, s, "new.action", "t")
		}
		hashes := map[int64]string{}
		rows, err := s.db.Query("SELECT seq, hash FROM audit_log")
		require.NoError(t, err)
		for rows.Next() {
			var seq int64
			var h string
			require.NoError(t, rows.Scan(&seq, &h))
			hashes[seq] = h
		}
		require.NoError(t, rows.Err())
		require.NoError(t, s.Close())
		return dir, key, hashes
	}

	t.Run("legacy entries stay pinned", func(t *testing.T) {
		dir, key, before := legacyLog(t)
		newKey := newMasterKey(t)
		res, err := RotateMasterKey(ctx, RotateMasterOptions{Dir: dir, OldKey: key, NewKey: newKey})
		require.NoError(t, err)
		s := openTestStore(t, dir, newKey, nil)
		bad, err := s.VerifyAudit(ctx)
		require.NoError(t, err)
		assert.Zero(t, bad)
		head, err := s.readAuditHead(ctx, s.krdb)
		require.NoError(t, err)
		assert.Equal(t, int64(4), head.MacFrom)
		var prev4, hash4 string
		require.NoError(t, s.db.QueryRow("SELECT prev_hash, hash FROM audit_log WHERE seq = 4").Scan(&prev4, &hash4))
		assert.Equal(t, before[3], prev4, "the first keyed entry still follows the legacy head")
		assert.NotEqual(t, before[4], hash4, "keyed entries are re-keyed")
		for seq := int64(1); seq <= 3; seq++ {
			var h string
			require.NoError(t, s.db.QueryRow("SELECT hash FROM audit_log WHERE seq = ?", seq).Scan(&h))
			assert.Equal(t, before[seq], h)
		}
		assert.GreaterOrEqual(t, res.AuditEntries, 3)

		rechainPlain(t, s, 2, func(seq int64, actor, action string) (string, string) {
			if seq == 2 {
				return "someone-else", action
			}
			return actor, action
		})
		_, err = s.VerifyAudit(ctx)
		require.ErrorIs(t, err, ErrAuditBroken, "a rewritten legacy entry is still caught")
	})

	t.Run("after a prune into keyed entries", func(t *testing.T) {
		dir, key, _ := legacyLog(t)
		s := openTestStore(t, dir, key, nil)
		require.NoError(t, s.tx(ctx, func(tx *sql.Tx) error {
			_, err := s.pruneAuditBatch(ctx, tx, ts(s.Now().Add(time.Hour)), nil, 5, ts(s.Now()))
			return err
		}))
		require.Equal(t, 1, count(t, s.rdb, "audit_log"))
		require.NoError(t, s.Close())
		newKey := newMasterKey(t)
		_, err := RotateMasterKey(ctx, RotateMasterOptions{Dir: dir, OldKey: key, NewKey: newKey})
		require.NoError(t, err)
		s = openTestStore(t, dir, newKey, nil)
		bad, err := s.VerifyAudit(ctx)
		require.NoError(t, err)
		assert.Zero(t, bad)
		audit(t, s, "after.rotation", "t")
		_, err = s.VerifyAudit(ctx)
		require.NoError(t, err)
	})
}
