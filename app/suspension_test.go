package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestSuspensionEndsSessionsAndLoginSaysWhy: an operator suspends a
// learner with a reason: the learner's open session ends at once, they
// are mailed the reason and where to object, and the login form tells
// them the same; lifting it lets them in again. Staff cannot suspend.
func TestSuspensionEndsSessionsAndLoginSaysWhy(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	learner, u := ts.person(t, "learner@example.org", store.RoleLearner, "")
	st, err := ts.store.Settings(t.Context())
	require.NoError(t, err)
	_, err = ts.store.SaveSettings(t.Context(), "x", st.Revision, map[string]string{store.SettingDPOEmail: "dpo@example.org"})
	require.NoError(t, err)
	res, _ := learner.get(t, "/dashboard")
	require.Equal(t, http.StatusOK, res.StatusCode)

	// The panel is on the learner's record, for operators.
	res, body := op.postForm(t, "/console/learners/"+u.ID, url.Values{"reason": {"Checking a complaint about spam"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`form[action="/console/learners/`+u.ID+`/suspend"]`).Length())

	res, _ = op.postForm(t, "/console/learners/"+u.ID+"/suspend", url.Values{"reason": {"short"}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "a reason the person can understand is needed")
	res, _ = op.postForm(t, "/console/learners/"+u.ID+"/suspend", url.Values{"reason": {"You sent advertising to every learner of your training."}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	res, _ = learner.get(t, "/dashboard")
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "the open session has ended")
	assert.Contains(t, res.Header.Get("Location"), "/login")

	ts.deliver(t)
	m := mailTo(t, smtpd.WaitFor(t, 1), "learner@example.org")
	assert.Contains(t, m.Subject, "suspended")
	assert.Contains(t, m.Text, "You sent advertising to every learner of your training.")
	assert.Contains(t, m.Text, "dpo@example.org", "where to object")

	c := ts.newClient(t)
	res, body = c.postForm(t, "/login", url.Values{"email": {"learner@example.org"}, "password": {"a long test password"}})
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	msg := doc(t, body).Find(`[data-testid="error-password"]`).Text()
	assert.Contains(t, msg, "This account is suspended: You sent advertising")
	assert.Contains(t, msg, "dpo@example.org")
	res, body = c.postForm(t, "/login", url.Values{"email": {"learner@example.org"}, "password": {"a wrong password 123"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotContains(t, body, "suspended", "without the password nothing is told")

	res, body = op.postForm(t, "/console/learners/"+u.ID, url.Values{"reason": {"Checking a complaint about spam"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="suspended"]`).Text(), "You sent advertising")
	res, _ = op.postForm(t, "/console/learners/"+u.ID+"/reinstate", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = c.postForm(t, "/login", url.Values{"email": {"learner@example.org"}, "password": {"a long test password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "in again")
	assert.False(t, strings.Contains(res.Header.Get("Location"), "/login"))
}
