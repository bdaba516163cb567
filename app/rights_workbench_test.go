package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// learnerRecords gives the fixture's learner a certificate (a passed
// training) and a failed quiz grade in another training; it returns the
// certificate code and the failed attempt.
func (fx *rightsFixture) learnerRecords(t *testing.T) (string, store.AttemptSummary) {
	t.Helper()
	ctx := t.Context()
	st := fx.ts.store
	m := member(t, fx.ts, "SME Corporation Malaysia")
	mk := func(title string) (store.Training, store.Question) {
		tr, err := st.CreateTraining(ctx, m, "", store.TrainingInput{Title: title, Summary: "s", Language: "en",
			Kind: store.KindSelfStudy, PassMark: 60, Published: true})
		require.NoError(t, err)
		q, err := st.AddQuestion(ctx, tr.ID, "Which?", []store.Choice{{Label: "a", Correct: true}, {Label: "b"}})
		require.NoError(t, err)
		require.NoError(t, st.Enrol(ctx, fx.user.ID, tr.ID))
		return tr, q
	}
	passed, q := mk("Bookkeeping")
	_, err := st.SubmitQuiz(ctx, fx.user.ID, passed, map[string]string{q.ID: q.Choices[0].ID})
	require.NoError(t, err)
	cert, err := st.CompleteIfDone(ctx, fx.user.ID, passed.ID)
	require.NoError(t, err)
	require.NotNil(t, cert)
	failed, q2 := mk("Export paperwork")
	_, err = st.SubmitQuiz(ctx, fx.user.ID, failed, map[string]string{q2.ID: q2.Choices[1].ID})
	require.NoError(t, err)
	as, err := st.Attempts(ctx, fx.user.ID)
	require.NoError(t, err)
	for _, a := range as {
		if a.TrainingID == failed.ID {
			return cert.Code, a
		}
	}
	t.Fatal("no failed attempt")
	return "", store.AttemptSummary{}
}

// recordRequest has the officer record a request from outside the portal
// and returns the case id.
func (fx *rightsFixture) recordRequest(t *testing.T, v url.Values) string {
	t.Helper()
	res, body := fx.dpo.postForm(t, "/console/rights/new", v)
	require.Equal(t, http.StatusSeeOther, res.StatusCode, body)
	loc := res.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "/console/rights/"), loc)
	return strings.TrimPrefix(loc, "/console/rights/")
}

