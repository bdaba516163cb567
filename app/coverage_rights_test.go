package app

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// letterFrom is a request received by letter yesterday from email.
func letterFrom(fx *rightsFixture, email, kind string) url.Values {
	return url.Values{"email": {email}, "kind": {kind}, "channel": {store.ChannelLetter},
		"received_on": {fx.ts.clock.Now().AddDate(0, 0, -1).Format(time.DateOnly)}, "details": {"Please act on my request."}}
}

// TestOfficerRecordsAnErasureByLetter: an erasure received by letter with
// the identity checked is scheduled after the grace period and the person
// is told; a second one while it is open, a date over a year old and a
// two-word identity note are refused on the form.
func TestOfficerRecordsAnErasureByLetter(t *testing.T) {
	fx := newRightsFixture(t)
	erasure := letterFrom(fx, fx.user.Email, store.CaseErasure)
	erasure.Set("identity", "Signature compared with the enrolment form.")

	for name, edit := range map[string]func(url.Values){
		"over a year ago": func(v url.Values) {
			v.Set("received_on", fx.ts.clock.Now().AddDate(-1, 0, -2).Format(time.DateOnly))
		},
		"identity in two letters": func(v url.Values) { v.Set("identity", "ok") },
	} {
		v := url.Values{}
		for k, vs := range erasure {
			v[k] = append([]string(nil), vs...)
		}
		edit(v)
		res, _ := fx.dpo.postForm(t, "/console/rights/new", v)
		assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, name)
	}

	id := fx.recordRequest(t, erasure)
	c := mustCase(t, fx, id)
	assert.Equal(t, store.CaseErasure, c.Kind)
	assert.True(t, c.ExecuteAfter.After(fx.ts.clock.Now()), "scheduled after the grace period")
	assert.Contains(t, outboxKinds(t, fx.ts), "erasure_scheduled")

	res, body := fx.dpo.postForm(t, "/console/rights/new", erasure)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-kind"]`).Text())
	cs, err := fx.ts.store.Cases(t.Context(), store.CaseFilter{UserID: fx.user.ID})
	require.NoError(t, err)
	assert.Len(t, cs, 1)

	// Steps that belong to other kinds of request conflict with an erasure.
	for _, step := range []string{"identity", "rectify", "grade", "export"} {
		res, _ := fx.dpo.postForm(t, "/console/rights/"+id+"/"+step, url.Values{"identity": {"Passport seen at the office."}})
		assert.Equal(t, http.StatusConflict, res.StatusCode, step)
	}
	assert.Equal(t, store.CaseOpen, mustCase(t, fx, id).Status)
}

// TestOfficerCaseFormsRefuseBadInput: a review decision without a valid
// grade, decision or reason, and an action that does not fit the kind,
// are refused on the form; an export on behalf of someone whose address is
// not confirmed is refused too, as the link would go to an unproven
// address.
func TestOfficerCaseFormsRefuseBadInput(t *testing.T) {
	fx := newRightsFixture(t)
	review := fx.recordRequest(t, letterFrom(fx, fx.user.Email, store.CaseReview))
	for name, v := range map[string]url.Values{
		"forged attempt":  {"attempt": {"x"}, "decision": {"keep"}, "grade_reason": {"Checked by hand."}},
		"no decision":     {"attempt": {store.NewID()}, "decision": {"maybe"}, "grade_reason": {"Checked by hand."}},
		"no reason given": {"attempt": {store.NewID()}, "decision": {"keep"}},
	} {
		res, _ := fx.dpo.postForm(t, "/console/rights/"+review+"/grade", v)
		assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, name)
	}
	res, _ := fx.dpo.postForm(t, "/console/rights/"+review, url.Values{"action": {"lift"}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "lifting is for restriction requests")
	res, _ = fx.dpo.postForm(t, "/console/rights/"+review+"/rectify", url.Values{"certificate": {"AAAAA-BBBBB-CCCCC-DDDDD"}, "holder_name": {"Siti Rahma"}})
	assert.Equal(t, http.StatusConflict, res.StatusCode, "rectifying is for rectification requests")
	assert.Equal(t, store.CaseOpen, mustCase(t, fx, review).Status)

	una := unverifiedAccount(t, fx.ts)
	access := fx.recordRequest(t, letterFrom(fx, una.Email, store.CaseAccess))
	res, body := fx.dpo.postForm(t, "/console/rights/"+access+"/export", nil)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-summary"] li`).Length())
	assert.Equal(t, store.CaseOpen, mustCase(t, fx, access).Status)
	exports, err := fx.ts.store.Exports(t.Context(), una.ID)
	require.NoError(t, err)
	assert.Empty(t, exports, "no export started")

	// The queue ignores a status it does not know rather than failing.
	res, _ = fx.dpo.get(t, "/console/rights?status=sideways&kind=nothing")
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

// TestRightsRequestsSurviveStoreFailures: when the database refuses the
// write behind a request, the person sees the error page and their
// choices are as they were.
func TestRightsRequestsSurviveStoreFailures(t *testing.T) {
	fx := newRightsFixture(t)
	ts, c, u := fx.ts, fx.learner, fx.user
	for _, s := range []struct {
		name, op, table, path string
		form                  url.Values
	}{
		{"restriction", "INSERT", "user_restrictions", "/rights/restriction", url.Values{"restrict": {"on"}}},
		{"restriction case", "INSERT", "rights_cases", "/rights/restriction", url.Values{"restrict": {"on"}}},
		{"objection", "INSERT", "user_consents", "/rights/objections", url.Values{}}, // wants new-training mails: a change
		{"objection to statistics", "INSERT", "user_objections", "/rights/objections",
			url.Values{"object_notify_new": {"on"}, "object_feedback": {"on"}, "object_statistics": {"on"}}},
		{"objection case", "INSERT", "rights_cases", "/rights/objections", url.Values{}},
		{"withdrawal", "INSERT", "rights_cases", "/rights/withdraw", url.Values{}},
	} {
		t.Run(s.name, func(t *testing.T) {
			fault(t, ts, s.op, s.table)
			n := injectedFailures(ts)
			res, body := c.postForm(t, s.path, s.form)
			failsInside(t, ts, n, res, body)
		})
	}
	obj, err := ts.store.Objections(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Empty(t, obj)
	cs, err := ts.store.Cases(t.Context(), store.CaseFilter{UserID: u.ID})
	require.NoError(t, err)
	assert.Empty(t, cs, "no case recorded")
}
