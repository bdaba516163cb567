package app

import (
	"database/sql"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/jobs/smtptest"
	"kelas/store"
)

// rightsFixture: a registered learner (logged in, verified) and a privacy
// officer, with a real SMTP server.
type rightsFixture struct {
	ts      *testServer
	smtpd   *smtptest.Server
	learner *testServer
	user    store.User
	dpo     *testServer
	dpoUser store.User
}

func newRightsFixture(t *testing.T, mods ...func(*Config)) *rightsFixture {
	t.Helper()
	ts, smtpd := newMailTestServer(t, mods...)
	fx := &rightsFixture{ts: ts, smtpd: smtpd}
	fx.learner, fx.user = ts.person(t, "siti@example.org", store.RoleLearner, "")
	fx.dpo, fx.dpoUser = ts.person(t, "dpo@example.org", store.RoleOperator, "")
	require.NoError(t, ts.store.SetOperatorRole(t.Context(), fx.dpoUser.ID, store.RoleOperator, true))
	res := fx.dpo.signIn(t, fx.dpoUser.Email, "a long test password")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	return fx
}

func (fx *rightsFixture) caseStatus(t *testing.T, c *testServer, id string) string {
	t.Helper()
	res, body := c.get(t, "/rights/cases/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	return strings.TrimSpace(doc(t, body).Find(`[data-testid="case-status"]`).Text())
}

func caseID(t *testing.T, res *http.Response) string {
	t.Helper()
	loc := res.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "/rights/cases/"), loc)
	return strings.TrimPrefix(loc, "/rights/cases/")
}

func TestPrivacyNoticeIsGenerated(t *testing.T) {
	ts := newTestServer(t)
	res, body := ts.get(t, "/privacy")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	cats := d.Find(`[data-testid="notice-categories"] h3`).Text()
	for _, want := range []string{"Registration", "Profile", "Activity log", "Learning records", "Disclosures"} {
		assert.Contains(t, cats, want)
	}
	assert.Contains(t, d.Find(`[data-testid="notice-categories"]`).Text(), "surname", "items come from the data map")
	assert.Equal(t, 50, d.Find(`[data-testid="notice-members"] li`).Length(), "every Member is named")
	rules, err := ts.store.RetentionRules(t.Context())
	require.NoError(t, err)
	assert.Equal(t, len(rules), d.Find(`[data-testid="notice-retention"] li`).Length(), "the retention rules in force")
}

