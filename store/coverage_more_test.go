package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failOn makes the database refuse every op ("INSERT", "UPDATE" or
// "DELETE") on table from now on: a trigger aborts the store's own
// statement inside SQLite, as a full disk or a damaged page would. The
// returned function lifts it.
func failOn(t *testing.T, s *Store, op, table string) func() {
	t.Helper()
	name := "injected_" + strings.ToLower(op) + "_" + table
	_, err := s.db.Exec(`CREATE TRIGGER ` + name + ` BEFORE ` + op + ` ON ` + table +
		` BEGIN SELECT RAISE(ABORT, 'injected failure'); END`)
	require.NoError(t, err)
	return func() {
		_, err := s.db.Exec(`DROP TRIGGER ` + name)
		require.NoError(t, err)
	}
}

// hideTable renames table away, so that every statement naming it fails;
// the returned function puts it back.
func hideTable(t *testing.T, s *Store, table string) func() {
	t.Helper()
	_, err := s.db.Exec(`ALTER TABLE ` + table + ` RENAME TO ` + table + `_hidden`)
	require.NoError(t, err)
	return func() {
		_, err := s.db.Exec(`ALTER TABLE ` + table + `_hidden RENAME TO ` + table)
		require.NoError(t, err)
	}
}

// legalFixture is a store holding one person with one entry in the legal
// disclosure register, its bar already over.
func legalFixture(t *testing.T) (string, []byte, *Store, User, NewLegalDisclosure) {
	t.Helper()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, nil)
	u := createUser(t, s, newUser("legalsubject"))
	day := s.Now().Truncate(24*time.Hour).AddDate(0, 0, -40)
	n := NewLegalDisclosure{UserID: u.ID, Basis: LegalCourtOrder, Requester: "High Court", Disclosed: "name and email",
		Reference: "HC-7", DisclosedOn: day, BarUntil: day.AddDate(0, 0, 30), RecordedBy: "dpo", RecorderRole: string(RoleOperator),
		Summary: "court order HC-7"}
	_, err := s.RecordLegalDisclosure(t.Context(), n)
	require.NoError(t, err)
	return dir, key, s, u, n
}

// The legal disclosure register fails whole: an entry that cannot be
// written leaves neither the register row nor the person's log row, and a
// register or log that cannot be read is an error, never a shorter list
// (a disclosure the person is owed sight of, silently missing).
func TestLegalRegisterFailuresAreReported(t *testing.T) {
	ctx := context.Background()
	_, _, s, u, n := legalFixture(t)
	entries := func() (int, int) {
		return count(t, s.db, "legal_disclosures"), count(t, s.db, "disclosures", "subject_id = ?", u.ID)
	}
	reg0, log0 := entries()
	require.Equal(t, 1, reg0)

	incomplete := n
	incomplete.Requester = ""
	_, err := s.RecordLegalDisclosure(ctx, incomplete)
	assert.ErrorContains(t, err, "incomplete entry")

	// The register row is refused after the log row was written: both go.
	lift := failOn(t, s, "INSERT", "legal_disclosures")
	_, err = s.RecordLegalDisclosure(ctx, n)
	assert.ErrorContains(t, err, "injected failure")
	assert.NotErrorIs(t, err, ErrNotFound)
	lift()
	reg, log := entries()
	assert.Equal(t, [2]int{reg0, log0}, [2]int{reg, log}, "a half-written entry stayed")

	// Without the register table: the register, the person's log (which
	// joins its entries) and a new entry all fail.
	back := hideTable(t, s, "legal_disclosures")
	_, err = s.LegalDisclosures(ctx, 10)
	assert.ErrorContains(t, err, "no such table: legal_disclosures")
	_, err = s.Disclosures(ctx, u.ID)
	assert.ErrorContains(t, err, "no such table: legal_disclosures")
	_, err = s.RecordLegalDisclosure(ctx, n)
	assert.ErrorContains(t, err, "legal_disclosures")
	back()
	reg, log = entries()
	assert.Equal(t, [2]int{reg0, log0}, [2]int{reg, log}, "a half-written entry stayed")

	// A closed store.
	require.NoError(t, s.Close())
	_, err = s.LegalDisclosures(ctx, 10)
	assert.ErrorContains(t, err, "database is closed")
	_, err = s.RecordLegalDisclosure(ctx, n)
	assert.ErrorContains(t, err, "database is closed")
}

