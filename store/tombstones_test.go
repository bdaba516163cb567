package store

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// registered creates a learner with consents, activity and mail, the way
// registration and use leave them.
func registered(t *testing.T, s *Store, name string) User {
	t.Helper()
	ctx := context.Background()
	nu := newUser(name)
	nu.AcceptedPolicy, nu.NotifyNew, nu.Feedback, nu.AdultConfirmed = "2023-10-09", true, true, true
	u := createUser(t, s, nu)
	require.NoError(t, s.writeActivity(ctx, []ActivityEvent{{UserID: u.ID, Action: ActEnrol, At: s.Now(), IP: netip.MustParseAddr("192.0.2.44")}}))
	m := newMail(u.Email, "verify")
	m.UserID = u.ID
	enqueue(t, s, m)
	return u
}

// remains counts what is left of a person in every table linked to them.
func remains(t *testing.T, s *Store, userID string) map[string]int {
	t.Helper()
	out := map[string]int{"users": count(t, s.db, "users", "id = ?", userID), "data_keys": count(t, s.kdb, "data_keys", "subject = ?", userID)}
	del, anonymise := personTables()
	for _, tbl := range append(del, anonymise...) {
		out[tbl] = count(t, s.db, tbl, "user_id = ?", userID)
	}
	return out
}

// nothingLeft checks that the erased person's id is nowhere in either
// database, as a whole value or inside one, except in the columns
// erasedIDAllowed keeps on purpose; and that their key is gone.
func nothingLeft(t *testing.T, s *Store, userID string) {
	t.Helper()
	for tbl, n := range remains(t, s, userID) {
		assert.Zero(t, n, "%s still holds rows of the erased person", tbl)
	}
	for col, n := range idOccurrences(t, s, userID) {
		if !erasedIDAllowed[col] {
			t.Errorf("%s still holds the erased person's id in %d row(s)", col, n)
		}
	}
}

// erasedIDAllowed are the columns that may hold an erased person's id,
// written out here rather than read from the data map under test: each is a
// record kept on purpose, whose sealed text became unreadable with the key.
var erasedIDAllowed = map[string]bool{
	"kelas.db rights_cases.user_id":        true, // proof the erasure request was handled
	"kelas.db rights_case_events.actor_id": true, // the person's own steps in that request
	"kelas.db audit_log.target_id":         true, // the audit entries of the erasure and of actions on them
}

