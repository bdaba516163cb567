package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// afterBackup is what a running kelas records after a backup was taken:
// one of every compliance record a restore must not lose.
type afterBackup struct {
	breach, hold, erasureCase, policy string
	auditHead                         int64
}

func recordAfterBackup(t *testing.T, s *Store, person, officer User) afterBackup {
	t.Helper()
	ctx := context.Background()
	var a afterBackup
	b, err := s.CreateBreach(ctx, officer.ID, testBreach("list", "", person.ID))
	require.NoError(t, err)
	a.breach = b.ID
	h, err := s.SetLegalHold(ctx, officer.ID, NewLegalHold{UserID: officer.ID, Reason: "investigation 7"})
	require.NoError(t, err)
	a.hold = h.ID
	c, err := s.CreateCase(ctx, NewCase{UserID: person.ID, Kind: CaseErasure, ExecuteAfter: s.Now().Add(24 * time.Hour), Note: "scheduled"})
	require.NoError(t, err)
	a.erasureCase = c.ID
	d, err := s.SavePolicyDraft(ctx, officer.ID, PolicyDraft{Version: "2030-01", Summary: "New.", BodyMD: "# Policy\n\nNew.", Material: true,
		EffectiveAt: s.Now().Add(48 * time.Hour)})
	require.NoError(t, err)
	p, err := s.PublishPolicy(ctx, officer.ID, d.ID)
	require.NoError(t, err)
	a.policy = p.Version
	require.NoError(t, s.RecordDisclosures(ctx, Disclosure{ViewerID: officer.ID, ViewerRole: string(RoleOperator), View: ViewLearnerRecord, Reason: "audit"}, person.ID))
	audit(t, s, "test.after_backup", person.ID)
	a.auditHead, _, err = s.AuditAnchorStatus(ctx)
	require.NoError(t, err)
	return a
}

func (a afterBackup) present(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	_, err := s.Breach(ctx, a.breach)
	assert.NoError(t, err, "the breach record is back")
	holds, err := s.LegalHolds(ctx, true)
	require.NoError(t, err)
	found := false
	for _, h := range holds {
		found = found || h.ID == a.hold
	}
	assert.True(t, found, "the legal hold is back")
	c, err := s.Case(ctx, a.erasureCase)
	require.NoError(t, err, "the erasure request is back")
	assert.Equal(t, CaseOpen, c.Status)
	assert.NotEmpty(t, c.Events)
	vs, err := s.PolicyVersions(ctx)
	require.NoError(t, err)
	found = false
	for _, v := range vs {
		found = found || v.Version == a.policy
	}
	assert.True(t, found, "the policy version is back")
	log, err := s.AuditLog(ctx, 1000)
	require.NoError(t, err)
	seqs := map[int64]bool{}
	for _, e := range log {
		seqs[e.Seq] = true
	}
	for seq := int64(1); seq <= a.auditHead; seq++ {
		assert.True(t, seqs[seq], "audit entry %d is back", seq)
	}
	bad, err := s.VerifyAudit(ctx)
	require.NoError(t, err)
	assert.Zero(t, bad)
}

// TestComplianceRecordsSurviveRestore: breach records, holds, rights
// requests, policy versions, disclosures and audit entries made after a
// backup are re-applied from the journal when that backup is restored, and
// an erasure requested before the backup is still carried out afterwards.
func TestComplianceRecordsSurviveRestore(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, clock.Now)
	person := registered(t, s, "person")
	pending := registered(t, s, "pending")
	officer := registered(t, s, "officer")
	early, err := s.CreateCase(ctx, NewCase{UserID: pending.ID, Kind: CaseErasure, ExecuteAfter: clock.Now().Add(2 * time.Hour)})
	require.NoError(t, err)
	backups, err := s.Backup(ctx, BackupOptions{})
	require.NoError(t, err)
	clock.Advance(time.Hour)
	a := recordAfterBackup(t, s, person, officer)
	require.NoError(t, s.Close())

	clock.Advance(day)
	res, err := Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, File: filepath.Join(dir, BackupsDir, backups[0].File), Clock: clock.Now})
	require.NoError(t, err)
	assert.Positive(t, res.Journal.Applied)
	assert.Zero(t, res.Journal.Lost(), res.Journal.Report())
	assert.Empty(t, res.Journal.Skipped)
	assert.Zero(t, res.AuditRolledBack)

	s = openTestStore(t, dir, key, clock.Now)
	a.present(t, s)
	due, err := s.ErasuresDue(ctx)
	require.NoError(t, err)
	var ids []string
	for _, c := range due {
		ids = append(ids, c.ID)
	}
	assert.Contains(t, ids, early.ID, "the erasure pending at backup time is due after the restore")
}

