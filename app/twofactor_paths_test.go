package app

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestRecoveryCodesReplaced: new recovery codes need the second factor;
// once replaced, the old codes no longer log in and the new ones do.
func TestRecoveryCodesReplaced(t *testing.T) {
	ts := newTestServer(t)
	learner, u := ts.person(t, "learner@example.org", store.RoleLearner, "")
	old := enrolOverHTTP(t, learner)
	learner.uid = u.ID

	res, body := learner.postForm(t, "/profile/2fa", url.Values{"action": {"codes"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "the code is asked")
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-code"]`).Text())
	res, body = learner.postForm(t, "/profile/2fa", url.Values{"action": {"codes"}, "code": {learner.code(t)}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	var fresh []string
	doc(t, body).Find(`[data-testid="recovery-code"]`).Each(func(_ int, s *goquery.Selection) { fresh = append(fresh, s.Text()) })
	require.Len(t, fresh, recoveryCodeCount)
	assert.NotContains(t, fresh, old[0])

	login := func(code string) *http.Response {
		c := ts.newClient(t)
		res, _ := c.postForm(t, "/login", url.Values{"email": {u.Email}, "password": {"a long test password"}})
		require.Equal(t, "/login/2fa", res.Header.Get("Location"))
		res, _ = c.postForm(t, "/login/2fa", url.Values{"code": {code}})
		return res
	}
	assert.Equal(t, http.StatusUnprocessableEntity, login(old[0]).StatusCode, "the old codes are void")
	assert.Equal(t, http.StatusSeeOther, login(fresh[0]).StatusCode)
}

// TestPrivilegedCannotTurnOffSecondFactor: everyone who sees other people's
// data keeps the second factor, even with a right code.
func TestPrivilegedCannotTurnOffSecondFactor(t *testing.T) {
	ts := newTestServer(t)
	for _, role := range []store.Role{store.RoleOperator, store.RoleMemberStaff} {
		c, u := ts.person(t, string(role)+"@example.org", role, member(t, ts, "SME Corporation Malaysia"))
		res, _ := c.postForm(t, "/profile/2fa", url.Values{"action": {"disable"}, "code": {c.code(t)}})
		assert.Equal(t, http.StatusForbidden, res.StatusCode, role)
		after, err := ts.store.User(t.Context(), u.ID)
		require.NoError(t, err)
		assert.True(t, after.TwoFactor, role)
	}
}

// TestTwoFactorSetupThrottled: wrong codes while setting up the second
// factor are counted; after five the form waits, even for the right code.
func TestTwoFactorSetupThrottled(t *testing.T) {
	ts := newTestServer(t)
	learner, u := ts.person(t, "learner@example.org", store.RoleLearner, "")
	res, _ := learner.get(t, "/profile/2fa")
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, body := learner.postForm(t, "/profile/2fa", url.Values{"action": {"enable"}, "code": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="error-code"]`).Text(), "6-digit code")
	for i := range 5 {
		res, _ = learner.postForm(t, "/profile/2fa", url.Values{"action": {"enable"}, "code": {"000000"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "attempt %d", i+1)
	}
	res, _ = learner.postForm(t, "/profile/2fa", url.Values{"action": {"enable"}, "code": {totpCode(t, ts, u.ID)}})
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	after, err := ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.False(t, after.TwoFactor)
}