// Damaged register entries are reported, naming the column, by the
// register and by the person's log; never read as empty text.
func TestDamagedLegalRegisterIsReported(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		want   string
	}{
		{"sealed", func(t *testing.T, path string) {
			execFile(t, path, "UPDATE legal_disclosures SET requester = randomblob(length(requester))")
		}, "open legal_disclosures.requester"},
		{"sealed disclosed", func(t *testing.T, path string) {
			execFile(t, path, "UPDATE legal_disclosures SET disclosed = randomblob(length(disclosed))")
		}, "open legal_disclosures.disclosed"},
		{"time", func(t *testing.T, path string) {
			execFile(t, path, "UPDATE legal_disclosures SET created_at = 'damaged time'")
		}, `"damaged time"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, key, s, u, _ := legalFixture(t)
			require.NoError(t, s.Close())
			tc.damage(t, filepath.Join(dir, MainDBFile))
			s = openTestStore(t, dir, key, nil)
			_, err := s.LegalDisclosures(ctx, 10)
			assert.ErrorContains(t, err, tc.want)
			_, err = s.Disclosures(ctx, u.ID)
			assert.ErrorContains(t, err, tc.want)
			assert.NotErrorIs(t, err, ErrNotFound)
		})
	}
}

// A suspension is one change: when the database refuses a part of it,
// the account is neither disabled without its reason nor left with a
// reason while active, and the failure is reported.
func TestSuspensionFailuresChangeNothing(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	u := createUser(t, s, newUser("suspended"))
	status := func() (string, int) {
		got, err := s.User(ctx, u.ID)
		require.NoError(t, err)
		return got.Status, count(t, s.db, "suspensions", "user_id = ?", u.ID)
	}
	for _, fault := range [][2]string{{"UPDATE", "users"}, {"INSERT", "suspensions"}, {"INSERT", "audit_log"}} {
		lift := failOn(t, s, fault[0], fault[1])
		err := s.SuspendUser(ctx, "op", u.ID, "advertising")
		lift()
		assert.ErrorContains(t, err, "injected failure", fault)
		st, n := status()
		assert.Equal(t, "active", st, fault)
		assert.Zero(t, n, fault)
	}
	require.NoError(t, s.SuspendUser(ctx, "op", u.ID, "advertising"))
	for _, fault := range [][2]string{{"DELETE", "suspensions"}, {"UPDATE", "users"}} {
		lift := failOn(t, s, fault[0], fault[1])
		err := s.ReinstateUser(ctx, "op", u.ID)
		lift()
		assert.ErrorContains(t, err, "injected failure", fault)
		assert.NotErrorIs(t, err, ErrConflict)
		st, n := status()
		assert.Equal(t, "disabled", st, fault)
		assert.Equal(t, 1, n, fault)
	}

	// A reason that no longer opens is an error naming it.
	_, err := s.db.Exec("UPDATE suspensions SET reason = randomblob(length(reason))")
	require.NoError(t, err)
	_, err = s.SuspensionOf(ctx, u.ID)
	assert.ErrorContains(t, err, "open suspensions.reason")

	require.NoError(t, s.Close())
	_, err = s.SuspensionOf(ctx, u.ID)
	assert.ErrorContains(t, err, "database is closed")
	assert.ErrorContains(t, s.SuspendUser(ctx, "op", u.ID, "x"), "database is closed")
	assert.ErrorContains(t, s.ReinstateUser(ctx, "op", u.ID), "database is closed")
}

// trainingFixture is a published self-study training with one quiz
// question, a live training with one session, and a learner enrolled in
// both.
type trainingFixture struct {
	s                    *Store
	learner, other, sf   User
	course, live, sessID string
	question             Question
}

func newTrainingFixture(t *testing.T) trainingFixture {
	t.Helper()
	ctx := t.Context()
	s := newTestStore(t)
	f := trainingFixture{s: s, learner: createUser(t, s, newUser("learner")), other: createUser(t, s, newUser("bystander")),
		sf: createUser(t, s, newUser("trainer"))}
	_, err := s.SeedMembers(ctx)
	require.NoError(t, err)
	m, err := s.MemberByName(ctx, "SME Corporation Malaysia")
	require.NoError(t, err)
	tr, err := s.CreateTraining(ctx, m.ID, f.sf.ID, TrainingInput{Title: "Costing", Summary: "s", Language: "en",
		Kind: "self_study", PassMark: 50, Published: true})
	require.NoError(t, err)
	f.course = tr.ID
	f.question, err = s.AddQuestion(ctx, tr.ID, "Which?", []Choice{{Label: "right", Correct: true}, {Label: "wrong"}})
	require.NoError(t, err)
	live, err := s.CreateTraining(ctx, m.ID, f.sf.ID, TrainingInput{Title: "Workshop", Summary: "s", Language: "en",
		Kind: "live", PassMark: 50, Published: true})
	require.NoError(t, err)
	f.live = live.ID
	sess, err := s.AddSession(ctx, live.ID, s.Now().Add(time.Hour), s.Now().Add(2*time.Hour))
	require.NoError(t, err)
	f.sessID = sess.ID
	require.NoError(t, s.Enrol(ctx, f.learner.ID, tr.ID))
	require.NoError(t, s.Enrol(ctx, f.learner.ID, live.ID))
	return f
}

// Attendance is marked once, for an enrolled learner only: marking it
// again changes nothing and is no error; someone not enrolled, or a
// session that does not exist, is ErrNotFound and records nothing.
func TestMarkAttendanceOnceAndOnlyForTheEnrolled(t *testing.T) {
	ctx := t.Context()
	f := newTrainingFixture(t)
	s := f.s
	require.NoError(t, s.MarkAttendance(ctx, f.sessID, f.learner.ID, f.sf.ID))
	require.NoError(t, s.MarkAttendance(ctx, f.sessID, f.learner.ID, f.sf.ID), "marking it again")
	assert.Equal(t, 1, count(t, s.db, "attendance"))
	e, err := s.Enrolment(ctx, f.learner.ID, f.live)
	require.NoError(t, err)
	assert.True(t, e.Attended)

	assert.ErrorIs(t, s.MarkAttendance(ctx, f.sessID, f.other.ID, f.sf.ID), ErrNotFound, "not enrolled")
	assert.ErrorIs(t, s.MarkAttendance(ctx, NewID(), f.learner.ID, f.sf.ID), ErrNotFound, "no such session")
	assert.Equal(t, 1, count(t, s.db, "attendance"))

	lift := failOn(t, s, "INSERT", "attendance")
	require.NoError(t, s.Enrol(ctx, f.other.ID, f.live))
	err = s.MarkAttendance(ctx, f.sessID, f.other.ID, f.sf.ID)
	lift()
	assert.ErrorContains(t, err, "injected failure")
	assert.NotErrorIs(t, err, ErrNotFound)
	assert.Equal(t, 1, count(t, s.db, "attendance"))
}

// A quiz answer is checked against the training's own quiz, and a refused
// write is reported, not read as a submitted attempt.
func TestSubmitQuizRefusesWhatIsNotItsQuiz(t *testing.T) {
	ctx := t.Context()
	f := newTrainingFixture(t)
	s := f.s
	live, err := s.Training(ctx, f.live)
	require.NoError(t, err)
	_, err = s.SubmitQuiz(ctx, f.learner.ID, live, map[string]string{})
	assert.ErrorIs(t, err, ErrNotFound, "a training without a quiz")

	course, err := s.Training(ctx, f.course)
	require.NoError(t, err)
	_, err = s.SubmitQuiz(ctx, f.learner.ID, course, map[string]string{NewID(): f.question.Choices[0].ID})
	assert.ErrorIs(t, err, ErrUnknownAnswer, "an answer to another question")

	lift := failOn(t, s, "INSERT", "quiz_attempts")
	_, err = s.SubmitQuiz(ctx, f.learner.ID, course, map[string]string{f.question.ID: f.question.Choices[0].ID})
	lift()
	assert.ErrorContains(t, err, "injected failure")
	assert.Zero(t, count(t, s.db, "quiz_attempts"))

	back := hideTable(t, s, "questions")
	_, err = s.SubmitQuiz(ctx, f.learner.ID, course, map[string]string{f.question.ID: f.question.Choices[0].ID})
	back()
	assert.ErrorContains(t, err, "no such table: questions")
	assert.Zero(t, count(t, s.db, "quiz_attempts"))
}

// Completion issues exactly one certificate: when the certificate cannot
// be written the enrolment stays incomplete (and the next try issues it);
// a completion that finds the enrolment completed meanwhile issues none.
func TestCompletionIsAllOrNothing(t *testing.T) {
	ctx := t.Context()
	f := newTrainingFixture(t)
	s := f.s
	course, err := s.Training(ctx, f.course)
	require.NoError(t, err)
	_, err = s.SubmitQuiz(ctx, f.learner.ID, course, map[string]string{f.question.ID: f.question.Choices[0].ID})
	require.NoError(t, err)
	completed := func() bool {
		e, err := s.Enrolment(ctx, f.learner.ID, f.course)
		require.NoError(t, err)
		return e.Completed()
	}

	for _, fault := range [][2]string{{"INSERT", "certificates"}, {"UPDATE", "enrolments"}} {
		lift := failOn(t, s, fault[0], fault[1])
		cert, err := s.CompleteIfDone(ctx, f.learner.ID, f.course)
		lift()
		assert.ErrorContains(t, err, "injected failure", fault)
		assert.Nil(t, cert, fault)
		assert.False(t, completed(), fault)
		assert.Zero(t, count(t, s.db, "certificates"), fault)
	}

	// Completed by another request between the check and the write: the
	// update finds no incomplete row, and no second certificate follows.
	_, err = s.db.Exec(`CREATE TRIGGER completed_meanwhile BEFORE UPDATE OF completed_at ON enrolments
		BEGIN SELECT RAISE(IGNORE); END`)
	require.NoError(t, err)
	cert, err := s.CompleteIfDone(ctx, f.learner.ID, f.course)
	require.NoError(t, err)
	assert.Nil(t, cert)
	assert.Zero(t, count(t, s.db, "certificates"))
	_, err = s.db.Exec(`DROP TRIGGER completed_meanwhile`)
	require.NoError(t, err)

	back := hideTable(t, s, "questions")
	_, err = s.CompleteIfDone(ctx, f.learner.ID, f.course)
	back()
	assert.ErrorContains(t, err, "no such table: questions")

	cert, err = s.CompleteIfDone(ctx, f.learner.ID, f.course)
	require.NoError(t, err)
	require.NotNil(t, cert)
	assert.True(t, completed())
	assert.Equal(t, 1, count(t, s.db, "certificates"))
}

// Settings are saved whole: when the database refuses any part, the
// saved values and the revision stay as they were and the failure is
// reported (not read as a stale form).
func TestSettingsSaveFailuresChangeNothing(t *testing.T) {
	ctx := t.Context()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, nil)
	before, err := s.Settings(ctx)
	require.NoError(t, err)
	for _, fault := range [][2]string{{"INSERT", "settings"}, {"UPDATE", "settings_revision"}, {"INSERT", "audit_log"}} {
		lift := failOn(t, s, fault[0], fault[1])
		_, err := s.SaveSettings(ctx, "op", before.Revision, map[string]string{SettingSiteName: "Portal " + fault[1]})
		assert.ErrorContains(t, err, "injected failure", fault)
		assert.NotErrorIs(t, err, ErrStaleSettings, fault)
		_, err = s.SaveLogo(ctx, "op", before.Revision, []byte("\x89PNG logo"))
		assert.ErrorContains(t, err, "injected failure", fault)
		lift()
		after, err := s.Settings(ctx)
		require.NoError(t, err)
		assert.Equal(t, before, after, fault)
	}
	back := hideTable(t, s, "settings_revision")
	_, err = s.SaveSettings(ctx, "op", before.Revision, map[string]string{SettingSiteName: "Portal"})
	back()
	assert.ErrorContains(t, err, "no such table: settings_revision")

	// A saved value that no longer opens is an error, not the default.
	saved, err := s.SaveSettings(ctx, "op", before.Revision, map[string]string{SettingSiteName: "Portal"})
	require.NoError(t, err)
	assert.Equal(t, "Portal", saved.Get(SettingSiteName))
	require.NoError(t, s.Close())
	execFile(t, filepath.Join(dir, MainDBFile), "UPDATE settings SET value = randomblob(length(value))")
	s = openTestStore(t, dir, key, nil)
	_, err = s.Settings(ctx)
	assert.ErrorContains(t, err, "open settings.value")
	_, err = s.SaveSettings(ctx, "op", saved.Revision, map[string]string{SettingSiteName: "Other"})
	assert.ErrorContains(t, err, "open settings.value", "nothing is saved over what cannot be read")
}

// A policy translation that cannot be stored is reported and leaves the
// earlier translation as it was.
func TestPolicyTranslationSaveFailures(t *testing.T) {
	ctx := t.Context()
	s := newTestStore(t)
	tr := PolicyTranslation{Version: "2023-10-09", Language: "ms", Summary: "Ringkasan.", BodyMD: "# Dasar"}
	_, err := s.SavePolicyTranslation(ctx, "dpo", tr)
	require.NoError(t, err)
	changed := tr
	changed.Summary = "Ringkasan baharu."
	for _, fault := range [][2]string{{"INSERT", "policy_translations"}, {"UPDATE", "policy_translations"}, {"INSERT", "audit_log"}} {
		lift := failOn(t, s, fault[0], fault[1])
		_, err := s.SavePolicyTranslation(ctx, "dpo", changed)
		lift()
		assert.ErrorContains(t, err, "injected failure", fault)
		got, err := s.PolicyTranslation(ctx, tr.Version, tr.Language)
		require.NoError(t, err)
		assert.Equal(t, tr.Summary, got.Summary, fault)
	}
	for _, table := range []string{"policy_versions", "policy_translations"} {
		back := hideTable(t, s, table)
		_, err := s.SavePolicyTranslation(ctx, "dpo", changed)
		back()
		assert.ErrorContains(t, err, "no such table: "+table)
		assert.NotErrorIs(t, err, ErrNotFound)
	}
	require.NoError(t, s.Close())
	_, err = s.PolicyTranslation(ctx, tr.Version, tr.Language)
	assert.ErrorContains(t, err, "database is closed")
}

// Rights cases refuse what no caller may send, before writing anything;
// a grade review that keeps the grade closes the case and says so, the
// attempt unchanged.
func TestCaseInputIsCheckedAndAKeptGradeStays(t *testing.T) {
	ctx := t.Context()
	f := newTrainingFixture(t)
	s := f.s
	cases0 := count(t, s.db, "rights_cases")
	for _, tc := range []struct {
		nc   NewCase
		want string
	}{
		{NewCase{UserID: f.learner.ID, Kind: "complaint"}, `unknown kind "complaint"`},
		{NewCase{UserID: f.learner.ID, Kind: CaseAccess, Channel: "pigeon"}, `unknown channel "pigeon"`},
		{NewCase{UserID: f.learner.ID, Kind: CaseAccess, ReceivedAt: s.Now().Add(time.Hour)}, "received in the future"},
	} {
		_, err := s.CreateCase(ctx, tc.nc)
		assert.ErrorContains(t, err, tc.want)
	}
	assert.Equal(t, cases0, count(t, s.db, "rights_cases"))

	course, err := s.Training(ctx, f.course)
	require.NoError(t, err)
	a, err := s.SubmitQuiz(ctx, f.learner.ID, course, map[string]string{f.question.ID: f.question.Choices[1].ID})
	require.NoError(t, err)
	require.Zero(t, a.Score)
	c, err := s.CreateCase(ctx, NewCase{UserID: f.learner.ID, Kind: CaseReview, Details: "the grade"})
	require.NoError(t, err)
	_, err = s.UpdateCase(ctx, c.ID, f.sf.ID, "forgotten", "n")
	assert.ErrorContains(t, err, `unknown status "forgotten"`)
	_, err = s.ReviewGrade(ctx, c.ID, f.sf.ID, GradeDecision{AttemptID: a.ID, Change: true, Score: 101, Reason: "r"})
	assert.ErrorContains(t, err, "score 101")
	got, err := s.Case(ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, CaseOpen, got.Status)

	got, err = s.ReviewGrade(ctx, c.ID, f.sf.ID, GradeDecision{AttemptID: a.ID, Score: 100, Reason: "the answer was wrong"})
	require.NoError(t, err)
	assert.Equal(t, CaseCompleted, got.Status)
	require.NotEmpty(t, got.Events)
	assert.Contains(t, got.Events[len(got.Events)-1].Note, `Grade 0% in "Costing" reviewed by a person and kept. Reason: the answer was wrong`)
	e, err := s.Enrolment(ctx, f.learner.ID, f.course)
	require.NoError(t, err)
	assert.Zero(t, e.BestScore)
	assert.False(t, e.Passed)
}

// A search stops at its limit; people matching no longer (erased since
// their tags were read) are left out.
func TestSearchLearnersStopsAtItsLimit(t *testing.T) {
	ctx := t.Context()
	s := newTestStore(t)
	for _, name := range []string{"Siti", "Sitti", "Siti"} {
		nu := newUser(strings.ToLower(name) + NewID()[:6])
		nu.FirstName, nu.Surname = name, "Rahman"
		createUser(t, s, nu)
	}
	all, err := s.SearchLearners(ctx, "rahman", 10)
	require.NoError(t, err)
	assert.Len(t, all, 3)
	two, err := s.SearchLearners(ctx, "rahman", 2)
	require.NoError(t, err)
	assert.Equal(t, all[:2], two)
	siti, err := s.SearchLearners(ctx, "siti rahman", 10)
	require.NoError(t, err)
	assert.Len(t, siti, 2)
	latest, err := s.SearchLearners(ctx, "", 1)
	require.NoError(t, err)
	assert.Len(t, latest, 1)
}

// The journal replay applies only what it can trust: a record naming a
// table that is not journaled stops it (the journal is damaged), and
// records that do not fit (no columns, a column name that is not one)
// are skipped, reported, and never reach the SQL.
func TestJournalReplayRefusesRecordsThatDoNotFit(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := openTestStore(t, dir, newMasterKey(t), nil)
	u := createUser(t, s, newUser("held"))
	h, err := s.SetLegalHold(ctx, "op", NewLegalHold{UserID: u.ID, Reason: "case 1"})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	path := filepath.Join(dir, MainDBFile)
	at := time.Now().UTC()
	str := func(v string) journalValue { return journalValue{S: &v} }

	_, err = replayJournal(ctx, path, []journalRecord{{At: at, Table: "users", Op: "del", Key: []journalValue{str(u.ID)}}}, at.Add(-time.Hour))
	assert.ErrorIs(t, err, ErrJournalDamaged)
	assert.Equal(t, 1, count(t, watch(t, path), "users", "id = ?", u.ID), "nothing applied")

	res, err := replayJournal(ctx, path, []journalRecord{
		{At: at, Table: "legal_holds", Op: "put", Key: []journalValue{str(h.ID)}},
		{At: at, Table: "legal_holds", Op: "put", Key: []journalValue{str(h.ID)}, Cols: []string{`id" = 1; DROP TABLE users; --`},
			Vals: []journalValue{str("x")}},
		{At: at, Table: "legal_holds", Op: "put", Key: []journalValue{str(h.ID)}, Cols: []string{strings.Repeat("c", 65)},
			Vals: []journalValue{str("x")}},
		{At: at, Table: "legal_holds", Op: "put", Key: []journalValue{str(h.ID)}, Cols: []string{""}, Vals: []journalValue{str("x")}},
		{At: at, Table: "legal_holds", Op: "del", Key: []journalValue{str(h.ID)}},
	}, at.Add(-time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, res.Applied)
	require.Len(t, res.Skipped, 4)
	assert.Contains(t, res.Skipped[0], "malformed record")
	for _, sk := range res.Skipped[1:] {
		assert.Contains(t, sk, "bad column name", "refused before any SQL is built")
	}
	report := res.Report()
	assert.Contains(t, report, "not re-applied: legal holds "+h.ID+": malformed record")
	db := watch(t, path)
	assert.Zero(t, count(t, db, "legal_holds"), "the deletion was applied")
	assert.Equal(t, 1, count(t, db, "users", "id = ?", u.ID))

	// A database from before the journal: its schema is brought up first.
	old := filepath.Join(t.TempDir(), "old.db")
	execFile(t, old, "CREATE TABLE placeholder (x INTEGER) STRICT")
	res, err = replayJournal(ctx, old, []journalRecord{{At: at, Table: "legal_holds", Op: "del", Key: []journalValue{str(h.ID)}}},
		at.Add(-time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, res.Applied)
	assert.Zero(t, count(t, watch(t, old), "journal_pending"), "the journal's tables are there")

	// Many missing records are summed up, not listed to the end.
	var ids []string
	for i := range 25 {
		ids = append(ids, "case"+string(rune('a'+i)))
	}
	report = JournalReplay{Missing: map[string][]string{"rights_cases": ids}}.Report()
	assert.Contains(t, report, "rights requests: 25 missing (casea, ")
	assert.Contains(t, report, ", and 5 more)")
}