// idOccurrences counts, per column of both databases, the rows holding id
// anywhere in their value.
func idOccurrences(t *testing.T, s *Store, id string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, c := range schemaColumns(t, s) {
		db := s.rdb
		if c.DB == DBKeys {
			db = s.krdb
		}
		var n int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM "`+c.Table+`" WHERE instr(CAST("`+c.Column+`" AS TEXT), ?) > 0`, id).Scan(&n))
		if n > 0 {
			out[c.key()] = n
		}
	}
	return out
}

func TestEraseUser(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	gone := registered(t, s, "gone")
	stays := registered(t, s, "stays")
	before := remains(t, s, gone.ID)
	for _, tbl := range []string{"users", "data_keys", "activity_log", "outbox", "user_consents", "policy_acceptances"} {
		require.Positive(t, before[tbl], "%s: the fixture must have rows here", tbl)
	}

	require.NoError(t, s.EraseUser(ctx, "op", gone.ID))
	nothingLeft(t, s, gone.ID)
	_, err := s.User(ctx, gone.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = s.User(ctx, stays.ID)
	assert.NoError(t, err, "others are untouched")
	assert.Equal(t, before, remains(t, s, stays.ID))

	stones, err := s.Tombstones()
	require.NoError(t, err)
	require.Len(t, stones, 1)
	assert.Equal(t, gone.ID, stones[0].UserID)
	st, err := os.Stat(filepath.Join(s.Dir(), TombstonesFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	log, err := s.AuditLog(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, AuditUserErase, log[0].Action)
	assert.Equal(t, gone.ID, log[0].TargetID)

	n, err := s.ApplyTombstones(ctx, ActorCLI)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left to erase again")
	require.NoError(t, s.EraseUser(ctx, "op", gone.ID), "erasing again is harmless")
	assert.Error(t, s.EraseUser(ctx, "op", "not-an-id"))
}

// TestApplyTombstonesFinishesInterruptedErasure: the tombstone is written
// first, so a crash before the rows went is finished by ApplyTombstones.
func TestApplyTombstonesFinishesInterruptedErasure(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	u := registered(t, s, "crash")
	require.NoError(t, appendTombstones(s.Dir(), []Tombstone{{UserID: u.ID, ErasedAt: s.Now()}}))
	n, err := s.ApplyTombstones(ctx, ActorCLI)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	nothingLeft(t, s, u.ID)
	log, err := s.AuditLog(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, AuditTombstoneReapply, log[0].Action)
}

func TestTombstonesFileIsTolerant(t *testing.T) {
	dir := t.TempDir()
	a, b := NewID(), NewID()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, appendTombstones(dir, []Tombstone{{UserID: a, ErasedAt: now}}))
	// A crash mid-line leaves a fragment; the next append starts afresh.
	f, err := os.OpenFile(filepath.Join(dir, TombstonesFile), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(b[:10])
	require.NoError(t, err)
	require.NoError(t, f.Close())
	n, err := mergeTombstones(dir, []Tombstone{{UserID: a, ErasedAt: now}, {UserID: b, ErasedAt: now}})
	require.NoError(t, err)
	assert.Equal(t, 1, n, "a is known already")
	got, err := readTombstones(filepath.Join(dir, TombstonesFile))
	require.NoError(t, err)
	assert.Equal(t, []Tombstone{{a, now}, {b, now}}, got)
}

// TestEraseUserRemovesExportFiles: the export rows go inside the erasure's
// transaction, so the erasure must remove their files too; nothing that
// runs after it can find them by person any more.
func TestEraseUserRemovesExportFiles(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	u := createUser(t, s, newUser("exported"))
	id := readyExport(t, s, u.ID, payload(1000))
	require.FileExists(t, s.exportPath(id))

	require.NoError(t, s.EraseUser(ctx, "test", u.ID))
	assert.NoFileExists(t, s.exportPath(id), "the erased person's export file is left on disk")
}

// TestErasedPersonGetsNoNewRows: rows written for a person after their
// erasure (an activity batch or a disclosure that was on its way) must not
// land: those tables have no foreign key to stop them, and nothing would
// erase them again.
func TestErasedPersonGetsNoNewRows(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	u := createUser(t, s, newUser("late"))
	viewer := createUser(t, s, newUser("viewer"))
	require.NoError(t, s.EraseUser(ctx, "test", u.ID))

	require.NoError(t, s.writeActivity(ctx, []ActivityEvent{{UserID: u.ID, Action: ActViewTraining, At: s.Now()}}))
	require.NoError(t, s.RecordDisclosures(ctx, Disclosure{ViewerID: viewer.ID, ViewerRole: string(RoleOperator), View: ViewLearnerRecord}, u.ID))
	assert.Zero(t, count(t, s.db, "activity_log", "user_id = ?", u.ID), "activity logged for an erased person")
	assert.Zero(t, count(t, s.db, "disclosures", "subject_id = ?", u.ID), "disclosure recorded about an erased person")
}

// TestErasureFailuresLeaveNothingHalfDone injects real failures at each
// step of an erasure and checks what is left and that a re-run (or the
// next start, through ApplyTombstones) finishes the job.
func TestErasureFailuresLeaveNothingHalfDone(t *testing.T) {
	ctx := context.Background()

	t.Run("tombstone cannot be written", func(t *testing.T) {
		s := newTestStore(t)
		u := registered(t, s, "stone")
		path := filepath.Join(s.Dir(), TombstonesFile)
		require.NoError(t, os.Mkdir(path, 0o700)) // a directory where the file goes
		require.Error(t, s.EraseUser(ctx, "test", u.ID))
		_, err := s.User(ctx, u.ID)
		require.NoError(t, err, "without its tombstone recorded, nothing was erased")
		require.NoError(t, os.Remove(path))
		require.NoError(t, s.EraseUser(ctx, "test", u.ID))
		nothingLeft(t, s, u.ID)
	})

	t.Run("crash between the rows and the key", func(t *testing.T) {
		dir, key := t.TempDir(), newMasterKey(t)
		s := openTestStore(t, dir, key, nil)
		u := registered(t, s, "halfway")
		// The state a crash leaves after step 2: tombstone on disk, rows
		// gone, key still in keys.db.
		require.NoError(t, appendTombstones(dir, []Tombstone{{UserID: u.ID, ErasedAt: s.Now()}}))
		_, err := s.db.Exec("DELETE FROM users WHERE id = ?", u.ID)
		require.NoError(t, err)
		require.Equal(t, 1, count(t, s.kdb, "data_keys", "subject = ?", u.ID))
		total, pending, err := s.TombstonesPending(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, total)
		assert.Equal(t, 1, pending, "the key left behind counts as pending")
		require.NoError(t, s.Close())

		s = openTestStore(t, dir, key, nil) // the next start
		n, err := s.ApplyTombstones(ctx, ActorScheduler)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		nothingLeft(t, s, u.ID)
		_, pending, err = s.TombstonesPending(ctx)
		require.NoError(t, err)
		assert.Zero(t, pending)
	})

	t.Run("export file cannot be removed", func(t *testing.T) {
		s := newTestStore(t)
		u := createUser(t, s, newUser("exported"))
		id := readyExport(t, s, u.ID, payload(1000))
		path := s.exportPath(id)
		// Replace the file by a non-empty directory: removing it fails.
		require.NoError(t, os.Remove(path))
		require.NoError(t, os.MkdirAll(filepath.Join(path, "x"), 0o700))
		err := s.EraseUser(ctx, "test", u.ID)
		require.ErrorContains(t, err, "export file")
		// The rows and the key are gone all the same: the export is
		// unreadable, and the retention sweep removes what is left.
		_, err = s.dataKey(ctx, u.ID)
		assert.ErrorIs(t, err, ErrNotFound)
		assert.Zero(t, count(t, s.db, "users", "id = ?", u.ID))
	})
}