// TestRestoreRefusesToLoseRecords: without a journal covering them, records
// made after the backup would be lost: the restore refuses with a report
// naming them per kind, and changes nothing; with AcceptLoss it goes ahead,
// the audit log records the loss and still verifies.
func TestRestoreRefusesToLoseRecords(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, clock.Now)
	person := registered(t, s, "person")
	officer := registered(t, s, "officer")
	backups, err := s.Backup(ctx, BackupOptions{})
	require.NoError(t, err)
	clock.Advance(time.Hour)
	a := recordAfterBackup(t, s, person, officer)
	require.NoError(t, s.Close())
	require.NoError(t, os.Remove(filepath.Join(dir, JournalFile)))

	before := durableSums(t, dir)
	file := filepath.Join(dir, BackupsDir, backups[0].File)
	_, err = Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, File: file, Clock: clock.Now})
	require.ErrorIs(t, err, ErrRestoreLoss)
	msg := err.Error()
	for _, want := range []string{"breach records: 1 missing (" + a.breach, "legal holds: 1 missing (" + a.hold,
		"rights requests: 1 missing (" + a.erasureCase, "policy versions: 1 missing (" + a.policy, "audit entries:", "disclosures: 1 missing"} {
		assert.Contains(t, msg, want)
	}
	assert.Equal(t, before, durableSums(t, dir), "a refused restore changes nothing")

	res, err := Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, File: file, Clock: clock.Now, AcceptLoss: true})
	require.NoError(t, err)
	assert.Positive(t, res.Journal.Lost())
	assert.Equal(t, a.auditHead, res.AuditRolledBack)
	s = openTestStore(t, dir, key, clock.Now)
	_, err = s.Breach(ctx, a.breach)
	assert.ErrorIs(t, err, ErrNotFound)
	log, err := s.AuditLog(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, AuditBackupRestore, log[0].Action)
	assert.EqualValues(t, a.auditHead, log[0].Details["audit_rolled_back_from"])
	assert.NotZero(t, log[0].Details["records_lost"])
	bad, err := s.VerifyAudit(ctx)
	require.NoError(t, err, "the accepted loss is recorded, and the log verifies from there")
	assert.Zero(t, bad)
}

// TestRestoreRefusesADamagedJournal: a journal with an edited line is
// refused before any live file changes.
func TestRestoreRefusesADamagedJournal(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, clock.Now)
	person := registered(t, s, "person")
	officer := registered(t, s, "officer")
	backups, err := s.Backup(ctx, BackupOptions{})
	require.NoError(t, err)
	clock.Advance(time.Hour)
	recordAfterBackup(t, s, person, officer)
	require.NoError(t, s.Close())

	path := filepath.Join(dir, JournalFile)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(b), `"t":"legal_holds"`, "control: the journal holds the hold")
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), `"t":"legal_holds"`, `"t":"legal_holdz"`, 1)), 0o600))
	before := durableSums(t, dir)
	_, err = Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, File: filepath.Join(dir, BackupsDir, backups[0].File), Clock: clock.Now, AcceptLoss: true})
	require.ErrorIs(t, err, ErrJournalDamaged)
	assert.Contains(t, err.Error(), "nothing was changed")
	assert.Equal(t, before, durableSums(t, dir))
}

// TestJournalHoldsNoPlaintext: the journal copies rows as stored, so sealed
// fields stay sealed; a control value stored in plaintext is found.
func TestJournalHoldsNoPlaintext(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestStore(t, dir, newMasterKey(t), nil)
	person := registered(t, s, "person")
	officer := registered(t, s, "officer")
	_, err := s.SetLegalHold(ctx, officer.ID, NewLegalHold{UserID: person.ID, Reason: "Zqxplaintextholdreason"})
	require.NoError(t, err)
	_, err = s.CreateCase(ctx, NewCase{UserID: person.ID, Kind: CaseRectification, Details: "Wqzmy surname is misspelt"})
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, JournalFile))
	require.NoError(t, err)
	assert.Contains(t, string(b), person.ID, "control: the journal holds the records")
	for _, secret := range []string{"Zqxplaintextholdreason", "Wqzmy surname", person.Email, person.FirstName} {
		assert.NotContains(t, string(b), secret)
	}
}