// An export file is only served when it is the one the job recorded:
// missing, without a chunk, with a chunk length no writer makes, or not
// matching the recorded checksum, it is refused. A finished export takes
// no second file, and a failing write or record is reported, never
// marked ready.
func TestExportFileMisuseAndDamage(t *testing.T) {
	ctx := t.Context()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, nil)
	u := createUser(t, s, newUser("exporter"))
	p := payload(1000)
	id := readyExport(t, s, u.ID, p)
	path := s.exportPath(id)
	orig, err := os.ReadFile(path)
	require.NoError(t, err)

	_, _, err = s.WriteExportFile(ctx, u.ID, id, bytes.NewReader(p))
	assert.ErrorIs(t, err, ErrConflict, "a ready export takes no second file")
	frame := func(n uint32) []byte {
		b := binary.BigEndian.AppendUint32([]byte(exportMagic), n)
		return append(b, make([]byte, 64)...)
	}
	for name, b := range map[string][]byte{
		"magic only":        []byte(exportMagic),
		"chunk too short":   frame(10),
		"chunk too long":    frame(maxSealedChunk + 1),
		"header cut":        []byte(exportMagic + "\x00\x00"),
		"chunk cut":         frame(100),
		"intact but other":  nil, // the job's checksum is changed instead
		"intact but longer": nil, // the job's size is changed instead
	} {
		t.Run(name, func(t *testing.T) {
			switch name {
			case "intact but other":
				require.NoError(t, os.WriteFile(path, orig, 0o600))
				_, err := s.db.Exec("UPDATE exports SET sha256 = ? WHERE id = ?", strings.Repeat("0", 64), id)
				require.NoError(t, err)
			case "intact but longer":
				require.NoError(t, os.WriteFile(path, orig, 0o600))
				_, err := s.db.Exec("UPDATE exports SET size = size + 1 WHERE id = ?", id)
				require.NoError(t, err)
			default:
				require.NoError(t, os.WriteFile(path, b, 0o600))
			}
			_, err := readExport(t, s, u.ID, id)
			assert.ErrorIs(t, err, ErrExportDamaged)
		})
	}
	require.NoError(t, os.Remove(path))
	_, err = s.OpenExportFile(ctx, u.ID, id)
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorContains(t, err, "file missing")

	// A build whose file or record cannot be written.
	building, err := s.CreateExport(ctx, u.ID)
	require.NoError(t, err)
	require.NoError(t, s.SetExportProgress(ctx, building, 10))
	size, sum, err := s.WriteExportFile(ctx, u.ID, building, bytes.NewReader(p))
	require.NoError(t, err)
	lift := failOn(t, s, "UPDATE", "exports")
	err = s.FinishExport(ctx, building, size, sum)
	lift()
	assert.ErrorContains(t, err, "injected failure")
	j, err := s.Export(ctx, u.ID, building)
	require.NoError(t, err)
	assert.True(t, j.Active(), "not marked ready")

	require.NoError(t, os.RemoveAll(s.exportsDir()))
	require.NoError(t, os.WriteFile(s.exportsDir(), []byte("not a directory"), 0o600))
	_, _, err = s.WriteExportFile(ctx, u.ID, building, bytes.NewReader(p))
	assert.ErrorContains(t, err, "write export")
	err = s.FinishExport(ctx, building, size, sum)
	assert.ErrorContains(t, err, "finish export")
	assert.NotErrorIs(t, err, ErrNotFound)
	j, err = s.Export(ctx, u.ID, building)
	require.NoError(t, err)
	assert.True(t, j.Active(), "not marked ready")

	// A failure with no reason given is recorded as failed.
	require.NoError(t, os.Remove(s.exportsDir()))
	require.NoError(t, s.FailExport(ctx, building, ""))
	j, err = s.Export(ctx, u.ID, building)
	require.NoError(t, err)
	assert.Equal(t, ExportFailed, j.Status)
	assert.Equal(t, "failed", j.Error)
}