func TestRightsAccessShowsDisclosures(t *testing.T) {
	fx := newRightsFixture(t)
	res, body := fx.learner.get(t, "/rights/access")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="no-disclosures"]`).Length())
	assert.Contains(t, doc(t, body).Find(`[data-testid="access-registration"]`).Text(), "siti@example.org")

	res, _ = fx.dpo.postForm(t, "/console/learners/"+fx.user.ID, url.Values{"reason": {"checking a duplicate account report"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, body = fx.learner.get(t, "/rights/access")
	require.Equal(t, http.StatusOK, res.StatusCode)
	table := doc(t, body).Find(`[data-testid="access-disclosures"]`).Text()
	assert.Contains(t, table, "Platform operator")
	assert.Contains(t, table, "checking a duplicate account report")
	ds, err := fx.ts.store.Disclosures(t.Context(), fx.user.ID)
	require.NoError(t, err)
	assert.Len(t, ds, 1, "looking at one's own data is no disclosure")
}

func TestRectificationHandledByOfficer(t *testing.T) {
	fx := newRightsFixture(t)
	res, _ := fx.learner.postForm(t, "/rights/rectification", url.Values{"correction": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	res, _ = fx.learner.postForm(t, "/rights/rectification", url.Values{"correction": {"My certificate says Sity, it should be Siti."}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	id := caseID(t, res)
	assert.Equal(t, "Received", fx.caseStatus(t, fx.learner, id))

	// The officer sees it in the queue, and another learner cannot open it.
	res, body := fx.dpo.get(t, "/console/rights")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "/console/rights/"+id)
	other, _ := fx.ts.person(t, "other@example.org", store.RoleLearner, "")
	res, _ = other.get(t, "/rights/cases/"+id)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	res, _ = other.get(t, "/console/rights/"+id)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	res, _ = fx.learner.get(t, "/rights/cases/"+store.NewID())
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	res, _ = fx.learner.get(t, "/rights/cases/..%2f..%2fetc")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	res, _ = fx.dpo.postForm(t, "/console/rights/"+id, url.Values{"action": {"complete"}, "note": {"Certificate reissued with the right name."}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "Done", fx.caseStatus(t, fx.learner, id))
	_, body = fx.learner.get(t, "/rights/cases/"+id)
	assert.Contains(t, doc(t, body).Find(`[data-testid="case-history"]`).Text(), "Certificate reissued")
	fx.ts.deliver(t)
	mail := mailTo(t, lastMails(fx.smtpd, "Your request"), "siti@example.org")
	assert.Contains(t, mail.Text, "Certificate reissued with the right name.")
}

// lastMails returns the delivered mails whose subject contains s.
func lastMails(smtpd *smtptest.Server, s string) []smtptest.Mail {
	var out []smtptest.Mail
	for _, m := range smtpd.Messages() {
		if strings.Contains(m.Subject, s) {
			out = append(out, m)
		}
	}
	return out
}

func TestDeadlineExtensionToldToThePerson(t *testing.T) {
	fx := newRightsFixture(t)
	res, _ := fx.learner.postForm(t, "/rights/rectification", url.Values{"correction": {"Please fix my company name."}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	id := caseID(t, res)
	res, _ = fx.dpo.postForm(t, "/console/rights/"+id+"/extend", url.Values{"months": {"3"}, "reason": {"too long an extension"}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	res, _ = fx.dpo.postForm(t, "/console/rights/"+id+"/extend", url.Values{"months": {"2"}, "reason": {"We need the Member's records first."}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = fx.dpo.postForm(t, "/console/rights/"+id+"/extend", url.Values{"months": {"1"}, "reason": {"Once more, please."}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "extended once only")
	c, err := fx.ts.store.Case(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, store.DueDate(c.ReceivedAt, 2), c.DueAt)
	fx.ts.deliver(t)
	mail := mailTo(t, lastMails(fx.smtpd, "Your request"), "siti@example.org")
	assert.Contains(t, mail.Text, "We need the Member's records first.")
}

func TestOverdueAndReminders(t *testing.T) {
	fx := newRightsFixture(t)
	res, _ := fx.learner.postForm(t, "/rights/rectification", url.Values{"correction": {"Please fix my company name."}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	id := caseID(t, res)
	require.NoError(t, fx.ts.jobs.RunNow(t.Context(), "rights_reminders"))
	fx.ts.deliver(t)
	assert.Empty(t, lastMails(fx.smtpd, "Rights request due"), "not yet within five days")

	fx.ts.clock.Add(27 * 24 * time.Hour) // due in a day or four
	require.NoError(t, fx.ts.jobs.RunNow(t.Context(), "rights_reminders"))
	require.NoError(t, fx.ts.jobs.RunNow(t.Context(), "rights_reminders"))
	fx.ts.deliver(t)
	reminders := lastMails(fx.smtpd, "Rights request due")
	require.Len(t, reminders, 1, "one reminder, to the privacy officer")
	assert.Equal(t, []string{fx.dpoUser.Email}, reminders[0].To)

	fx.ts.clock.Add(10 * 24 * time.Hour)
	res, body := fx.dpo.get(t, "/console/rights?status=open&overdue=on")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "/console/rights/"+id)
	assert.Contains(t, doc(t, body).Find(`[data-testid="cases"]`).Text(), "overdue")
	res, body = fx.dpo.get(t, "/console/rights/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="overdue"]`).Length())
}