// durableSums is fileSums without SQLite's shared-memory file and an empty
// WAL, which opening a database (to read it) may leave behind.
func durableSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	sums := fileSums(t, dir)
	for name, sum := range sums {
		if strings.HasSuffix(name, "-shm") || (strings.HasSuffix(name, "-wal") && sum == empty) {
			delete(sums, name)
		}
	}
	return sums
}

// TestJournalIsCompactedToTheOldestBackup: records older than every kept
// data backup are dropped (no restore needs them); the rest still verify
// and re-apply.
func TestJournalIsCompactedToTheOldestBackup(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, clock.Now)
	officer := registered(t, s, "officer")
	audit(t, s, "test.old", officer.ID)
	js, err := s.JournalStatus(ctx)
	require.NoError(t, err)
	require.Positive(t, js.Records)
	clock.Advance(48 * time.Hour)
	_, err = s.Backup(ctx, BackupOptions{})
	require.NoError(t, err)
	after, err := s.JournalStatus(ctx)
	require.NoError(t, err)
	assert.True(t, after.Since.After(js.Since), "the journal now starts near the oldest backup")
	b, err := os.ReadFile(filepath.Join(dir, JournalFile))
	require.NoError(t, err)
	assert.NotContains(t, string(b), "test.old", "the record older than every backup is gone")
	assert.Contains(t, string(b), AuditBackupCreate, "records since the backup stay")
}

// TestRestoreOverACrashedDirectory: kelas died with committed changes still
// in kelas.db-wal. The restored database must not pick that WAL up, and the
// replaced state, WAL included, is kept in the encrypted backup pair.
func TestRestoreOverACrashedDirectory(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, clock.Now)
	registered(t, s, "before")
	backups, err := s.Backup(ctx, BackupOptions{})
	require.NoError(t, err)
	clock.Advance(day)
	late := registered(t, s, "late")
	// The crash: a copy of the files as they are while kelas runs.
	crashed := t.TempDir()
	copyTree(t, dir, crashed)
	require.NoError(t, s.Close())
	wal, err := os.Stat(filepath.Join(crashed, MainDBFile+"-wal"))
	require.NoError(t, err)
	require.Positive(t, wal.Size(), "control: the copy has a WAL with the late changes")

	res, err := Restore(ctx, RestoreOptions{Dir: crashed, MasterKey: key, File: filepath.Join(crashed, BackupsDir, backups[0].File), Clock: clock.Now})
	require.NoError(t, err)
	r := openTestStore(t, crashed, key, clock.Now)
	_, err = r.User(ctx, late.ID)
	assert.ErrorIs(t, err, ErrNotFound, "the old WAL was not applied to the restored database")
	require.NoError(t, r.Close())

	// Going back to the replaced state brings the late account back.
	require.Len(t, res.Before, 2)
	_, err = Restore(ctx, RestoreOptions{Dir: crashed, MasterKey: key, File: res.Before[0], Clock: clock.Now})
	require.NoError(t, err)
	r = openTestStore(t, crashed, key, clock.Now)
	got, err := r.User(ctx, late.ID)
	require.NoError(t, err, "the replaced state kept what was only in its WAL")
	assert.Equal(t, late.FirstName, got.FirstName)
}

// TestDamagedJournalDoesNotStopKelas: with a damaged journal the store
// still opens and writes; changes wait in kelas.db, the status says the
// journal is damaged, and moving the file aside starts a new journal that
// takes the waiting changes.
func TestDamagedJournalDoesNotStopKelas(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, nil)
	officer := registered(t, s, "officer")
	audit(t, s, "test.first", officer.ID)
	require.NoError(t, s.Close())
	path := filepath.Join(dir, JournalFile)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, bytes.Replace(b, []byte("test.first"), []byte("test.forged"), 1), 0o600))

	s = openTestStore(t, dir, key, nil)
	audit(t, s, "test.second", officer.ID)
	_, err = s.JournalStatus(ctx)
	require.ErrorIs(t, err, ErrJournalDamaged)
	var pending int
	require.NoError(t, s.rdb.QueryRow("SELECT COUNT(*) FROM journal_pending").Scan(&pending))
	assert.Positive(t, pending, "the change waits in kelas.db")

	require.NoError(t, os.Rename(path, filepath.Join(t.TempDir(), "evidence.log")))
	audit(t, s, "test.third", officer.ID)
	js, err := s.JournalStatus(ctx)
	require.NoError(t, err)
	assert.Zero(t, js.Pending)
	nb, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(nb), "test.second", "the waiting change reached the new journal")
}
