package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// The fixture's clock starts on 1 March 2026, 09:00 UTC; with the default
// grace period of seven days an erasure asked for then is scheduled for
// 8 March 2026, 09:00 UTC.
const scheduledFor = "Scheduled for 8 March 2026, 09:00 UTC."

// carryOut is the officer's confirmed "carry out now".
var carryOut = url.Values{"action": {"carry_out"}, "confirm": {"on"}}

// requestErasure has the learner ask for the erasure of her account and
// returns the case id.
func (fx *rightsFixture) requestErasure(t *testing.T) string {
	t.Helper()
	res, _ := fx.learner.postForm(t, "/rights/erasure", url.Values{"password": {"a long test password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	return caseID(t, res)
}

// erasureState reads where an erasure stands, as the page at path words it.
func erasureState(t *testing.T, c *testServer, path string) string {
	t.Helper()
	res, body := c.get(t, path)
	require.Equal(t, http.StatusOK, res.StatusCode, path)
	assert.NotContains(t, body, "Carried out", "%s: nothing is carried out before the erasure has run", path)
	return strings.TrimSpace(doc(t, body).Find(`[data-testid="erasure-state"]`).Text())
}

// assertUnchanged checks that the case still stands as the learner left it
// and that her account lives.
func (fx *rightsFixture) assertUnchanged(t *testing.T, id string, events int) {
	t.Helper()
	c, err := fx.ts.store.Case(t.Context(), id)
	require.NoError(t, err)
	assert.True(t, c.Open(), "the case is still open")
	assert.Len(t, c.Events, events, "nothing was added to the history")
	_, err = fx.ts.store.User(t.Context(), fx.user.ID)
	assert.NoError(t, err, "the account still exists")
}

// assertErased checks that the account is gone and the case completed at
// the time the erasure ran.
func (fx *rightsFixture) assertErased(t *testing.T, id string) store.Case {
	t.Helper()
	_, err := fx.ts.store.User(t.Context(), fx.user.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "erased")
	c, err := fx.ts.store.Case(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, store.CaseCompleted, c.Status)
	assert.Equal(t, fx.ts.clock.Now(), c.ClosedAt, "closed when the erasure ran")
	return c
}

// TestErasureCaseCannotBeMarkedDone: marking an erasure request done used
// to close the case, which took it out of the erasure job: the person was
// told "Done" and the account lived on. The plain actions are refused for
// erasure requests; the account goes when the job carries the erasure out.
func TestErasureCaseCannotBeMarkedDone(t *testing.T) {
	fx := newRightsFixture(t)
	ctx := t.Context()
	id := fx.requestErasure(t)
	fx.ts.deliver(t)
	sent := len(fx.smtpd.Messages())

	res, body := fx.dpo.get(t, "/console/rights/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	page := doc(t, body)
	for _, plain := range []string{"complete", "progress", "reject", "lift"} {
		assert.Zero(t, page.Find(`button[value="`+plain+`"]`).Length(), "%s is not offered", plain)
	}
	assert.Equal(t, 1, page.Find(`[data-testid="case-carry-out"] button[value="carry_out"]`).Length())
	assert.Equal(t, 1, page.Find(`[data-testid="case-action"] button[value="refuse"]`).Length())

	for _, action := range []string{"complete", "progress", "reject", "lift", "erase", ""} {
		res, body := fx.dpo.postForm(t, "/console/rights/"+id, url.Values{"action": {action}, "note": {"Handled."}})
		assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "action %q", action)
		assert.Contains(t, doc(t, body).Find(`[data-testid="error-summary"]`).Text(), "carry it out now", "action %q", action)
	}
	res, _ = fx.dpo.postForm(t, "/console/rights/"+store.NewID(), carryOut)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "a forged case id")
	res, _ = fx.dpo.postForm(t, "/console/rights/not-an-id", carryOut)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	fx.assertUnchanged(t, id, 1)
	fx.ts.deliver(t)
	assert.Len(t, fx.smtpd.Messages(), sent, "nobody was told anything")

	// The store refuses too, whoever asks.
	_, err := fx.ts.store.UpdateCase(ctx, id, fx.dpoUser.ID, store.CaseCompleted, "")
	require.ErrorIs(t, err, store.ErrErasureNotCarriedOut)

	// The job carries it out when the grace period ends, and not before.
	fx.ts.clock.Add(7*24*time.Hour - time.Minute)
	require.NoError(t, fx.ts.jobs.RunNow(ctx, "erasures"))
	fx.assertUnchanged(t, id, 1)
	fx.ts.clock.Add(time.Minute)
	require.NoError(t, fx.ts.jobs.RunNow(ctx, "erasures"))
	fx.assertErased(t, id)
	fx.ts.deliver(t)
	assert.Contains(t, mailTo(t, lastMails(fx.smtpd, "erased"), fx.user.Email).Text, "your kelas account and the data linked to it are erased")

	res, body = fx.dpo.get(t, "/console/rights/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "Carried out on 8 March 2026, 09:00 UTC.", strings.TrimSpace(doc(t, body).Find(`[data-testid="erasure-state"]`).Text()))
	assert.Zero(t, doc(t, body).Find(`[data-testid="case-action"]`).Length(), "nothing left to do")
}

// TestErasureRefusedWithAReason: the officer refuses an erasure on a legal
// ground, which the person is told; the account stays, also after the
// grace period.
func TestErasureRefusedWithAReason(t *testing.T) {
	fx := newRightsFixture(t)
	ctx := t.Context()
	id := fx.requestErasure(t)

	res, body := fx.dpo.postForm(t, "/console/rights/"+id, url.Values{"action": {"refuse"}, "note": {"  "}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "a refusal needs its legal reason")
	assert.Contains(t, doc(t, body).Find(`[data-testid="error-note"]`).Text(), "legal reason")
	fx.assertUnchanged(t, id, 1)

	const reason = "We must keep your training records until the dispute you raised (reference 7/2026) is settled: Art. 17(3)(e) GDPR."
	res, _ = fx.dpo.postForm(t, "/console/rights/"+id, url.Values{"action": {"refuse"}, "note": {reason}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	c, err := fx.ts.store.Case(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, store.CaseRejected, c.Status)

	assert.Equal(t, "Refused.", erasureState(t, fx.learner, "/rights/cases/"+id))
	assert.Equal(t, "Refused", fx.caseStatus(t, fx.learner, id))
	assert.Equal(t, "Refused.", erasureState(t, fx.dpo, "/console/rights/"+id))
	res, body = fx.learner.get(t, "/rights")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Zero(t, doc(t, body).Find(`[data-testid="erasure-pending"]`).Length())
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="erasure-form"]`).Length(), "she may ask again")

	fx.ts.deliver(t)
	mail := mailTo(t, lastMails(fx.smtpd, "Your request: Erasure"), fx.user.Email)
	assert.Contains(t, mail.Text, "refused")
	assert.Contains(t, mail.Text, reason)

	fx.ts.clock.Add(30 * 24 * time.Hour)
	require.NoError(t, fx.ts.jobs.RunNow(ctx, "erasures"))
	_, err = fx.ts.store.User(ctx, fx.user.ID)
	require.NoError(t, err, "a refused erasure is not carried out")
	res, _ = fx.dpo.postForm(t, "/console/rights/"+id, carryOut)
	assert.Equal(t, http.StatusConflict, res.StatusCode, "a closed case is not carried out")
	_, err = fx.ts.store.User(ctx, fx.user.ID)
	require.NoError(t, err)
}

// TestErasureCarriedOutNow: once the request exists the officer may carry
// it out before the grace period ends; the account goes at that moment and
// the case says when.
func TestErasureCarriedOutNow(t *testing.T) {
	fx := newRightsFixture(t)
	ctx := t.Context()
	id := fx.requestErasure(t)
	fx.ts.clock.Add(90 * time.Minute)

	res, body := fx.dpo.postForm(t, "/console/rights/"+id, url.Values{"action": {"carry_out"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "confirmed first")
	assert.Contains(t, doc(t, body).Find(`[data-testid="error-confirm"]`).Text(), "cannot be undone")
	fx.assertUnchanged(t, id, 1)
	res, _ = fx.dpo.postForm(t, "/console/rights/"+id, carryOut)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/console/rights/"+id, res.Header.Get("Location"))
	c := fx.assertErased(t, id)
	assert.Equal(t, time.Date(2026, 3, 8, 9, 0, 0, 0, time.UTC), c.ExecuteAfter, "ahead of the schedule")

	res, _ = fx.learner.get(t, "/rights")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "her session ended")
	fx.ts.deliver(t)
	done := mailTo(t, lastMails(fx.smtpd, "erased"), fx.user.Email)
	assert.Contains(t, done.Text, "This is the last message you receive from us.")

	res, body = fx.dpo.get(t, "/console/rights/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Equal(t, "Carried out on 1 March 2026, 10:30 UTC.", strings.TrimSpace(d.Find(`[data-testid="erasure-state"]`).Text()))
	assert.Equal(t, "Carried out", strings.TrimSpace(d.Find(`[data-testid="case-status"]`).Text()))
	assert.NotContains(t, d.Find(`[data-testid="case"]`).Text(), "Scheduled")

	for _, action := range []string{"carry_out", "refuse"} {
		res, _ = fx.dpo.postForm(t, "/console/rights/"+id, url.Values{"action": {action}, "note": {"again"}, "confirm": {"on"}})
		assert.Equal(t, http.StatusConflict, res.StatusCode, action)
	}
	got, err := fx.ts.store.Case(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, c.Events, got.Events, "a closed case does not change")

	require.NoError(t, fx.ts.jobs.RunNow(ctx, "erasures"))
	stones, err := fx.ts.store.Tombstones()
	require.NoError(t, err)
	assert.Len(t, stones, 1, "erased once")
	entries, err := fx.ts.store.AuditLog(ctx, 50)
	require.NoError(t, err)
	byAction := map[string]string{}
	for _, e := range entries {
		byAction[e.Action] = e.ActorID
	}
	assert.Equal(t, fx.dpoUser.ID, byAction["rights.erasure.done"], "the officer carried it out")
}

// TestCarryOutNowUnderLegalHold: a hold on the person blocks carrying the
// erasure out, at the moment it is asked for; the officer is told which
// hold, and the wording says the erasure waits for it.
func TestCarryOutNowUnderLegalHold(t *testing.T) {
	fx := newRightsFixture(t)
	ctx := t.Context()
	id := fx.requestErasure(t)
	hold, err := fx.ts.store.SetLegalHold(ctx, fx.dpoUser.ID, store.NewLegalHold{UserID: fx.user.ID, Reason: "court order 12/2026"})
	require.NoError(t, err)

	const onHold = "On hold until the hold ends."
	assert.Equal(t, onHold, erasureState(t, fx.learner, "/rights/cases/"+id))
	assert.Equal(t, "On hold", fx.caseStatus(t, fx.learner, id))
	assert.Equal(t, onHold, erasureState(t, fx.dpo, "/console/rights/"+id))
	res, body := fx.learner.get(t, "/rights")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="erasure-pending"]`).Text(), "on hold until the hold ends")

	res, body = fx.dpo.postForm(t, "/console/rights/"+id, carryOut)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	msg := doc(t, body).Find(`[data-testid="error-summary"]`).Text()
	assert.Contains(t, msg, "court order 12/2026")
	assert.Contains(t, msg, hold.ID[:8])
	fx.assertUnchanged(t, id, 1)

	// The job, when the grace period ends, waits too and tells her once.
	fx.ts.clock.Add(8 * 24 * time.Hour)
	require.NoError(t, fx.ts.jobs.RunNow(ctx, "erasures"))
	require.NoError(t, fx.ts.jobs.RunNow(ctx, "erasures"))
	fx.assertUnchanged(t, id, 2)
	fx.ts.deliver(t)
	mail := mailTo(t, lastMails(fx.smtpd, "Your request: Erasure"), fx.user.Email)
	assert.Contains(t, mail.Text, "Erasure): On hold.")
	assert.NotContains(t, mail.Text, "court order", "the hold's reason is for the officer")

	require.NoError(t, fx.ts.store.ReleaseLegalHold(ctx, fx.dpoUser.ID, hold.ID))
	assert.Equal(t, "Scheduled for the next run of the erasure job, within the hour.", erasureState(t, fx.learner, "/rights/cases/"+id))
	res, _ = fx.dpo.postForm(t, "/console/rights/"+id, carryOut)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	fx.assertErased(t, id)
}

// TestErasureScheduledWordingAndMail: a pending erasure reads "scheduled
// for" everywhere, never "carried out", and the person is mailed the date
// with the way to cancel.
func TestErasureScheduledWordingAndMail(t *testing.T) {
	fx := newRightsFixture(t)
	res, _ := fx.learner.postForm(t, "/rights/erasure", url.Values{"password": {"a long test password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	id := caseID(t, res)
	res, body := fx.learner.get(t, "/rights/cases/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="flash"]`).Text(), "8 March 2026")

	assert.Equal(t, scheduledFor, erasureState(t, fx.learner, "/rights/cases/"+id))
	assert.Equal(t, "Scheduled", fx.caseStatus(t, fx.learner, id))
	assert.Equal(t, scheduledFor, erasureState(t, fx.dpo, "/console/rights/"+id))
	res, body = fx.learner.get(t, "/rights")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="erasure-pending"]`).Text(), scheduledFor)
	assert.NotContains(t, body, "Carried out")
	res, body = fx.dpo.get(t, "/console/rights?kind=erasure")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="cases"] tbody td`).Text(), "Scheduled")

	fx.ts.deliver(t)
	mail := mailTo(t, lastMails(fx.smtpd, "erasure is scheduled"), fx.user.Email)
	assert.Contains(t, mail.Text, "8 March 2026, 09:00 UTC")
	assert.Empty(t, lastMails(fx.smtpd, "erased"), "not erased yet")
	link := linkIn(t, mail, "/rights/cases/")
	assert.Equal(t, "/rights/cases/"+id, link)
	res, body = fx.learner.get(t, link)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`form[action="/rights/cases/`+id+`/cancel"]`).Length(), "the link leads to the cancel button")
	res, _ = fx.learner.postForm(t, "/rights/cases/"+id+"/cancel", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "Cancelled.", erasureState(t, fx.learner, "/rights/cases/"+id))
	assert.Equal(t, "Cancelled.", erasureState(t, fx.dpo, "/console/rights/"+id))
}

// TestErasureGraceZero: KELAS_ERASURE_GRACE=0 means the erasure job's next
// run, and every message says so instead of a date or "0 days".
func TestErasureGraceZero(t *testing.T) {
	fx := newRightsFixture(t, func(c *Config) {
		zero := time.Duration(0)
		c.ErasureGrace = &zero
	})
	ctx := t.Context()
	const nextRun = "at the next run of the erasure job"
	for path, part := range map[string]string{"/privacy": `[data-testid="notice-rights"]`, "/rights": "#erasure"} {
		res, body := fx.learner.get(t, path)
		require.Equal(t, http.StatusOK, res.StatusCode)
		text := doc(t, body).Find(part).Text()
		assert.Contains(t, text, nextRun, path)
		assert.NotContains(t, text, "0 days", path)
	}

	res, _ := fx.learner.postForm(t, "/rights/erasure", url.Values{"password": {"a long test password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	id := caseID(t, res)
	res, body := fx.learner.get(t, "/rights/cases/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Contains(t, d.Find(`[data-testid="flash"]`).Text(), nextRun)
	assert.Contains(t, d.Find(`[data-testid="case-history"]`).Text(), nextRun)
	assert.Equal(t, "Scheduled for the next run of the erasure job, within the hour.", erasureState(t, fx.learner, "/rights/cases/"+id))
	fx.ts.deliver(t)
	mail := mailTo(t, lastMails(fx.smtpd, "erasure is scheduled"), fx.user.Email)
	assert.Contains(t, mail.Text, nextRun)
	assert.NotContains(t, mail.Text, "1 March 2026")

	require.NoError(t, fx.ts.jobs.RunNow(ctx, "erasures"), "the next run, without any time passing")
	fx.assertErased(t, id)
}