func TestErasureWithGraceCancelAndExecution(t *testing.T) {
	fx := newRightsFixture(t)
	ctx := t.Context()
	// Give her data in several places first.
	res, _ := fx.learner.postForm(t, "/rights/rectification", url.Values{"correction": {"Zyxwvu company name wrong"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	res, body := fx.learner.postForm(t, "/rights/erasure", url.Values{"password": {"wrong password"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "re-authentication first")
	assert.Contains(t, doc(t, body).Find(`[data-testid="error-password"]`).Text(), "not your password")
	res, _ = fx.learner.postForm(t, "/rights/erasure", url.Values{"password": {"a long test password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	first := caseID(t, res)
	res, _ = fx.learner.postForm(t, "/rights/erasure", url.Values{"password": {"a long test password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, first, caseID(t, res), "a second request shows the first")

	res, _ = fx.learner.postForm(t, "/rights/cases/"+first+"/cancel", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "Cancelled", fx.caseStatus(t, fx.learner, first))
	fx.ts.clock.Add(8 * 24 * time.Hour)
	require.NoError(t, fx.ts.jobs.RunNow(ctx, "erasures"))
	_, err := fx.ts.store.User(ctx, fx.user.ID)
	require.NoError(t, err, "a cancelled erasure does nothing")

	res, _ = fx.learner.postForm(t, "/rights/erasure", url.Values{"password": {"a long test password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	second := caseID(t, res)
	fx.ts.clock.Add(6 * 24 * time.Hour)
	require.NoError(t, fx.ts.jobs.RunNow(ctx, "erasures"))
	_, err = fx.ts.store.User(ctx, fx.user.ID)
	require.NoError(t, err, "still within the grace period")

	// Her wrapped data key, read from keys.db as stored: on disk now (the
	// control for the check after the erasure).
	keysDB, err := sql.Open("sqlite", "file:"+filepath.Join(fx.ts.app.cfg.DataDir, store.KeysDBFile)+"?mode=ro")
	require.NoError(t, err)
	var wrappedBefore []byte
	require.NoError(t, keysDB.QueryRow("SELECT wrapped FROM data_keys WHERE subject = ?", fx.user.ID).Scan(&wrappedBefore))
	require.NoError(t, keysDB.Close())
	require.NotEmpty(t, dataDirHolding(t, fx.ts.app.cfg.DataDir, string(wrappedBefore)), "control: the wrapped key is found before")

	fx.ts.clock.Add(2 * 24 * time.Hour)
	require.NoError(t, fx.ts.jobs.RunNow(ctx, "erasures"))
	_, err = fx.ts.store.User(ctx, fx.user.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "erased")
	c, err := fx.ts.store.Case(ctx, second)
	require.NoError(t, err)
	assert.Equal(t, store.CaseCompleted, c.Status, "the case stays as proof, completed")
	stones, err := fx.ts.store.Tombstones()
	require.NoError(t, err)
	require.Len(t, stones, 1)

	res, _ = fx.learner.get(t, "/rights")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "her session ended")

	fx.ts.deliver(t)
	done := mailTo(t, lastMails(fx.smtpd, "erased"), "siti@example.org")
	assert.Contains(t, done.Text, "erased")

	// Her fields were sealed before the erasure too; what makes them
	// unreadable is that her wrapped key is in no file any more, while it
	// was on disk before (the control, read before the erasure above).
	assert.Empty(t, dataDirHolding(t, fx.ts.app.cfg.DataDir, string(wrappedBefore)), "her wrapped data key is still on disk")
	for _, s := range []string{"siti@example.org", "Firstsiti", "Zyxwvu"} {
		assert.Empty(t, dataDirHolding(t, fx.ts.app.cfg.DataDir, s), "files holding %q", s)
	}
}

func TestRestrictionObjectionAndWithdrawal(t *testing.T) {
	fx := newRightsFixture(t)
	ctx := t.Context()
	res, _ := fx.learner.postForm(t, "/rights/restriction", url.Values{"restrict": {"on"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	on, err := fx.ts.store.Restricted(ctx, fx.user.ID)
	require.NoError(t, err)
	assert.True(t, on)
	res, body := fx.learner.get(t, "/rights")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="restricted"]`).Length())
	res, _ = fx.learner.postForm(t, "/rights/restriction", url.Values{"restrict": {"maybe"}})
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	res, _ = fx.learner.postForm(t, "/rights/restriction", url.Values{"restrict": {"off"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	on, err = fx.ts.store.Restricted(ctx, fx.user.ID)
	require.NoError(t, err)
	assert.False(t, on)

	require.NoError(t, fx.ts.store.SetConsents(ctx, fx.user.ID, true, true, "profile"))
	res, _ = fx.learner.postForm(t, "/rights/objections", url.Values{"object_feedback": {"on"}, "object_statistics": {"on"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	c, err := fx.ts.store.Consents(ctx, fx.user.ID)
	require.NoError(t, err)
	assert.True(t, c.NotifyNew, "not objected to")
	assert.False(t, c.Feedback)
	obj, err := fx.ts.store.Objections(ctx, fx.user.ID)
	require.NoError(t, err)
	assert.True(t, obj["statistics"])
	excluded, err := fx.ts.store.ExcludedFromStatistics(ctx, fx.user.ID)
	require.NoError(t, err)
	assert.True(t, excluded)

	res, _ = fx.learner.postForm(t, "/rights/withdraw", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	c, err = fx.ts.store.Consents(ctx, fx.user.ID)
	require.NoError(t, err)
	assert.False(t, c.NotifyNew)

	cases, err := fx.ts.store.Cases(ctx, store.CaseFilter{UserID: fx.user.ID})
	require.NoError(t, err)
	kinds := map[string]int{}
	for _, c := range cases {
		kinds[c.Kind]++
		assert.Equal(t, store.CaseCompleted, c.Status, "self-service rights are done at once and kept as cases")
	}
	assert.Equal(t, map[string]int{store.CaseRestriction: 2, store.CaseObjection: 1, store.CaseWithdrawConsent: 1}, kinds)
}

func TestHumanReviewOfAGrade(t *testing.T) {
	fx := newRightsFixture(t)
	staff, _ := fx.ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, fx.ts, "SME Corporation Malaysia"))
	id := createTraining(t, staff, trainingValues())
	res, _ := staff.postForm(t, "/console/trainings/"+id+"/questions", url.Values{"question_prompt": {"Which is right?"},
		"question_choice_1": {"a"}, "question_choice_2": {"b"}, "question_correct": {"1"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = fx.learner.postForm(t, "/trainings/"+id+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	qs, err := fx.ts.store.Quiz(t.Context(), id)
	require.NoError(t, err)
	res, _ = fx.learner.postForm(t, "/trainings/"+id+"/quiz", url.Values{"q_" + qs[0].ID: {qs[0].Choices[1].ID}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	attempts, err := fx.ts.store.Attempts(t.Context(), fx.user.ID)
	require.NoError(t, err)
	require.Len(t, attempts, 1)

	res, _ = fx.learner.postForm(t, "/rights/review", url.Values{"attempt": {store.NewID()}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "only one's own grades")
	res, _ = fx.learner.postForm(t, "/rights/review", url.Values{"attempt": {attempts[0].ID}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	c, err := fx.ts.store.Case(t.Context(), caseID(t, res))
	require.NoError(t, err)
	assert.Equal(t, store.CaseReview, c.Kind)
	assert.Contains(t, c.Details, "0%")
}

// TestOfficerLiftsARestriction: a restriction asked for as a request (not
// the self-service switch) is handled, and lifted, by the privacy officer.
func TestOfficerLiftsARestriction(t *testing.T) {
	fx := newRightsFixture(t)
	ctx := t.Context()
	require.NoError(t, fx.ts.store.SetRestricted(ctx, fx.user.ID, true))
	c, err := fx.ts.store.CreateCase(ctx, store.NewCase{UserID: fx.user.ID, Kind: store.CaseRestriction, Details: "Freeze until my complaint is settled."})
	require.NoError(t, err)
	res, _ := fx.dpo.postForm(t, "/console/rights/"+c.ID, url.Values{"action": {"lift"}, "note": {"The complaint is settled; processing resumes."}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	on, err := fx.ts.store.Restricted(ctx, fx.user.ID)
	require.NoError(t, err)
	assert.False(t, on)
	assert.Equal(t, "Done", fx.caseStatus(t, fx.learner, c.ID))
	res, _ = fx.dpo.postForm(t, "/console/rights/"+c.ID, url.Values{"action": {"lift"}})
	assert.Equal(t, http.StatusConflict, res.StatusCode, "a closed case does not change")
	entries, err := fx.ts.store.AuditLog(ctx, 50)
	require.NoError(t, err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	assert.Contains(t, actions, "rights.case.lift")
}

// TestLegalHoldPostponesErasure: a person under a legal hold is erased only
// once the hold is released.
func TestLegalHoldPostponesErasure(t *testing.T) {
	fx := newRightsFixture(t)
	ctx := t.Context()
	hold, err := fx.ts.store.SetLegalHold(ctx, fx.dpoUser.ID, store.NewLegalHold{UserID: fx.user.ID, Reason: "court order 12/2026"})
	require.NoError(t, err)
	res, _ := fx.learner.postForm(t, "/rights/erasure", url.Values{"password": {"a long test password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	id := caseID(t, res)
	fx.ts.clock.Add(8 * 24 * time.Hour)
	require.NoError(t, fx.ts.jobs.RunNow(ctx, "erasures"))
	require.NoError(t, fx.ts.jobs.RunNow(ctx, "erasures"))
	_, err = fx.ts.store.User(ctx, fx.user.ID)
	require.NoError(t, err, "held: not erased")
	c, err := fx.ts.store.Case(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, store.CaseInProgress, c.Status)
	notes := 0
	for _, e := range c.Events {
		if strings.Contains(e.Note, "legal hold") {
			notes++
		}
	}
	assert.Equal(t, 1, notes, "the person is told once")

	require.NoError(t, fx.ts.store.ReleaseLegalHold(ctx, fx.dpoUser.ID, hold.ID))
	require.NoError(t, fx.ts.jobs.RunNow(ctx, "erasures"))
	_, err = fx.ts.store.User(ctx, fx.user.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "erased once the hold is released")
}