// history is the case history as the person sees it.
func (fx *rightsFixture) history(t *testing.T, id string) string {
	t.Helper()
	res, body := fx.learner.get(t, "/rights/cases/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	return doc(t, body).Find(`[data-testid="case-history"]`).Text()
}

// TestOfficerWorkbenchEndToEnd: a request that came by letter is recorded,
// the identity verified, a certificate name rectified, a reviewed grade
// changed, an export made on the person's behalf and a request declined;
// each mails the person and is in their history and the audit log.
func TestOfficerWorkbenchEndToEnd(t *testing.T) {
	fx := newRightsFixture(t)
	ctx := t.Context()
	code, attempt := fx.learnerRecords(t)
	now := fx.ts.clock.Now()
	casesOf := func() int {
		cs, err := fx.ts.store.Cases(ctx, store.CaseFilter{UserID: fx.user.ID})
		require.NoError(t, err)
		return len(cs)
	}

	res, body := fx.dpo.get(t, "/console/rights/new")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`form[data-testid="rights-new"] textarea[name="details"]`).Length())

	// Bad input: 422 with a message per field, nothing recorded.
	letter := url.Values{"email": {"siti@example.org"}, "kind": {store.CaseRectification}, "channel": {store.ChannelLetter},
		"received_on": {now.AddDate(0, 0, -3).Format(time.DateOnly)}, "details": {"My certificate says Sity; it should be Siti Rahma."}}
	for name, tc := range map[string]struct {
		edit  func(url.Values)
		field string
	}{
		"unknown person":   {func(v url.Values) { v.Set("email", "nobody@example.org") }, "email"},
		"bad channel":      {func(v url.Values) { v.Set("channel", "portal") }, "channel"},
		"future date":      {func(v url.Values) { v.Set("received_on", now.AddDate(0, 0, 2).Format(time.DateOnly)) }, "received_on"},
		"no date":          {func(v url.Values) { v.Del("received_on") }, "received_on"},
		"no words":         {func(v url.Values) { v.Set("details", " ") }, "details"},
		"erasure unproven": {func(v url.Values) { v.Set("kind", store.CaseErasure) }, "identity"},
	} {
		v := url.Values{}
		for k, vs := range letter {
			v[k] = append([]string(nil), vs...)
		}
		tc.edit(v)
		res, body := fx.dpo.postForm(t, "/console/rights/new", v)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, name)
		assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-`+tc.field+`"]`).Text(), name)
	}
	require.Zero(t, casesOf(), "nothing recorded")

	// 1. The letter, received three days ago: the deadline counts from then.
	id := fx.recordRequest(t, letter)
	c, err := fx.ts.store.Case(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, store.ChannelLetter, c.Channel)
	assert.Equal(t, fx.dpoUser.ID, c.RecordedBy)
	assert.Equal(t, "2026-02-26", c.ReceivedAt.Format(time.DateOnly))
	assert.Equal(t, "2026-03-26", c.DueAt.Format(time.DateOnly), "one month after receipt, not after recording")
	assert.Contains(t, fx.history(t, id), "Request received by letter on 26 February 2026")

	// The case page names the person, and opening it is a disclosure.
	res, body = fx.dpo.get(t, "/console/rights/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	page := doc(t, body)
	assert.Equal(t, "Firstsiti Tester", strings.TrimSpace(page.Find(`[data-testid="case-person-name"]`).Text()))
	assert.Contains(t, page.Find(`[data-testid="case-person-email"]`).Text(), "siti@example.org")
	assert.Contains(t, page.Find(`[data-testid="case-identity"]`).Text(), "Not verified yet")
	assert.Contains(t, page.Find(`[data-testid="case-rectify"] select[name="certificate"]`).Text(), code)
	ds, err := fx.ts.store.Disclosures(ctx, fx.user.ID)
	require.NoError(t, err)
	require.NotEmpty(t, ds)
	assert.Equal(t, store.ViewRightsCase, ds[0].View)

	// 2. Identity verified.
	res, _ = fx.dpo.postForm(t, "/console/rights/"+id+"/identity", url.Values{"identity": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	res, _ = fx.dpo.postForm(t, "/console/rights/"+id+"/identity", url.Values{"identity": {"Signature compared with the enrolment form; call-back to the registered mobile."}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Contains(t, fx.history(t, id), "Identity verified: Signature compared")

	// 3. The certificate name: a forged certificate is a field error.
	events := len(mustCase(t, fx, id).Events)
	res, body = fx.dpo.postForm(t, "/console/rights/"+id+"/rectify", url.Values{"certificate": {"AAAAA-BBBBB-CCCCC-DDDDD"}, "holder_name": {"Siti Rahma"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-certificate"]`).Text())
	res, _ = fx.dpo.postForm(t, "/console/rights/"+id+"/rectify", url.Values{"certificate": {code}, "holder_name": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	require.Len(t, mustCase(t, fx, id).Events, events, "nothing changed")
	res, _ = fx.dpo.postForm(t, "/console/rights/"+id+"/rectify", url.Values{"certificate": {code}, "holder_name": {"Siti Rahma"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	cert, err := fx.ts.store.CertificateByCode(ctx, code)
	require.NoError(t, err)
	assert.Equal(t, "Siti Rahma", cert.HolderName)
	assert.Contains(t, fx.history(t, id), `corrected from "Firstsiti Tester" to "Siti Rahma"`, "before and after")
	res, _ = fx.dpo.postForm(t, "/console/rights/"+id, url.Values{"action": {"complete"}, "note": {"The certificate is corrected."}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	// 4. A grade review asked for in the portal, changed by the officer.
	res, _ = fx.learner.postForm(t, "/rights/review", url.Values{"attempt": {attempt.ID}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	review := caseID(t, res)
	res, body = fx.dpo.postForm(t, "/console/rights/"+review+"/grade", url.Values{"attempt": {attempt.ID}, "decision": {"change"}, "score": {"140"}, "grade_reason": {"x"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-score"]`).Text())
	res, _ = fx.dpo.postForm(t, "/console/rights/"+review+"/grade", url.Values{"attempt": {store.NewID()}, "decision": {"keep"}, "grade_reason": {"Checked."}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "a forged attempt")
	const why = "Your second answer is also accepted in the course material."
	res, _ = fx.dpo.postForm(t, "/console/rights/"+review+"/grade", url.Values{"attempt": {attempt.ID}, "decision": {"change"}, "score": {"100"}, "grade_reason": {why}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	as, err := fx.ts.store.Attempts(ctx, fx.user.ID)
	require.NoError(t, err)
	for _, a := range as {
		if a.ID == attempt.ID {
			assert.Equal(t, 100, a.Score)
			assert.True(t, a.Passed)
		}
	}
	assert.Equal(t, store.CaseCompleted, mustCase(t, fx, review).Status)
	assert.Contains(t, fx.history(t, review), "changed from 0% to 100% (passed). Reason: "+why)

	// 5. An export asked for by email, made on the person's behalf.
	exp := fx.recordRequest(t, url.Values{"email": {"siti@example.org"}, "kind": {store.CasePortability}, "channel": {store.ChannelEmail},
		"received_on": {now.Format(time.DateOnly)}, "identity": {"Sent from the account's confirmed address."}, "details": {"Please send me all my data."}})
	res, _ = fx.dpo.postForm(t, "/console/rights/"+exp+"/export", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.NoError(t, fx.ts.jobs.WaitExports(ctx))
	job, err := fx.ts.store.LatestExport(ctx, fx.user.ID)
	require.NoError(t, err)
	assert.Equal(t, store.CaseCompleted, mustCase(t, fx, exp).Status)
	assert.Contains(t, fx.history(t, exp), "prepared on your behalf")

	// 6. One declined, with the reason.
	dec := fx.recordRequest(t, url.Values{"email": {"siti@example.org"}, "kind": {store.CaseObjection}, "channel": {store.ChannelPhone},
		"received_on": {now.Format(time.DateOnly)}, "identity": {"Call-back to the registered mobile."}, "details": {"Stop using my grades."}})
	res, _ = fx.dpo.postForm(t, "/console/rights/"+dec, url.Values{"action": {"reject"}, "note": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	const declined = "Grades are kept to issue your certificates; that is not a processing you can object to."
	res, _ = fx.dpo.postForm(t, "/console/rights/"+dec, url.Values{"action": {"reject"}, "note": {declined}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Contains(t, fx.history(t, dec), declined)

	// Each step mailed the person.
	fx.ts.deliver(t)
	var texts []string
	for _, m := range fx.smtpd.Messages() {
		if len(m.To) == 1 && m.To[0] == "siti@example.org" {
			texts = append(texts, m.Subject+"\n"+m.Text)
		}
	}
	all := strings.Join(texts, "\n----\n")
	for _, want := range []string{"received your request by letter on 26 February 2026", "verified that the request is yours",
		"now reads: Siti Rahma", "changed from 0% to 100%", "/rights/export/" + job.ID, declined} {
		assert.Contains(t, all, want)
	}

	// And each is in the person's list of requests and in the audit log.
	res, body = fx.learner.get(t, "/rights")
	require.Equal(t, http.StatusOK, res.StatusCode)
	for _, cid := range []string{id, review, exp, dec} {
		assert.Contains(t, body, "/rights/cases/"+cid)
	}
	entries, err := fx.ts.store.AuditLog(ctx, 100)
	require.NoError(t, err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	for _, a := range []string{"rights.case.record", "rights.case.identity", "rights.case.rectify", "rights.case.grade", "rights.case.export", "rights.case.reject"} {
		assert.Contains(t, actions, a)
	}
	// No name leaves the sealed case history for the audit log.
	for _, e := range entries {
		assert.NotContains(t, fmt.Sprint(e.Details), "Siti Rahma")
	}
}

func mustCase(t *testing.T, fx *rightsFixture, id string) store.Case {
	t.Helper()
	c, err := fx.ts.store.Case(t.Context(), id)
	require.NoError(t, err)
	return c
}

// TestOfficerRestrictsOnRequest: a restriction asked for by phone is applied
// by the officer, and the person told.
func TestOfficerRestrictsOnRequest(t *testing.T) {
	fx := newRightsFixture(t)
	ctx := t.Context()
	id := fx.recordRequest(t, url.Values{"email": {"siti@example.org"}, "kind": {store.CaseRestriction}, "channel": {store.ChannelPhone},
		"received_on": {fx.ts.clock.Now().Format(time.DateOnly)}, "identity": {"Call-back to the registered mobile."}, "details": {"Freeze my data."}})
	res, _ := fx.dpo.postForm(t, "/console/rights/"+id, url.Values{"action": {"restrict"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	on, err := fx.ts.store.Restricted(ctx, fx.user.ID)
	require.NoError(t, err)
	assert.True(t, on)
	assert.Contains(t, fx.history(t, id), "Processing of your data is restricted")
	res, _ = fx.dpo.postForm(t, "/console/rights/"+id, url.Values{"action": {"lift"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	on, err = fx.ts.store.Restricted(ctx, fx.user.ID)
	require.NoError(t, err)
	assert.False(t, on)
	// Actions that do not fit the kind are refused.
	res, _ = fx.dpo.postForm(t, "/console/rights/"+store.NewID()+"/rectify", url.Values{"certificate": {"AAAAA-BBBBB-CCCCC-DDDDD"}, "holder_name": {"X Y"}})
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "a forged case id")
}