// TestRotateMasterKeyStopsOnRefusedWrite: whichever re-keying write the
// staged copy refuses (a data key, a blind index, the recovery codes, the
// name tags, the audit chain), the rotation stops with the cause, removes
// its stage and leaves the data under the old key.
func TestRotateMasterKeyStopsOnRefusedWrite(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct{ file, op, table string }{
		{KeysDBFile, "UPDATE", "data_keys"},
		{MainDBFile, "UPDATE", "users"},
		{MainDBFile, "DELETE", "recovery_codes"},
		{MainDBFile, "INSERT", "name_tags"},
		{MainDBFile, "UPDATE", "audit_log"},
	} {
		t.Run(tc.op+" "+tc.table, func(t *testing.T) {
			t.Parallel()
			f := newRotationFixture(t)
			execFile(t, filepath.Join(f.dir, tc.file), "CREATE TRIGGER injected BEFORE "+tc.op+" ON "+tc.table+
				" BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
			newKey := newMasterKey(t)
			_, err := RotateMasterKey(ctx, RotateMasterOptions{Dir: f.dir, OldKey: f.oldKey, NewKey: newKey, Clock: f.clock.Now})
			require.Error(t, err)
			assert.ErrorContains(t, err, "injected failure")
			assert.ErrorContains(t, err, "nothing was changed")
			noStageLeft(t, f, newKey)
		})
	}
}

// A case action whose update finds the case no longer open (closed by
// another request after it was read) is ErrCaseClosed and adds nothing
// to its history; a refused write of the identity check leaves the case
// as it was.
func TestCaseActionsOnACaseClosedMeanwhile(t *testing.T) {
	ctx := t.Context()
	s := newTestStore(t)
	u := createUser(t, s, newUser("requester"))
	c, err := s.CreateCase(ctx, NewCase{UserID: u.ID, Kind: CaseRectification, Details: "my name"})
	require.NoError(t, err)
	events := func() int { return count(t, s.db, "rights_case_events", "case_id = ?", c.ID) }
	before := events()

	_, err = s.db.Exec(`CREATE TRIGGER closed_meanwhile BEFORE UPDATE OF status ON rights_cases BEGIN SELECT RAISE(IGNORE); END`)
	require.NoError(t, err)
	_, err = s.UpdateCase(ctx, c.ID, "dpo", CaseRejected, "nothing to correct")
	assert.ErrorIs(t, err, ErrCaseClosed)
	_, err = s.RecordIdentityCheck(ctx, c.ID, "dpo", "ID card seen")
	assert.ErrorIs(t, err, ErrCaseClosed)
	assert.Equal(t, before, events())
	_, err = s.db.Exec(`DROP TRIGGER closed_meanwhile`)
	require.NoError(t, err)

	_, err = s.db.Exec(`CREATE TRIGGER refused BEFORE UPDATE OF identity_check ON rights_cases
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`)
	require.NoError(t, err)
	_, err = s.RecordIdentityCheck(ctx, c.ID, "dpo", "ID card seen")
	assert.ErrorContains(t, err, "injected failure")
	_, err = s.db.Exec(`DROP TRIGGER refused`)
	require.NoError(t, err)
	got, err := s.Case(ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, CaseOpen, got.Status)
	assert.Empty(t, got.IdentityCheck)
	assert.Equal(t, before, events())

	got, err = s.RecordIdentityCheck(ctx, c.ID, "dpo", "ID card seen")
	require.NoError(t, err)
	assert.Equal(t, CaseInProgress, got.Status)
	assert.Equal(t, "ID card seen", got.IdentityCheck)
}

// Acting on what does not exist is ErrNotFound, and on what is closed its
// conflict, with nothing written: never a success that changed nothing.
func TestUnknownAndClosedThingsAreRefused(t *testing.T) {
	ctx := t.Context()
	f := newTrainingFixture(t)
	s := f.s
	m, err := s.MemberByName(ctx, "SME Corporation Malaysia")
	require.NoError(t, err)
	audit0 := count(t, s.db, "audit_log")

	_, err = s.MemberByName(ctx, "No such Member")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = s.MassMailing(ctx, NewID())
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = s.Grant(ctx, NewID())
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorIs(t, s.RemoveStaff(ctx, m.ID, f.learner.ID), ErrNotFound, "not their staff")
	assert.ErrorIs(t, s.AddBreachNote(ctx, "dpo", NewID(), "note"), ErrNotFound)
	_, err = s.SavePolicyDraft(ctx, "dpo", PolicyDraft{ID: NewID(), Version: "2031-01", Summary: "s", BodyMD: "b", EffectiveAt: s.Now()})
	assert.ErrorIs(t, err, ErrNotFound, "an update of a draft that is not there")
	_, err = s.PublishPolicy(ctx, "dpo", NewID())
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorIs(t, s.ConfirmTOTP(ctx, f.learner.ID, 1, []string{"abcd-efgh-ijkl"}), ErrNotFound, "no secret was started")
	got, err := s.User(ctx, f.learner.ID)
	require.NoError(t, err)
	assert.False(t, got.TwoFactor)
	assert.Equal(t, audit0, count(t, s.db, "audit_log"), "nothing was audited")

	b, err := s.CreateBreach(ctx, "dpo", testBreach("list", "", f.learner.ID))
	require.NoError(t, err)
	require.NoError(t, s.CloseBreach(ctx, "dpo", b.ID, "Contained."))
	assert.ErrorIs(t, s.AddBreachNote(ctx, "dpo", b.ID, "late note"), ErrBreachClosed)

	c, err := s.CreateCase(ctx, NewCase{UserID: f.learner.ID, Kind: CaseRectification, Details: "d"})
	require.NoError(t, err)
	_, err = s.UpdateCase(ctx, c.ID, "dpo", CaseRejected, "no")
	require.NoError(t, err)
	_, err = s.RecordIdentityCheck(ctx, c.ID, "dpo", "ID card")
	assert.ErrorIs(t, err, ErrCaseClosed)
	erasure, err := s.CreateCase(ctx, NewCase{UserID: f.learner.ID, Kind: CaseErasure, Details: "d"})
	require.NoError(t, err)
	_, err = s.ReviewGrade(ctx, erasure.ID, "dpo", GradeDecision{AttemptID: NewID(), Reason: "r"})
	assert.ErrorIs(t, err, ErrErasureNotCarriedOut, "only the erasure completes an erasure case")

	// A mass mailing that ended with an error is failed, with its error.
	mm, err := s.CreateMassMailing(ctx, "announcement", f.course, f.sf.ID, nil)
	require.NoError(t, err)
	require.NoError(t, s.FinishMassMailing(ctx, mm.ID, "mail server refused"))
	mm, err = s.MassMailing(ctx, mm.ID)
	require.NoError(t, err)
	assert.Equal(t, MassFailed, mm.Status)
	assert.Equal(t, "mail server refused", mm.LastError)
}

// A journal line torn by a crash mid-write is cut off before the next
// append, so the chain goes on from the last whole line and verifies.
func TestTornJournalLineIsCutBeforeTheNextAppend(t *testing.T) {
	ctx := t.Context()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, nil)
	u := createUser(t, s, newUser("held"))
	_, err := s.SetLegalHold(ctx, "op", NewLegalHold{UserID: u.ID, Reason: "case 1"})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	path := filepath.Join(dir, JournalFile)
	before, err := readJournalFile(t, path, s.journalKey)
	require.NoError(t, err)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(t, err)
	_, err = f.WriteString(`{"t":"legal_holds","op":"put","k":[{"s":"torn`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	s = openTestStore(t, dir, key, nil)
	_, err = s.SetLegalHold(ctx, "op", NewLegalHold{UserID: u.ID, Reason: "case 2"})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	after, err := readJournalFile(t, path, s.journalKey)
	require.NoError(t, err, "the journal verifies")
	assert.Greater(t, after, before)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "torn")
}

// readJournalFile verifies the journal at path and counts its records.
func readJournalFile(t *testing.T, path string, key []byte) (int, error) {
	t.Helper()
	recs, _, err := readJournal(path, key)
	return len(recs), err
}
